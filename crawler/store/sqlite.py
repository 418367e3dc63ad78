"""The SQLite implementation of the `Store` seam: feeds and article checks here, lookups by
URL and new articles in `sqlite_entries`, deliveries in `sqlite_outbox`, connections and
transactions in `sqlite_db` (its docstring has the durability rules)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import aiosqlite

from crawler.models import Article, Content, EventRecord, FeedState, Version
from crawler.store.base import EventBuilder, LeaseLostError, StoreClosedError
from crawler.store.records import PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN
from crawler.store.sqlite_checks import CheckStore
from crawler.store.sqlite_due import DueStore
from crawler.store.sqlite_entries import SQLiteEntries, insert_version
from crawler.store.sqlite_leases import (
    CLEAR_LEASE,
    FREE,
    lease_params,
    lease_until,
    placeholders,
    require_lease,
    take,
)
from crawler.store.sqlite_outbox import insert_event
from crawler.store.sqlite_page_cache import SQLitePageCache
from crawler.store.sqlite_queries import SQLiteReads
from crawler.store.sqlite_retarget import RetargetStore
from crawler.store.sqlite_rows import (
    ARTICLE_COLUMNS,
    ROWS,
    encode_time,
    encode_time_opt,
    row_to_article,
    row_to_feed_state,
    row_to_version,
)

__all__ = ["SQLiteStore", "StoreClosedError"]

_FEED_STATUSES = ("ok", "not_modified", "error")


class SQLiteStore(CheckStore, DueStore, RetargetStore, SQLitePageCache, SQLiteEntries,
                  SQLiteReads):
    """`Store` and `Maintenance` on one SQLite file. Construct, (`await migrate()`,)
    `await open()`, use, `await close()`; `sqlite_db` says what `readonly` and `exclusive`
    mean."""

    # --- feeds -------------------------------------------------------------------------------
    async def get_feed_state(self, feed_url: str) -> FeedState | None:
        rows = await self._read("SELECT * FROM feeds WHERE url = ?", (feed_url,))
        return row_to_feed_state(rows[0]) if rows else None

    async def record_feed_poll(
        self,
        feed_url: str,
        *,
        polled_at: datetime,
        status: str,
        error: str | None,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: datetime | None,
        entries: int | None = None,
        lease_owner: str | None = None,
    ) -> None:
        """See `Store.record_feed_poll`. Raises ValueError for an unknown status,
        `LeaseLostError`."""
        if status not in _FEED_STATUSES:
            raise ValueError(f"unknown feed poll status {status!r}")
        if lease_owner is not None:
            await self._complete_feed_poll(
                feed_url, lease_owner, polled_at=polled_at, status=status, error=error,
                etag=etag, last_modified=last_modified, next_poll_at=next_poll_at,
                entries=entries)
            return
        params = (
            feed_url, etag, last_modified, encode_time(polled_at), status, error,
            1 if status == "error" else 0, encode_time_opt(next_poll_at), entries,
        )
        if status == "error":
            # An error keeps the validators of the last good answer, for the next conditional GET.
            sql = """
                INSERT INTO feeds (url, etag, last_modified, last_polled_at, last_status,
                                   last_error, consecutive_errors, next_poll_at, last_entries)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (url) DO UPDATE SET
                    last_polled_at = excluded.last_polled_at,
                    last_status = excluded.last_status,
                    last_error = excluded.last_error,
                    consecutive_errors = feeds.consecutive_errors + 1,
                    next_poll_at = excluded.next_poll_at
            """
            params = (feed_url, None, None, *params[3:])
        else:
            sql = """
                INSERT INTO feeds (url, etag, last_modified, last_polled_at, last_status,
                                   last_error, consecutive_errors, next_poll_at, last_entries)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (url) DO UPDATE SET
                    etag = excluded.etag,
                    last_modified = excluded.last_modified,
                    last_polled_at = excluded.last_polled_at,
                    last_status = excluded.last_status,
                    last_error = excluded.last_error,
                    consecutive_errors = 0,
                    next_poll_at = excluded.next_poll_at,
                    last_entries = COALESCE(excluded.last_entries, feeds.last_entries)
            """

        async def tx(conn: aiosqlite.Connection) -> None:
            await conn.execute(sql, params)

        await self._write(tx)

    async def _complete_feed_poll(
        self, feed_url: str, owner: str, *, polled_at: datetime, status: str,
        error: str | None, etag: str | None, last_modified: str | None,
        next_poll_at: datetime | None, entries: int | None,
    ) -> None:
        """`record_feed_poll` of a claimed poll: one UPDATE, only while `owner` holds it."""
        changes: tuple[str, tuple[object, ...]]
        if status == "error":
            changes = ("consecutive_errors = consecutive_errors + 1", ())
        else:
            changes = ("etag = ?, last_modified = ?, consecutive_errors = 0,"
                       " last_entries = COALESCE(?, last_entries)",
                       (etag, last_modified, entries))
        sql = (f"UPDATE feeds SET last_polled_at = ?, last_status = ?, last_error = ?,"  # noqa: S608
               f" next_poll_at = ?, {changes[0]}, lease_owner = NULL, lease_expires_at = NULL"
               " WHERE url = ? AND lease_owner = ?")
        params = (encode_time(polled_at), status, error, encode_time_opt(next_poll_at),
                  *changes[1], feed_url, owner)

        async def tx(conn: aiosqlite.Connection) -> None:
            cursor = await conn.execute(sql, params)
            if cursor.rowcount == 0:
                raise LeaseLostError("feed", feed_url, owner)

        await self._write(tx)

    async def list_feed_states(self) -> list[FeedState]:
        return [row_to_feed_state(r) for r in await self._read("SELECT * FROM feeds ORDER BY url")]

    async def sync_feeds(self, first_polls: Mapping[str, datetime]) -> None:
        """See `Store.sync_feeds`."""
        urls = list(first_polls)

        async def tx(conn: aiosqlite.Connection) -> None:
            await conn.execute("UPDATE feeds SET configured = 0 WHERE configured = 1")
            await conn.executemany(
                """INSERT INTO feeds (url, configured, next_poll_at) VALUES (?, 1, ?)
                   ON CONFLICT (url) DO UPDATE SET configured = 1,
                       next_poll_at = COALESCE(feeds.next_poll_at, excluded.next_poll_at)""",
                [(url, encode_time(first_polls[url])) for url in urls],
            )

        await self._write(tx)

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
            return [row_to_feed_state(r) for r in rows]

        return await self._write(tx)

    # --- articles (lookups by URL and creation: `sqlite_entries`) -------------------------
    async def add_version(
        self,
        article_id: int,
        *,
        content: Content,
        event: EventBuilder | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
        lease_owner: str | None = None,
        announces: bool | None = None,
    ) -> int:
        """See `Store.add_version`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        fetched = encode_time(fetched_at)
        next_check = encode_time_opt(next_check_at)
        announced = event is not None if announces is None else announces

        async def tx(conn: aiosqlite.Connection) -> int:
            await require_lease(conn, "article", article_id, lease_owner)
            rows = list(await conn.execute_fetchall(
                "SELECT current_version FROM articles WHERE id = ?", (article_id,)
            ))
            if not rows:
                raise KeyError(article_id)
            number = int(rows[0][0]) + 1
            await insert_version(conn, article_id, number, content, fetched, extractor_version)
            await conn.execute(
                f"""UPDATE articles SET current_version = ?, current_hash = ?, title = ?,
                       deleted = 0, deleted_at = NULL, last_checked_at = ?,
                       check_count = check_count + 1, next_check_at = ?, collapse_count = 0,
                       gone_count = 0, extractor_version = ?,
                       announced_version = CASE WHEN ? THEN ? ELSE announced_version END,
                       {CLEAR_LEASE}
                   WHERE id = ?""",  # noqa: S608
                (number, content.content_hash, content.title, fetched, next_check,
                 extractor_version, int(announced), number, *lease_params(lease_owner),
                 article_id),
            )
            if event is not None:
                await insert_event(conn, event(number), article_id, number)
            return number

        return await self._write(tx)

    async def mark_collapsed(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        lease_owner: str | None = None,
    ) -> int:
        """See `Store.mark_collapsed`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        return await self._grow_streak(article_id, "collapse_count", also="gone_count = 0,",
                                       checked_at=checked_at, next_check_at=next_check_at,
                                       lease_owner=lease_owner)

    async def mark_deleted(
        self,
        article_id: int,
        *,
        event: EventRecord,
        checked_at: datetime,
        next_check_at: datetime | None,
        lease_owner: str | None = None,
    ) -> None:
        """See `Store.mark_deleted`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        checked = encode_time(checked_at)
        next_check = encode_time_opt(next_check_at)

        async def tx(conn: aiosqlite.Connection) -> None:
            await require_lease(conn, "article", article_id, lease_owner)
            rows = list(await conn.execute_fetchall(
                "SELECT current_version FROM articles WHERE id = ?", (article_id,)
            ))
            if not rows:
                raise KeyError(article_id)
            await conn.execute(
                f"""UPDATE articles SET deleted = 1, deleted_at = ?, last_checked_at = ?,
                       check_count = check_count + 1, next_check_at = ?, gone_count = 0,
                       {CLEAR_LEASE}
                   WHERE id = ?""",  # noqa: S608
                (checked, checked, next_check, *lease_params(lease_owner), article_id),
            )
            await insert_event(conn, event, article_id, int(rows[0][0]))

        await self._write(tx)

    async def due_articles(self, now: datetime, limit: int) -> list[Article]:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.next_check_at IS NOT NULL AND a.next_check_at <= ?"
            " ORDER BY a.next_check_at, a.id LIMIT ?",
            (encode_time(now), limit),
        )
        return [row_to_article(r) for r in rows]

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

    async def get_versions(self, article_id: int) -> list[Version]:
        rows = await self._read(
            "SELECT * FROM versions WHERE article_id = ? ORDER BY number", (article_id,)
        )
        return [row_to_version(r) for r in rows]

    async def count_articles(self) -> int:
        rows = await self._read("SELECT count(*) FROM articles")
        return int(rows[0][0])

    async def count_due_articles(self, now: datetime) -> int:
        rows = await self._read(
            "SELECT count(*) FROM articles"
            " WHERE next_check_at IS NOT NULL AND next_check_at <= ?",
            (encode_time(now),),
        )
        return int(rows[0][0])

    async def count_versions(self) -> int:
        rows = await self._read("SELECT count(*) FROM versions")
        return int(rows[0][0])

