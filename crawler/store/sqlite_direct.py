"""Writes run on the SQLite writer's own thread, all their statements in one hop.

aiosqlite runs every statement on the connection's thread and hands each result back to the
event loop: a hop that costs both threads a wake-up (measured: 25-90 µs of CPU each, against
about 1 µs for the statement itself). A write is an `async` function of the connection
(`sqlite_commit.Tx`) that only awaits its statements, so it can run on that thread as it is:
given `DirectConnection`, whose calls run the statement at once and return awaitables that
are already done, the write's coroutine completes at its first step (`drive`), and a group
commit's savepoints and writes take one hop in all (`run_writes`) instead of one per
statement.

A write that awaits anything else (which none does today) would suspend: it is then closed,
its savepoint rolled back, and it is run again the ordinary way, one hop per statement, on
the event loop (`NeedsLoop`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import aiosqlite
import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
Tx = Callable[[aiosqlite.Connection], Awaitable[Any]]


class NeedsLoop(Exception):
    """The write awaited something that is not one of its statements."""


class _Done(Generic[T]):
    """An awaitable, and async context manager, whose value is already there."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self._value
        yield  # a generator that finishes at its first step

    async def __aenter__(self) -> T:
        return self._value

    async def __aexit__(self, *_: object) -> None:
        close = getattr(self._value, "close", None)
        if close is not None:
            await close()


class DirectCursor:
    """What the writes use of `aiosqlite.Cursor`, over a `sqlite3.Cursor`."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class DirectConnection:
    """What the writes use of `aiosqlite.Connection`, run at once on the calling thread
    (the connection's own: `sqlite3` refuses any other)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Done[DirectCursor]:
        return _Done(DirectCursor(self._conn.execute(sql, parameters)))

    def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> _Done[list[Any]]:
        return _Done(self._conn.execute(sql, parameters).fetchall())

    def executemany(self, sql: str,
                    parameters: Iterable[Sequence[Any]]) -> _Done[DirectCursor]:
        return _Done(DirectCursor(self._conn.executemany(sql, parameters)))


def drive(write: Tx, conn: DirectConnection) -> Any:
    """Run `write` on `conn` to its end, here and now; raises what it raises, or
    `NeedsLoop` (the write closed) if it suspends."""
    coroutine = cast(Coroutine[Any, Any, Any], write(cast(aiosqlite.Connection, conn)))
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise NeedsLoop


@dataclass(slots=True)
class Ran:
    """What `run_writes` did: the outcomes (failed, value) of the first writes, in order;
    `broken` when the transaction itself ended (SQLite rolled it all back), so none of them
    holds; `committed` when it ran them all and committed. The writes past the outcomes were
    not run (the next one needs the loop), and the transaction is still open."""

    outcomes: list[tuple[bool, Any]] = field(default_factory=list)
    broken: bool = False
    committed: bool = False


def run_writes(conn: sqlite3.Connection, writes: Sequence[Tx], *, begin: bool) -> Ran:
    """On the connection's thread: the transaction begun (`begin`, else it is open), each
    write in a savepoint of its own (rolled back alone when it fails) until one needs the
    loop, and the COMMIT once they all ran. A statement of the transaction or of the
    savepoints that fails raises its `sqlite3.Error` (the transaction left to the caller)."""
    if begin:
        conn.execute("BEGIN IMMEDIATE")
    direct = DirectConnection(conn)
    ran = Ran()
    for write in writes:
        conn.execute("SAVEPOINT one_write")
        try:
            result = drive(write, direct)
        except NeedsLoop:
            conn.execute("ROLLBACK TO one_write")
            conn.execute("RELEASE one_write")
            return ran
        except Exception as exc:
            if not conn.in_transaction:
                ran.broken = True
                return ran
            conn.execute("ROLLBACK TO one_write")
            conn.execute("RELEASE one_write")
            ran.outcomes.append((True, exc))
        else:
            conn.execute("RELEASE one_write")
            ran.outcomes.append((False, result))
    conn.execute("COMMIT")
    ran.committed = True
    return ran


def run_alone(conn: sqlite3.Connection, write: Tx) -> Any:
    """On the connection's thread: `write` in a transaction of its own, committed; raises
    what it raised (rolled back), or `NeedsLoop` (rolled back, not run)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = drive(write, DirectConnection(conn))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.error("store_rollback_failed", error=str(exc))
        raise
    return result


async def on_thread(writer: aiosqlite.Connection,
                    work: Callable[[sqlite3.Connection], T]) -> T:
    """`work(connection)` on the writer's thread, in one hop. aiosqlite has no public call
    for it: every one of its public methods is this same call (`_execute`) of one
    statement."""
    conn = writer._conn
    result = await writer._execute(work, conn)  # type: ignore[no-untyped-call]
    return cast(T, result)
