"""The SQLite database under the store: connections, transactions, checkpoint, backup.

Durability and isolation rules (RELIABILITY 13-17):
- WAL journal with `synchronous=FULL`: a commit that returned is on disk, also across a power
  loss (NORMAL may lose the last commits, which would break "every acknowledged version").
- One writer connection. Every write runs in one explicit `BEGIN IMMEDIATE` transaction under
  an asyncio.Lock, so two tasks never interleave statements inside each other's transactions,
  and a failure rolls back exactly its own rows.
- The transaction runs in its own task behind `asyncio.shield`: cancelling the caller cannot
  cancel SQL already sent to the connection's thread, and must not leave a transaction open for
  the next caller to commit by accident. The shielded task always ends in COMMIT or ROLLBACK.
- Reads use a second connection: under WAL they see only committed data and never wait for
  the writer.

SQL text is sometimes assembled with f-strings (hence the `noqa: S608` markers in the store
modules): only constant column lists and `?` placeholders are ever interpolated, values always
go through parameters.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import structlog

from crawler.store.migrations import apply_migrations

log = structlog.get_logger(__name__)

T = TypeVar("T")
Tx = Callable[[aiosqlite.Connection], Awaitable[T]]

_BUSY_TIMEOUT_MS = 10_000
_PAGE_SIZE = 16384
_AUTOCHECKPOINT_BYTES = 4 * 1024 * 1024
# After a checkpoint SQLite truncates the WAL to this size, so a burst of writes does not leave
# a large file behind for ever.
_JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024


class StoreClosedError(RuntimeError):
    """A method was called before open() or after close()."""


class SQLiteDatabase:
    """One SQLite file: a writer and a reader connection. Construct, `await open()`, use,
    `await close()`. The store methods live in subclasses."""

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
            # Only a new, empty file takes a page size (it must precede WAL and the first
            # table). Compressed version texts of a few KB waste much of a 4 KB page each;
            # 16 KB pages pack them (measured: a database a fifth smaller).
            await writer.execute(f"PRAGMA page_size = {_PAGE_SIZE:d}")
            # WAL is a property of the file, set once outside any transaction.
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT:d}")
            # SQLite checkpoints by itself every N pages written; N is in pages, so with large
            # pages the default (1000) would let the WAL reach 16 MB first.
            pages = _AUTOCHECKPOINT_BYTES // _PAGE_SIZE
            await writer.execute(f"PRAGMA wal_autocheckpoint = {pages:d}")
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
