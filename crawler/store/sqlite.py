"""The SQLite implementation of the `Store` seam: how due feeds and articles are claimed
here (chosen, then taken, by the one writer: `sqlite_leases`); lookups by URL and new
articles in `sqlite_entries`, deliveries in `sqlite_outbox`, connections and transactions in
`sqlite_db` (its docstring has the durability rules); what both stores share in the
`shared_*` modules, over `sqlite_tx`."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from crawler.models import Article, FeedState
from crawler.store.base import StoreClosedError
from crawler.store.records import ARTICLE_COLUMNS, PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN
from crawler.store.shared_articles import SharedArticles
from crawler.store.shared_checks import SharedChecks
from crawler.store.shared_feeds import SharedFeeds
from crawler.store.sqlite_due import DueStore
from crawler.store.sqlite_entries import SQLiteEntries
from crawler.store.sqlite_leases import FREE, lease_until, placeholders, take
from crawler.store.sqlite_page_cache import SQLitePageCache
from crawler.store.sqlite_queries import SQLiteReads
from crawler.store.sqlite_retarget import RetargetStore
from crawler.store.sqlite_rows import ROWS, encode_time

__all__ = ["SQLiteStore", "StoreClosedError"]


class SQLiteStore(DueStore, RetargetStore, SQLitePageCache, SQLiteEntries, SQLiteReads,
                  SharedFeeds, SharedArticles, SharedChecks):
    """`Store` and `Maintenance` on one SQLite file. Construct, (`await migrate()`,)
    `await open()`, use, `await close()`; `sqlite_db` says what `readonly` and `exclusive`
    mean."""

    # --- feeds (the rest: `shared_feeds`) ----------------------------------------------------
    async def claim_due_feeds(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float
    ) -> list[FeedState]:
        """See `Store.claim_due_feeds`."""
        at, until = encode_time(now), lease_until(now, lease_seconds)
        if not await self._read(
                f"SELECT 1 FROM feeds WHERE configured = 1 AND next_poll_at <= ? AND {FREE}"  # noqa: S608
                " LIMIT 1", (at, at)):
            return []  # nothing due: no write transaction (claims come every second)

        async def tx(conn: aiosqlite.Connection) -> list[FeedState]:
            urls = [r[0] for r in await conn.execute_fetchall(
                "SELECT url FROM feeds WHERE configured = 1 AND next_poll_at <= ?"  # noqa: S608
                f" AND {FREE} ORDER BY next_poll_at, url LIMIT ?",
                (at, at, limit),
            )]
            if not urls:
                return []
            await take(conn, "feed", urls, owner, until)
            rows = await conn.execute_fetchall(
                f"SELECT * FROM feeds WHERE url IN ({placeholders(len(urls))})"  # noqa: S608
                " ORDER BY next_poll_at, url",
                urls,
            )
            return [ROWS.feed_state(r) for r in rows]

        return await self._write(tx)

    # --- articles (lookups by URL and creation: `sqlite_entries`; writes: `shared_articles`) -
    async def claim_due_articles(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[Article]:
        """See `Store.claim_due_articles`. The per-host cap ranks the due rows of each host
        (a window over the due range of `articles_due`) and subtracts the leases its host
        already has (`articles_leased`); without a cap it is a plain range scan."""
        at, until = encode_time(now), lease_until(now, lease_seconds)
        due = f"next_check_at IS NOT NULL AND next_check_at <= ? AND {FREE}"
        if per_host is None:
            choose = (f"SELECT id FROM articles WHERE {due}"  # noqa: S608
                      " ORDER BY next_check_at, id LIMIT ?")
            params: tuple[object, ...] = (at, at, limit)
        else:
            choose = f"""
                WITH due AS (
                    SELECT id, host, next_check_at, row_number() OVER (
                        PARTITION BY host ORDER BY next_check_at, id) AS rank
                    FROM articles WHERE {due}
                ), held AS (
                    SELECT host, count(*) AS n FROM articles
                    WHERE lease_owner IS NOT NULL AND lease_expires_at > ? GROUP BY host
                )
                SELECT due.id FROM due LEFT JOIN held ON held.host = due.host
                WHERE due.rank + coalesce(held.n, 0) <= ?
                ORDER BY due.next_check_at, due.id LIMIT ?"""  # noqa: S608
            params = (at, at, at, per_host, limit)
        if not await self._read(f"SELECT 1 FROM articles WHERE {due} LIMIT 1", (at, at)):  # noqa: S608
            return []  # nothing due: no write transaction (claims come every second)

        async def tx(conn: aiosqlite.Connection) -> list[Article]:
            ids = [int(r[0]) for r in await conn.execute_fetchall(choose, params)]
            if not ids:
                return []
            await take(conn, "article", ids, owner, until)
            # With each article's page cache entry: the re-check needs no read of its own.
            rows = await conn.execute_fetchall(
                f"SELECT {ARTICLE_COLUMNS}, {PAGE_CACHE_COLUMNS} FROM articles a"  # noqa: S608
                f" LEFT JOIN {PAGE_CACHE_JOIN}"
                f" WHERE a.id IN ({placeholders(len(ids))}) ORDER BY a.next_check_at, a.id",
                ids,
            )
            return [ROWS.claimed_article(r, owner) for r in rows]

        return await self._write(tx)
