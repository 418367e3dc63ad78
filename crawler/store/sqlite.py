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
from crawler.store.sqlite_leases import (
    FREE,
    claim_chosen,
    due_choice,
    lease_until,
    placeholders,
    take,
)
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
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[FeedState]:
        """See `Store.claim_due_feeds`; the per-host cap as for articles (`capped_choice`,
        over `feeds_leased`). The feeds are chosen on the reader first, so that while none
        can be claimed (nothing due, or every due feed's host at its cap) no write
        transaction is taken: claims come every second."""
        at, until = encode_time(now), lease_until(now, lease_seconds)
        choose, params = due_choice("feeds", "url", "next_poll_at",
                                    f"configured = 1 AND next_poll_at <= ? AND {FREE}",
                                    at=at, limit=limit, per_host=per_host)
        if not await self._read(choose, params):
            return []

        async def tx(conn: aiosqlite.Connection) -> list[FeedState]:
            rows = await claim_chosen(
                conn, "feed", choose, params, owner, until,
                "SELECT * FROM feeds WHERE url IN ({keys}) ORDER BY next_poll_at, url")
            return [ROWS.feed_state(r) for r in rows]

        return await self._write(tx)

    # --- articles (lookups by URL and creation: `sqlite_entries`; writes: `shared_articles`) -
    async def claim_due_articles(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[Article]:
        """See `Store.claim_due_articles`. The per-host cap ranks the due rows of each host
        (`capped_choice`: a window over the due range of `articles_due`) and adds the leases
        its host already has (`articles_leased`); without a cap it is a plain range scan."""
        at, until = encode_time(now), lease_until(now, lease_seconds)
        due = f"next_check_at IS NOT NULL AND next_check_at <= ? AND {FREE}"
        choose, params = due_choice("articles", "id", "next_check_at", due, at=at, limit=limit,
                                    per_host=per_host)
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
