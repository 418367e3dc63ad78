"""The SQLite implementation of the `Store` seam.

Durability and isolation rules (RELIABILITY 13-17):
- WAL journal with `synchronous=FULL`: a commit that returned is on disk, also across a power
  loss (NORMAL may lose the last commits, which would break "every acknowledged version").
- One writer connection. Every write method runs in one explicit `BEGIN IMMEDIATE` transaction
  under an asyncio.Lock, so two tasks never interleave statements inside each other's
  transactions, and a failure rolls back exactly its own rows.
- The transaction runs in its own task behind `asyncio.shield`: cancelling the caller cannot
  cancel SQL already sent to the connection's thread, and must not leave a transaction open for
  the next caller to commit by accident. The shielded task always ends in COMMIT or ROLLBACK.
- Reads use a second connection: under WAL they see only committed data and never wait for
  the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import structlog

from crawler.models import Article, Content, Delivery, EventRecord, FeedState, Version
from crawler.store.base import ArticleExistsError
from crawler.store.migrations import apply_migrations
from crawler.store.sqlite_rows import (
    ARTICLE_COLUMNS,
    DELIVERY_COLUMNS,
    decode_time,
    encode_text,
    encode_time,
    encode_time_opt,
    row_to_article,
    row_to_delivery,
    row_to_feed_state,
    row_to_version,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")
Tx = Callable[[aiosqlite.Connection], Awaitable[T]]

_BUSY_TIMEOUT_MS = 10_000
# After a checkpoint SQLite truncates the WAL to this size, so a burst of writes does not leave
# a large file behind for ever.
_JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024
_FEED_STATUSES = ("ok", "not_modified", "error")
_OUTCOME_STATUS = {
    "delivered": "delivered",
    "retry": "pending",
    "failed": "failed",
    "disabled": "disabled",
}


class StoreClosedError(RuntimeError):
    """A method was called before open() or after close()."""


class SQLiteStore:
    """`Store` on one SQLite file. Construct, `await open()`, use, `await close()`."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._inflight: set[asyncio.Task[Any]] = set()

    @property
    def path(self) -> Path:
        return self._path

    # --- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        """Open both connections and migrate. Idempotent. Raises sqlite3.Error if the file
        cannot be opened, `SchemaTooNewError` for a database from a newer crawler."""
        if self._writer is not None:
            return
        writer = await self._connect()
        try:
            # WAL is a property of the file, set once outside any transaction.
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT:d}")
            await apply_migrations(writer)
            reader = await self._connect()
            await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            await writer.close()
            raise
        self._writer, self._reader = writer, reader
        log.debug("store_opened", path=str(self._path))

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level None: Python's sqlite3 never opens transactions behind our back; we
        # issue BEGIN IMMEDIATE / COMMIT ourselves.
        conn = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS:d}")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Let in-flight writes finish, checkpoint the WAL, close both connections (their
        threads would otherwise keep the process alive). Safe to call twice."""
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        if reader is not None:
            await reader.close()
        if writer is not None:
            try:
                async with self._lock:
                    await writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("store_checkpoint_failed", error=str(exc))
            finally:
                await writer.close()

    async def ping(self) -> bool:
        try:
            rows = await self._read("SELECT 1")
        except (sqlite3.Error, StoreClosedError, ValueError):
            return False
        return bool(rows) and rows[0][0] == 1

    async def checkpoint(self) -> tuple[int, int, int]:
        """`PRAGMA wal_checkpoint(TRUNCATE)`: copy the WAL into the database and truncate it,
        so the WAL stays bounded on a long run. Returns SQLite's (busy, wal_pages,
        checkpointed_pages); busy 1 means a reader kept it from finishing (try again later)."""
        writer = self._require(self._writer)
        async with self._lock:
            rows = list(await writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
        busy, wal_pages, done = (int(v) for v in rows[0])
        log.debug("store_checkpoint", busy=busy, wal_pages=wal_pages, checkpointed=done)
        return busy, wal_pages, done

    async def backup(self, dest: str | Path) -> None:
        """A consistent online copy of the database at `dest` (replaced atomically), while
        writes go on. Uses SQLite's backup API on a separate connection in one step, i.e. one
        read snapshot; the copy is written beside `dest` and renamed into place."""
        self._require(self._writer)
        await asyncio.to_thread(_backup_file, self._path, Path(dest))

    # --- plumbing ----------------------------------------------------------------------------
    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise StoreClosedError("the store is not open")
        return conn

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        reader = self._require(self._reader)
        return list(await reader.execute_fetchall(sql, tuple(params)))

    async def _write(self, tx: Tx[T]) -> T:
        """Run `tx` in one transaction. Shielded: see the module docstring."""
        writer = self._require(self._writer)
        task = asyncio.ensure_future(self._transaction(writer, tx))
        self._inflight.add(task)
        task.add_done_callback(self._write_done)
        return await asyncio.shield(task)

    def _write_done(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        # Mark the exception retrieved: when the caller was cancelled nobody else will, and
        # asyncio would log "exception was never retrieved". The caller, if still there, gets
        # it through the shield anyway.
        if not task.cancelled():
            task.exception()

    async def _transaction(self, writer: aiosqlite.Connection, tx: Tx[T]) -> T:
        async with self._lock:
            await writer.execute("BEGIN IMMEDIATE")
            try:
                result = await tx(writer)
                await writer.execute("COMMIT")
            except BaseException:
                # The connection thread runs statements in order, so this ROLLBACK comes after
                # whatever statement was in flight when the failure or cancellation happened.
                try:
                    await writer.execute("ROLLBACK")
                except sqlite3.Error as exc:
                    log.error("store_rollback_failed", error=str(exc))
                raise
            return result

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
    ) -> None:
        """See `Store.record_feed_poll`. Raises ValueError for an unknown status."""
        if status not in _FEED_STATUSES:
            raise ValueError(f"unknown feed poll status {status!r}")
        params = (
            feed_url, etag, last_modified, encode_time(polled_at), status, error,
            1 if status == "error" else 0, encode_time_opt(next_poll_at),
        )
        if status == "error":
            # An error keeps the validators of the last good answer, for the next conditional GET.
            sql = """
                INSERT INTO feeds (url, etag, last_modified, last_polled_at, last_status,
                                   last_error, consecutive_errors, next_poll_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
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
                                   last_error, consecutive_errors, next_poll_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (url) DO UPDATE SET
                    etag = excluded.etag,
                    last_modified = excluded.last_modified,
                    last_polled_at = excluded.last_polled_at,
                    last_status = excluded.last_status,
                    last_error = excluded.last_error,
                    consecutive_errors = 0,
                    next_poll_at = excluded.next_poll_at
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
        next_check_at: datetime,
    ) -> Article:
        seen = encode_time(seen_at)
        next_check = encode_time(next_check_at)

        async def tx(conn: aiosqlite.Connection) -> int:
            existing = list(await conn.execute_fetchall(
                "SELECT id FROM articles WHERE canonical_url = ?", (canonical_url,)
            ))
            if existing:
                raise ArticleExistsError(canonical_url)
            cursor = await conn.execute(
                """INSERT INTO articles (canonical_url, url, feed_url, first_seen_at,
                       last_checked_at, next_check_at, check_count, current_version,
                       current_hash, title, deleted)
                   VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?, ?, 0)""",
                (canonical_url, url, feed_url, seen, seen, next_check,
                 content.content_hash, content.title),
            )
            article_id = cursor.lastrowid
            assert article_id is not None
            await conn.executemany(
                "INSERT INTO article_urls (url, article_id) VALUES (?, ?)"
                " ON CONFLICT (url) DO NOTHING",
                [(canonical_url, article_id), (url, article_id)],
            )
            await _insert_version(conn, article_id, 1, content, seen)
            await _insert_event(conn, event, article_id, 1)
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
            next_check_at=_round_trip(next_check_at),
        )

    async def add_version(
        self,
        article_id: int,
        *,
        content: Content,
        event: EventRecord | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
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
            await _insert_version(conn, article_id, number, content, fetched)
            await conn.execute(
                """UPDATE articles SET current_version = ?, current_hash = ?, title = ?,
                       deleted = 0, deleted_at = NULL, last_checked_at = ?,
                       check_count = check_count + 1, next_check_at = ?
                   WHERE id = ?""",
                (number, content.content_hash, content.title, fetched, next_check, article_id),
            )
            if event is not None:
                await _insert_event(conn, event, article_id, number)
            return number

        return await self._write(tx)

    async def mark_checked(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None
    ) -> None:
        """See `Store.mark_checked`. Raises KeyError for an unknown article."""
        params = (encode_time(checked_at), encode_time_opt(next_check_at), article_id)

        async def tx(conn: aiosqlite.Connection) -> None:
            cursor = await conn.execute(
                """UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                       next_check_at = ? WHERE id = ?""",
                params,
            )
            if cursor.rowcount == 0:
                raise KeyError(article_id)

        await self._write(tx)

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
            await _insert_event(conn, event, article_id, int(rows[0][0]))

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

    # --- deliveries (the outbox) -------------------------------------------------------------
    async def due_deliveries(
        self, now: datetime, limit: int, *, endpoints: Collection[str] | None = None
    ) -> list[Delivery]:
        """See `Store.due_deliveries`. `endpoints`, when given, restricts the answer to those
        endpoint URLs, so deliveries to a disabled or removed endpoint cannot fill `limit` and
        starve the others."""
        sql = (
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"  # noqa: S608
            " WHERE d.status = 'pending' AND d.next_attempt_at <= ?"
        )
        params: list[Any] = [encode_time(now)]
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return []
            sql += f" AND d.endpoint_url IN ({', '.join('?' * len(wanted))})"
            params.extend(wanted)
        sql += " ORDER BY d.next_attempt_at, d.id LIMIT ?"
        params.append(limit)
        return [row_to_delivery(r) for r in await self._read(sql, params)]

    async def next_delivery_due(
        self, *, endpoints: Collection[str] | None = None
    ) -> datetime | None:
        """When the earliest pending delivery (to `endpoints`, if given) is due; None if none
        is pending. Lets the deliverer sleep exactly until there is work."""
        sql = "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
        params: list[Any] = []
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return None
            sql += f" AND endpoint_url IN ({', '.join('?' * len(wanted))})"
            params.extend(wanted)
        rows = await self._read(sql, params)
        value = rows[0][0]
        return None if value is None else decode_time(value)

    async def record_delivery_attempt(
        self,
        delivery_id: int,
        *,
        attempted_at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        outcome: str,
        next_attempt_at: datetime | None,
    ) -> None:
        """See `Store.record_delivery_attempt`. Raises ValueError for an unknown outcome or a
        "retry" without `next_attempt_at`, KeyError for an unknown delivery."""
        if outcome not in _OUTCOME_STATUS:
            raise ValueError(f"unknown delivery outcome {outcome!r}")
        if outcome == "retry" and next_attempt_at is None:
            raise ValueError("a retry needs next_attempt_at")
        attempted = encode_time(attempted_at)
        next_at = encode_time_opt(next_attempt_at) if outcome == "retry" else None
        delivered_at = attempted if outcome == "delivered" else None

        async def tx(conn: aiosqlite.Connection) -> None:
            cursor = await conn.execute(
                """UPDATE deliveries SET status = ?, attempts = attempts + 1,
                       next_attempt_at = ?, last_status = ?, last_error = ?,
                       delivered_at = coalesce(?, delivered_at)
                   WHERE id = ?""",
                (_OUTCOME_STATUS[outcome], next_at, status_code, error, delivered_at,
                 delivery_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(delivery_id)
            await conn.execute(
                """INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error,
                       duration_ms, outcome) VALUES (?, ?, ?, ?, ?, ?)""",
                (delivery_id, attempted, status_code, error, duration_ms, outcome),
            )

        await self._write(tx)

    async def list_deliveries(self, statuses: tuple[str, ...]) -> list[Delivery]:
        if not statuses:
            return []
        rows = await self._read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"  # noqa: S608
            f" WHERE d.status IN ({', '.join('?' * len(statuses))}) ORDER BY d.id",
            statuses,
        )
        return [row_to_delivery(r) for r in rows]

    async def requeue_deliveries(
        self, *, event_id: str | None, failed: bool, endpoint_url: str | None, now: datetime
    ) -> int:
        """See `Store.requeue_deliveries`. The filters combine (AND): `event_id` -> that
        event's deliveries (any status, so a delivered event can be replayed); `endpoint_url`
        -> that endpoint's; `failed` -> only those "failed" or "disabled". Raises ValueError
        when no filter is given, rather than replaying every event ever sent."""
        if event_id is None and endpoint_url is None and not failed:
            raise ValueError("requeue needs an event id, an endpoint or failed=True")
        where = ["1 = 1"]
        params: list[Any] = [encode_time(now)]
        if event_id is not None:
            where.append("event_id = ?")
            params.append(event_id)
        if endpoint_url is not None:
            where.append("endpoint_url = ?")
            params.append(endpoint_url)
        if failed:
            where.append("status IN ('failed', 'disabled')")
        sql = (
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"  # noqa: S608
            " last_status = NULL, last_error = NULL, delivered_at = NULL"
            f" WHERE {' AND '.join(where)}"
        )

        async def tx(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute(sql, params)
            return int(cursor.rowcount)

        return await self._write(tx)

    async def count_pending_deliveries(self) -> int:
        rows = await self._read("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        return int(rows[0][0])


async def _insert_version(
    conn: aiosqlite.Connection, article_id: int, number: int, content: Content, fetched: str
) -> None:
    await conn.execute(
        """INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (article_id, number, content.content_hash, content.title, encode_text(content.text),
         fetched),
    )


async def _insert_event(
    conn: aiosqlite.Connection, event: EventRecord, article_id: int, version: int
) -> None:
    """The event and one pending delivery per endpoint, due at once (the outbox)."""
    created = encode_time(event.created_at)
    await conn.execute(
        """INSERT INTO events (id, type, article_id, version, created_at, payload)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (event.event_id, event.event_type, article_id, version, created, event.payload),
    )
    endpoints = list(dict.fromkeys(event.endpoints))  # de-duplicated, order kept
    await conn.executemany(
        """INSERT INTO deliveries (event_id, endpoint_url, status, attempts, next_attempt_at,
               created_at) VALUES (?, ?, 'pending', 0, ?, ?)""",
        [(event.event_id, endpoint, created, created) for endpoint in endpoints],
    )


def _round_trip(value: datetime) -> datetime:
    """What reading the value back would give (UTC, microseconds), so that a returned Article
    equals the one a later read returns."""
    return decode_time(encode_time(value))


def _backup_file(source: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    try:
        src.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS:d}")
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # pages=-1: everything in one step, one consistent snapshot
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    tmp.replace(dest)
