"""The PostgreSQL database under the store: the connection pool, transactions, migrations,
schema checks and what a lost connection becomes.

Three ways to open, as on SQLite (`crawler.store.open_store` picks one):
- read-only (reading commands): every session has `default_transaction_read_only` on, so the
  server itself refuses a write; the store refuses one before it gets there.
- writable (operator commands, daemons): never migrates in `open()`.
- `migrate()` (daemons at start, `crawler migrate`): under a session advisory lock, so one
  daemon of a fleet migrates and the others wait for it (see `postgres_schema`). Unlike
  SQLite, nothing stops several daemons from sharing the database: that is what it is for.

Rules:
- Every write is one transaction on one pooled connection (READ COMMITTED; rows that must
  not change under it are locked with `FOR UPDATE`, or the statement itself is atomic). A
  transaction that loses a deadlock or a serialization check is run again from the start (so
  `EventBuilder`s must be pure, as `Store.add_version` says).
- The transaction runs in its own task behind `asyncio.shield`, as on SQLite: cancelling the
  caller never abandons a transaction half sent; it ends in COMMIT or ROLLBACK, and `close()`
  waits for it.
- No transaction is held across anything but its own SQL.
- Connection loss: a connection the server dropped (a restart, an idle timeout) is replaced
  unseen: the pool checks connections that sat idle before lending them, and an operation
  that loses its connection anyway runs again on another one, a read always, a write only when
  its COMMIT was not sent yet (a write lost during its COMMIT may have committed: it is never
  run twice). When no connection can be had, the operation raises `DatabaseConnectionError`
  naming the database (never its password) and the reason; the pool keeps opening new ones
  in the background with backoff, so the first operation after the server is back works.
  `ping()` is False while the server does not answer.

SQL text is sometimes assembled with f-strings (hence the `noqa: S608` markers): only
constant column lists are interpolated, values always go through parameters.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg.errors
import structlog
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from crawler.config import StorageSettings
from crawler.store.base import (
    DatabaseConnectionError,
    DatabaseMissingError,
    SchemaOutdatedError,
    SchemaTooNewError,
    StoreClosedError,
    StoreError,
)
from crawler.store.postgres_schema import MIGRATIONS, apply_migrations, schema_version
from crawler.store.write_health import WriteHealth

log = structlog.get_logger(__name__)

T = TypeVar("T")
Conn = psycopg.AsyncConnection[DictRow]
Tx = Callable[[Conn], Awaitable[T]]

_CONNECT_TIMEOUT = 10  # seconds, per connection attempt
_POOL_TIMEOUT = 10.0  # default seconds an operation waits for a connection before failing
_PING_TIMEOUT = 2.0
# Connections for host turns: a daemon takes and gives back turns for a few hosts at once,
# each one short statement.
_PACING_POOL_SIZE = 2
# A pooled connection idle for longer than this is checked (one round trip) before it is lent
# out, so one the server dropped meanwhile is replaced unseen; a busy daemon's connections,
# back in the pool a moment ago, skip the check (it cost a quarter of the store's time).
_CHECK_IDLE_AFTER = 2.0
_TX_ATTEMPTS = 3  # a transaction that lost a deadlock is run again, this many times in all
# Connection-level failures: the server is down, restarting, unreachable, or shut us out.
_CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def _describe(url: str) -> str:
    from crawler.store.factory import describe_storage

    return describe_storage(StorageSettings(url=url))


class PostgresDatabase:
    """One PostgreSQL database through a pool of connections. Construct, (`await migrate()`,)
    `await open()`, use, `await close()`. The store methods live in subclasses."""

    def __init__(self, url: str, *, readonly: bool = False, pool_size: int = 8,
                 timeout: float = _POOL_TIMEOUT) -> None:
        """`pool_size`: connections at most; `timeout`: seconds an operation waits for a
        connection (while the server is down) before it fails."""
        self._url = url
        self._readonly = readonly
        self._pool_size = 2 if readonly else max(2, pool_size)
        self._timeout = timeout
        self._pool: AsyncConnectionPool[Conn] | None = None
        # Host turns (`postgres_hosts`) have connections of their own: a turn comes before
        # every request, under its host's start lock, and behind the bulk of the store's
        # statements (a feed's entries all looked up at once) it waited ~200 ms, so requests to
        # a host started five times a second whatever its limits.
        self._pacing_pool: AsyncConnectionPool[Conn] | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._write_health = WriteHealth()
        self._description = _describe(url)
        self._returned: weakref.WeakKeyDictionary[Conn, float] = weakref.WeakKeyDictionary()

    def describe(self) -> str:
        return self._description

    # --- lifecycle ---------------------------------------------------------------------------
    async def _connect(self) -> Conn:
        try:
            return await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, row_factory=dict_row,
                connect_timeout=_CONNECT_TIMEOUT, application_name="crawler")
        except psycopg.Error as exc:
            raise DatabaseConnectionError(
                f"cannot connect to {self.describe()}: {_reason(exc)}") from exc

    async def migrate(self) -> tuple[int, int]:
        """See `Store.migrate`: under the migration lock (a fleet starting at once migrates
        once). Never creates the database itself (its owner does, see the README). Raises
        `StoreError` on a read-only store, `DatabaseConnectionError`, `SchemaTooNewError`."""
        if self._readonly:
            raise StoreError("a read-only store cannot migrate the database")
        conn = await self._connect()
        try:
            before, after = await apply_migrations(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot migrate {self.describe()}: {_reason(exc)}") from exc
        finally:
            await conn.close()
        if after != before:
            log.info("store_migrated", database=self.describe(), schema_from=before,
                     schema_to=after)
        return before, after

    async def open(self) -> None:
        """See `Store.open`. Idempotent. Raises `DatabaseConnectionError` when the server
        cannot be reached, `DatabaseMissingError` when the crawler's schema is not there yet,
        `SchemaOutdatedError` / `SchemaTooNewError`."""
        if self._pool is not None:
            return
        conn = await self._connect()
        try:
            await _check_schema(conn, self.describe())
        finally:
            await conn.close()
        # The turns' connections are part of `pool_size`, not more of them: an operator sizes
        # `max_connections` by it (README, "Running a fleet").
        main = self._pool_size if self._readonly else max(2, self._pool_size - _PACING_POOL_SIZE)
        self._pool = await self._open_pool("crawler-store", main)
        if not self._readonly:
            try:
                self._pacing_pool = await self._open_pool("crawler-pacing", _PACING_POOL_SIZE)
            except BaseException:
                pool, self._pool = self._pool, None
                await pool.close()
                raise
        log.debug("store_opened", database=self.describe(), readonly=self._readonly)

    async def _open_pool(self, name: str, size: int) -> AsyncConnectionPool[Conn]:
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            self._url, connection_class=psycopg.AsyncConnection[DictRow],
            kwargs={"autocommit": True, "row_factory": dict_row,
                    "connect_timeout": _CONNECT_TIMEOUT, "application_name": "crawler"},
            min_size=1, max_size=size, open=False, timeout=self._timeout,
            configure=self._configure, check=self._check, reset=self._returned_to_pool,
            name=name)
        try:
            await pool.open(wait=True, timeout=self._timeout)
        except PoolTimeout as exc:
            await pool.close()
            raise DatabaseConnectionError(
                f"cannot connect to {self.describe()}: no connection within"
                f" {self._timeout:g} s") from exc
        return pool

    async def _configure(self, conn: Conn) -> None:
        # Times come back in UTC; a read-only store's sessions cannot write even by mistake;
        # a transaction left open by a bug is ended by the server, not held for ever.
        await conn.execute("SET TIME ZONE 'UTC'")
        await conn.execute("SET idle_in_transaction_session_timeout = '60s'")
        if self._readonly:
            await conn.execute("SET default_transaction_read_only = on")

    async def _returned_to_pool(self, conn: Conn) -> None:
        self._returned[conn] = time.monotonic()

    async def _check(self, conn: Conn) -> None:
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned > _CHECK_IDLE_AFTER:
            await AsyncConnectionPool.check_connection(conn)

    async def close(self) -> None:
        """Let in-flight writes finish, close the pool. Safe to call twice, and after a failed
        `migrate()` or `open()`."""
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        for pool in (self._pool, self._pacing_pool):
            if pool is not None:
                await pool.close()
        self._pool = self._pacing_pool = None

    async def ping(self) -> bool:
        pool = self._pool
        if pool is None:
            return False
        try:
            async with pool.connection(timeout=min(_PING_TIMEOUT, self._timeout)) as conn:
                cur = await conn.execute("SELECT 1 AS one")
                row = await cur.fetchone()
        except (psycopg.Error, PoolTimeout):
            return False
        return row is not None and row["one"] == 1

    # --- plumbing ----------------------------------------------------------------------------
    def _require(self) -> AsyncConnectionPool[Conn]:
        if self._pool is None:
            raise StoreClosedError("the store is not open")
        return self._pool

    def failing_writes(self) -> tuple[float, str] | None:
        """See `Store.failing_writes`."""
        return self._write_health.failing()

    async def _read(self, sql: Any, params: Sequence[Any] = ()) -> list[DictRow]:
        pool = self._require()
        for attempt in range(1, _TX_ATTEMPTS + 1):
            try:
                async with pool.connection() as conn:
                    cur = await conn.execute(sql, params)
                    return await cur.fetchall()
            except _CONNECTION_ERRORS as exc:
                # A read can always be asked again, on another connection.
                if not await self._retry_after_loss(pool, exc, attempt):
                    raise await self._lost(exc) from exc
        raise AssertionError("unreachable")

    async def _write(self, tx: Tx[T]) -> T:
        """Run `tx` in one transaction. Shielded: see the module docstring."""
        if self._readonly:
            raise StoreClosedError("the store is read-only")
        pool = self._require()
        task = asyncio.ensure_future(self._transaction(pool, tx))
        self._inflight.add(task)
        task.add_done_callback(self._write_done)
        return await asyncio.shield(task)

    async def _write_one(self, sql: Any, params: Sequence[Any] | Mapping[str, Any] = (), *,
                         pacing: bool = False) -> list[DictRow]:
        """One writing statement as its own transaction (the sessions are in autocommit: one
        round trip, no BEGIN/COMMIT), shielded as `_write` is; its rows, if it returns any.
        Run again only when it lost a deadlock (then nothing of it was written); never after
        a lost connection: it may have committed. `pacing`: on the connections kept for host
        turns."""
        if self._readonly:
            raise StoreClosedError("the store is read-only")
        pool = self._require()
        if pacing and self._pacing_pool is not None:
            pool = self._pacing_pool

        async def run() -> list[DictRow]:
            for attempt in range(1, _TX_ATTEMPTS + 1):
                try:
                    async with pool.connection() as conn:
                        cur = await conn.execute(sql, params)
                        return await cur.fetchall() if cur.description is not None else []
                except psycopg.errors.TransactionRollback as exc:
                    if attempt == _TX_ATTEMPTS:
                        raise StoreError(
                            f"{self.describe()}: a statement kept conflicting with others:"
                            f" {_reason(exc)}") from exc
                except _CONNECTION_ERRORS as exc:
                    raise await self._lost(exc) from exc
            raise AssertionError("unreachable")

        task = asyncio.ensure_future(run())
        self._inflight.add(task)
        task.add_done_callback(self._write_done)
        return await asyncio.shield(task)

    def _write_done(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled():
            self._write_health.note(task.exception())
        # Retrieved here when the caller was cancelled (asyncio would log it otherwise).
        if not task.cancelled():
            task.exception()

    async def _transaction(self, pool: AsyncConnectionPool[Conn], tx: Tx[T]) -> T:
        for attempt in range(1, _TX_ATTEMPTS + 1):
            committing = False
            try:
                async with pool.connection() as conn:
                    async with conn.transaction():
                        result = await tx(conn)
                        committing = True
                    return result
            except psycopg.errors.TransactionRollback as exc:
                # A deadlock or serialization failure rolled everything back: run it again.
                if attempt == _TX_ATTEMPTS:
                    raise StoreError(
                        f"{self.describe()}: a transaction kept conflicting with others:"
                        f" {_reason(exc)}") from exc
                log.debug("store_transaction_retried", attempt=attempt, error=_reason(exc))
            except psycopg.errors.ReadOnlySqlTransaction as exc:
                raise StoreError(f"{self.describe()} is read-only: {_reason(exc)}") from exc
            except _CONNECTION_ERRORS as exc:
                # Lost before COMMIT was sent, the server rolled the transaction back: safe to
                # run again. Lost during COMMIT, it may have committed: never run it twice.
                if committing or not await self._retry_after_loss(pool, exc, attempt):
                    raise await self._lost(exc) from exc
        raise AssertionError("unreachable")

    async def _retry_after_loss(self, pool: AsyncConnectionPool[Conn], exc: BaseException,
                                attempt: int) -> bool:
        """Whether an operation that lost its connection should be tried again: not when no
        connection came at all (the wait already was the pool's timeout), nor too often.
        The pool's idle connections are checked first: when the server restarted, they are
        all dead, and the next try must not get another one."""
        if isinstance(exc, PoolTimeout) or attempt == _TX_ATTEMPTS:
            return False
        log.info("store_connection_lost", database=self.describe(), error=_reason(exc),
                 attempt=attempt)
        await pool.check()
        return True

    async def _lost(self, exc: BaseException) -> DatabaseConnectionError:
        """The error for an operation that lost its connection or got none. The pool does not
        say why it has none, so one direct attempt asks the server (or the network)."""
        if isinstance(exc, PoolTimeout):
            reason = f"no connection within {self._timeout:g} s"
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, connect_timeout=min(_CONNECT_TIMEOUT, 2))
            except psycopg.Error as direct:
                reason += f" ({_reason(direct)})"
            else:
                await conn.close()
        else:
            reason = _reason(exc)
        return DatabaseConnectionError(
            f"lost {self.describe()}: {reason} (the store reconnects by itself once the server"
            " answers again)")


def _reason(exc: BaseException) -> str:
    """The server's or libpq's message, on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


async def _check_schema(conn: Conn, description: str) -> None:
    version, program = await schema_version(conn), len(MIGRATIONS)
    if version == 0:
        raise DatabaseMissingError(
            f"no crawler schema in {description} yet: the daemon has not run (`crawler"
            " migrate` creates it)")
    if version < program:
        raise SchemaOutdatedError(database=version, program=program)
    if version > program:
        raise SchemaTooNewError(database=version, program=program)
