"""The SQLite implementation of the `Store` seam: feeds and articles here, deliveries in
`sqlite_outbox`, connections and transactions in `sqlite_db` (its docstring has the durability
rules)."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from crawler.models import Article, Content, EventRecord, FeedState, Version
from crawler.store.base import ArticleExistsError, EventBuilder, StoreClosedError
from crawler.store.sqlite_outbox import OutboxStore, insert_event
from crawler.store.sqlite_rows import (
    ARTICLE_COLUMNS,
    decode_time,
    encode_text,
    encode_time,
    encode_time_opt,
    row_to_article,
    row_to_feed_state,
    row_to_version,
)

__all__ = ["SQLiteStore", "StoreClosedError"]

_FEED_STATUSES = ("ok", "not_modified", "error")


class SQLiteStore(OutboxStore):
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
    ) -> None:
        """See `Store.record_feed_poll`. Raises ValueError for an unknown status."""
        if status not in _FEED_STATUSES:
            raise ValueError(f"unknown feed poll status {status!r}")
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

    async def list_feed_states(self) -> list[FeedState]:
        return [row_to_feed_state(r) for r in await self._read("SELECT * FROM feeds ORDER BY url")]

    # --- articles ----------------------------------------------------------------------------
    async def find_article_by_url(self, url: str) -> Article | None:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM article_urls u JOIN articles a ON a.id = u.article_id"  # noqa: S608
            " WHERE u.url = ?",
            (url,),
        )
        return row_to_article(rows[0]) if rows else None

    async def add_url_alias(self, article_id: int, url: str) -> None:
        """See `Store.add_url_alias`. A URL already leading to another article keeps leading
        there. Raises sqlite3.IntegrityError if the article does not exist."""

        async def tx(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT INTO article_urls (url, article_id) VALUES (?, ?)"
                " ON CONFLICT (url) DO NOTHING",
                (url, article_id),
            )

        await self._write(tx)

    async def create_article(
        self,
        *,
        canonical_url: str,
        url: str,
        feed_url: str,
        content: Content,
        event: EventRecord,
        seen_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
        source: str = "page",
    ) -> Article:
        seen = encode_time(seen_at)
        next_check = encode_time_opt(next_check_at)

        async def tx(conn: aiosqlite.Connection) -> int:
            existing = list(await conn.execute_fetchall(
                "SELECT id FROM articles WHERE canonical_url = ?", (canonical_url,)
            ))
            if existing:
                raise ArticleExistsError(canonical_url)
            cursor = await conn.execute(
                """INSERT INTO articles (canonical_url, url, feed_url, first_seen_at,
                       last_checked_at, next_check_at, check_count, current_version,
                       current_hash, title, deleted, source, extractor_version)
                   VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?, ?, 0, ?, ?)""",
                (canonical_url, url, feed_url, seen, seen, next_check,
                 content.content_hash, content.title, source, extractor_version),
            )
            article_id = cursor.lastrowid
            assert article_id is not None
            await conn.executemany(
                "INSERT INTO article_urls (url, article_id) VALUES (?, ?)"
                " ON CONFLICT (url) DO NOTHING",
                [(canonical_url, article_id), (url, article_id)],
            )
            await _insert_version(conn, article_id, 1, content, seen, extractor_version)
            await insert_event(conn, event, article_id, 1)
            return article_id

        article_id = await self._write(tx)
        return Article(
            article_id=article_id,
            canonical_url=canonical_url,
            url=url,
            feed_url=feed_url,
            first_seen_at=_round_trip(seen_at),
            current_version=1,
            current_hash=content.content_hash,
            title=content.title,
            deleted=False,
            check_count=0,
            next_check_at=_round_trip(next_check_at) if next_check_at else None,
            source=source,
            extractor_version=extractor_version,
        )

    async def add_version(
        self,
        article_id: int,
        *,
        content: Content,
        event: EventBuilder | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
    ) -> int:
        """See `Store.add_version`. Raises KeyError for an unknown article."""
        fetched = encode_time(fetched_at)
        next_check = encode_time_opt(next_check_at)

        async def tx(conn: aiosqlite.Connection) -> int:
            rows = list(await conn.execute_fetchall(
                "SELECT current_version FROM articles WHERE id = ?", (article_id,)
            ))
            if not rows:
                raise KeyError(article_id)
            number = int(rows[0][0]) + 1
            await _insert_version(conn, article_id, number, content, fetched, extractor_version)
            await conn.execute(
                """UPDATE articles SET current_version = ?, current_hash = ?, title = ?,
                       deleted = 0, deleted_at = NULL, last_checked_at = ?,
                       check_count = check_count + 1, next_check_at = ?, collapse_count = 0,
                       extractor_version = ?
                   WHERE id = ?""",
                (number, content.content_hash, content.title, fetched, next_check,
                 extractor_version, article_id),
            )
            if event is not None:
                await insert_event(conn, event(number), article_id, number)
            return number

        return await self._write(tx)

    async def mark_checked(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        present: bool = False, extractor_version: int | None = None,
    ) -> None:
        """See `Store.mark_checked`. Raises KeyError for an unknown article."""
        params = (encode_time(checked_at), encode_time_opt(next_check_at), int(present),
                  int(present), extractor_version, article_id)

        async def tx(conn: aiosqlite.Connection) -> None:
            cursor = await conn.execute(
                """UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                       next_check_at = ?, collapse_count = 0,
                       deleted = CASE WHEN ? THEN 0 ELSE deleted END,
                       deleted_at = CASE WHEN ? THEN NULL ELSE deleted_at END,
                       extractor_version = COALESCE(?, extractor_version)
                   WHERE id = ?""",
                params,
            )
            if cursor.rowcount == 0:
                raise KeyError(article_id)

        await self._write(tx)

    async def mark_collapsed(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None
    ) -> int:
        """See `Store.mark_collapsed`. Raises KeyError for an unknown article."""
        params = (encode_time(checked_at), encode_time_opt(next_check_at), article_id)

        async def tx(conn: aiosqlite.Connection) -> int:
            rows = list(await conn.execute_fetchall(
                """UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                       next_check_at = ?, collapse_count = collapse_count + 1
                   WHERE id = ? RETURNING collapse_count""",
                params,
            ))
            if not rows:
                raise KeyError(article_id)
            return int(rows[0][0])

        return await self._write(tx)

    async def mark_deleted(
        self,
        article_id: int,
        *,
        event: EventRecord,
        checked_at: datetime,
        next_check_at: datetime | None,
    ) -> None:
        """See `Store.mark_deleted`. Raises KeyError for an unknown article."""
        checked = encode_time(checked_at)
        next_check = encode_time_opt(next_check_at)

        async def tx(conn: aiosqlite.Connection) -> None:
            rows = list(await conn.execute_fetchall(
                "SELECT current_version FROM articles WHERE id = ?", (article_id,)
            ))
            if not rows:
                raise KeyError(article_id)
            await conn.execute(
                """UPDATE articles SET deleted = 1, deleted_at = ?, last_checked_at = ?,
                       check_count = check_count + 1, next_check_at = ?
                   WHERE id = ?""",
                (checked, checked, next_check, article_id),
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


async def _insert_version(
    conn: aiosqlite.Connection, article_id: int, number: int, content: Content, fetched: str,
    extractor_version: int,
) -> None:
    await conn.execute(
        """INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at,
                                 extractor_version)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (article_id, number, content.content_hash, content.title, encode_text(content.text),
         fetched, extractor_version),
    )


def _round_trip(value: datetime) -> datetime:
    """What reading the value back would give (UTC, microseconds), so that a returned Article
    equals the one a later read returns."""
    return decode_time(encode_time(value))
