"""The SQLite database under the store: connections, transactions, migrations, checkpoint,
backup, and the one-daemon-per-file lock.

Three ways to open a file (`crawler.store.open_store` picks one):
- read-only (reading commands): `mode=ro` connections; never creates, migrates or writes;
  the schema must be exactly this program's.
- writable (operator commands that write, e.g. `crawler deliveries replay`): the same checks,
  never migrates, never creates the file; may run beside the daemon.
- exclusive (the daemon, `crawler once`, `crawler migrate`): takes the `sqlite_lock` lock
  first, so one such process per file; `migrate()` before `open()`.

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
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import structlog

from crawler.store.base import (
    DatabaseMissingError,
    SchemaOutdatedError,
    SchemaTooNewError,
    StoreClosedError,
    StoreError,
)
from crawler.store.migrations import MIGRATIONS, apply_migrations
from crawler.store.sqlite_backup import backup_sqlite
from crawler.store.sqlite_commit import GroupCommit, Tx
from crawler.store.sqlite_lock import DaemonLock, lock_holder
from crawler.store.write_health import WriteHealth

log = structlog.get_logger(__name__)

# The tables whose rows are claimed under a lease (migration 7).
_LEASED_TABLES = ("feeds", "articles", "deliveries")

T = TypeVar("T")

_BUSY_TIMEOUT_MS = 10_000
_PAGE_SIZE = 16384
_AUTOCHECKPOINT_BYTES = 4 * 1024 * 1024
# After a checkpoint SQLite truncates the WAL to this size, so a burst of writes does not leave
# a large file behind for ever.
_JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024


class SQLiteDatabase:
    """One SQLite file: a writer and a reader connection (only a reader when read-only).
    Construct, (`await migrate()`,) `await open()`, use, `await close()`. The store methods
    live in subclasses. See the module docstring for `readonly` and `exclusive`."""

    def __init__(self, path: str | Path, *, readonly: bool = False,
                 exclusive: bool = False) -> None:
        if readonly and exclusive:
            raise ValueError("a read-only store takes no lock")
        self._path = Path(path)
        self._readonly = readonly
        self._lock_file = DaemonLock(self._path) if exclusive else None
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._write_health = WriteHealth()
        self._commits = GroupCommit(self._lock, self._inflight, self._write_health)
        # (device, inode) of the -wal file when the daemon's store opened it.
        self._wal_identity: tuple[int, int] | None = None

    @property
    def path(self) -> Path:
        return self._path

    def describe(self) -> str:
        return f"SQLite database {self._path}"

    # --- lifecycle ---------------------------------------------------------------------------
    def _take_lock(self) -> None:
        if self._lock_file is None:
            return
        try:
            self._lock_file.acquire()
        except OSError as exc:
            raise StoreError(f"cannot lock {self.describe()}: {exc}") from exc

    async def migrate(self) -> tuple[int, int]:
        """See `Store.migrate`. On an exclusive store the lock is taken first (and kept until
        `close()`). Raises `StoreError` on a read-only store or when the file cannot be
        opened, `StoreLockedError`, `SchemaTooNewError`."""
        if self._readonly:
            raise StoreError("a read-only store cannot migrate the database")
        self._take_lock()
        if (self._lock_file is not None and self._path.is_file()
                and self._path.stat().st_size == 0):
            # A truncated file would otherwise become a new, empty database, and every
            # article be announced again as new. (Only a lock holder creates the file, and it
            # writes the header at once: an empty file is no half-made database of a
            # process still at work.)
            raise StoreError(
                f"{self.describe()} is an empty file, not a crawler database: restore it "
                "from a backup, or remove it to start a new database")
        try:
            conn = await self._connect("rwc")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.describe()}: {exc}") from exc
        try:
            await _refuse_foreign(conn, self.describe())
            # Only a new, empty file takes a page size (it must precede WAL and the first
            # table). Compressed version texts of a few KB waste much of a 4 KB page each;
            # 16 KB pages pack them (measured: a database a fifth smaller).
            await conn.execute(f"PRAGMA page_size = {_PAGE_SIZE:d}")
            # WAL is a property of the file, set once outside any transaction.
            await _use_wal(conn)
            before = await _user_version(conn)
            after = await apply_migrations(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot migrate {self.describe()}: {exc}") from exc
        finally:
            await conn.close()
        if after != before:
            log.info("store_migrated", path=str(self._path), schema_from=before, schema_to=after)
        return before, after

    async def open(self) -> None:
        """See `Store.open`. Idempotent. Raises `DatabaseMissingError`, `SchemaOutdatedError`,
        `SchemaTooNewError`, `StoreLockedError`, or `StoreError` when the file cannot be
        opened or is not a database."""
        if self._reader is not None:
            return
        if not self._path.is_file():
            raise DatabaseMissingError(
                f"no database at {self._path} yet: the daemon has not run (`crawler migrate`"
                " creates it)")
        self._take_lock()
        try:
            await self._open_connections()
            if self._lock_file is not None:
                await self._check_pages()
                await self._drop_stale_leases()
                self._wal_identity = _identity(self._wal_path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.describe()}: {exc}") from exc
        log.debug("store_opened", path=str(self._path), readonly=self._readonly)

    async def _check_pages(self) -> None:
        """The daemon starts only on a sound file: `quick_check` reads every page once (a
        second or two for a few hundred MB), so damage is found at start, not as failed
        writes and lost deliveries later."""
        writer = self._writer
        assert writer is not None
        async with writer.execute("PRAGMA quick_check(10)") as cur:
            problems = [str(row[0]) for row in await cur.fetchall()]
        if problems != ["ok"]:
            raise StoreError(
                f"{self.describe()} is damaged (quick_check: {'; '.join(problems)}): stop "
                "here and restore it from a backup (`crawler backup` copies are checked)")

    async def _drop_stale_leases(self) -> None:
        """Holding the daemon lock, this process is the file's only daemon: every lease in it
        was left by an earlier process that died holding it. Freed now, a daemon restarted
        after a crash polls and re-checks at once instead of waiting for the leases to
        expire (a fleet on PostgreSQL must wait: another member may be alive)."""
        writer = self._writer
        assert writer is not None
        await writer.execute("BEGIN IMMEDIATE")
        try:
            for table in _LEASED_TABLES:
                await writer.execute(
                    f"UPDATE {table} SET lease_owner = NULL, lease_expires_at = NULL"  # noqa: S608
                    " WHERE lease_owner IS NOT NULL")
            await writer.execute("COMMIT")
        except BaseException:
            await writer.execute("ROLLBACK")
            raise

    async def _open_connections(self) -> None:
        # A read-only store reads through `mode=ro`; everyone else through `mode=rw`, which
        # never creates a file that vanished since the check above.
        reader = await self._connect("ro" if self._readonly else "rw")
        try:
            await reader.execute("PRAGMA query_only = ON")
            await _check_schema(reader, self._path)
            writer = None if self._readonly else await self._open_writer()
        except BaseException:
            await reader.close()
            raise
        self._writer, self._reader = writer, reader

    async def _open_writer(self) -> aiosqlite.Connection:
        writer = await self._connect("rw")
        try:
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT:d}")
            # SQLite checkpoints by itself every N pages written; N is in pages, so with large
            # pages the default (1000) would let the WAL reach 16 MB first.
            pages = _AUTOCHECKPOINT_BYTES // _PAGE_SIZE
            await writer.execute(f"PRAGMA wal_autocheckpoint = {pages:d}")
        except BaseException:
            await writer.close()
            raise
        return writer

    async def _connect(self, mode: str) -> aiosqlite.Connection:
        # isolation_level None: Python's sqlite3 never opens transactions behind our back; we
        # issue BEGIN IMMEDIATE / COMMIT ourselves.
        uri = f"{self._path.resolve().as_uri()}?mode={mode}"
        conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS:d}")
            if mode != "ro":
                await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Let in-flight writes finish, checkpoint the WAL, close both connections (their
        threads would otherwise keep the process alive), release the lock. Safe to call
        twice, and after a failed `migrate()` or `open()`."""
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        try:
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
        finally:
            if self._lock_file is not None:
                self._lock_file.release()

    async def ping(self) -> bool:
        try:
            rows = await self._read("SELECT 1")
        except (sqlite3.Error, StoreClosedError, ValueError):
            return False
        return bool(rows) and rows[0][0] == 1

    # --- maintenance (`crawler.store.Maintenance`) -------------------------------------------
    async def checkpoint(self) -> bool:
        """`PRAGMA wal_checkpoint(TRUNCATE)`: copy the WAL into the database and truncate it,
        so the WAL stays bounded on a long run. False when a reader kept it from finishing
        (try again later). Raises StoreClosedError on a closed or read-only store."""
        writer = self._require(self._writer)
        async with self._lock:
            rows = list(await writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
        busy, wal_pages, done = (int(v) for v in rows[0])
        log.debug("store_checkpoint", busy=busy, wal_pages=wal_pages, checkpointed=done)
        return busy == 0

    async def backup(self, dest: Path) -> None:
        """See `Maintenance.backup` and `sqlite_backup.backup_sqlite` (its own read-only
        connection, one snapshot): works on an unopened store too."""
        await asyncio.to_thread(backup_sqlite, self._path, Path(dest))

    def failing_writes(self) -> tuple[float, str] | None:
        """See `Store.failing_writes`."""
        return self._write_health.failing()

    @property
    def _wal_path(self) -> Path:
        return Path(f"{self._path}-wal")

    def journal_problem(self) -> str | None:
        """See `Maintenance.journal_problem`. The daemon's store notes the write-ahead log's
        file at open; SQLite keeps that file while connections are open (a checkpoint only
        truncates it), so another file, or none, under its name means someone removed it."""
        if self._wal_identity is None or self._writer is None:
            return None
        now = _identity(self._wal_path)
        if now == self._wal_identity:
            return None
        what = "vanished" if now is None else "was replaced by another file"
        return (f"the write-ahead log {self._wal_path} {what} while the database was open: "
                "commits since the last checkpoint are only in this process")

    def daemon_pid(self) -> int | None:
        """See `Maintenance.daemon_pid`."""
        return lock_holder(self._path)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self._path, Path(f"{self._path}-wal"))
                   if p.exists())

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
        """Run `tx` in a transaction of its own, or of a group (`crawler.store.sqlite_commit`);
        it returns once its writes are committed. Shielded: see the module docstring."""
        return await self._commits.write(self._require(self._writer), tx)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def _check_schema(conn: aiosqlite.Connection, path: Path) -> None:
    version, program = await _user_version(conn), len(MIGRATIONS)
    if version == 0 and not list(await conn.execute_fetchall(
            "SELECT 1 FROM sqlite_master LIMIT 1")):
        raise DatabaseMissingError(
            f"no crawler database in {path} yet (the file is empty): the daemon has not run"
            " (`crawler migrate` creates it)")
    if version < program:
        raise SchemaOutdatedError(database=version, program=program)
    if version > program:
        raise SchemaTooNewError(database=version, program=program)


async def _refuse_foreign(conn: aiosqlite.Connection, description: str) -> None:
    """A database that holds tables but no crawler schema belongs to something else: the
    migrations must not move in beside its tables."""
    if await _user_version(conn) != 0:
        return
    async with conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 3") as cur:
        tables = [str(row[0]) for row in await cur.fetchall()]
    if tables:
        raise StoreError(f"{description} holds tables of something else ({', '.join(tables)}),"
                         " not a crawler database: point [storage] database at another file")


async def _use_wal(conn: aiosqlite.Connection) -> None:
    """Put the file in WAL mode, waiting (up to the busy timeout) for another process that is
    migrating it: switching the journal mode needs the file to itself and, unlike statements,
    SQLite does not wait for it by its busy timeout (two daemons starting at once on a new
    file failed with "database is locked")."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        rows = list(await conn.execute_fetchall("PRAGMA journal_mode"))
        if rows and str(rows[0][0]).lower() == "wal":
            return
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)
