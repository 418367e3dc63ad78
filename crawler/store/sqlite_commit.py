"""Writes on the SQLite store's one writer connection: each in an explicit `BEGIN IMMEDIATE`
transaction under the writer's lock, and, when several are waiting, together under one COMMIT
(group commit). See `crawler.store.sqlite_db` for the durability rules this keeps.

A write (`Tx`) awaits only its statements on the connection it is given: the writes of a
group then run on the writer's own thread in one hop (`crawler.store.sqlite_direct`), not
one hop per statement. One that awaits anything else is run again on the event loop; one
that asks for the running loop there fails (it has none on that thread)."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import aiosqlite
import structlog

from crawler.store.base import StoreClosedError
from crawler.store.sqlite_direct import NeedsLoop, on_thread, run_alone, run_writes
from crawler.store.write_health import WriteHealth

log = structlog.get_logger(__name__)

T = TypeVar("T")
Tx = Callable[[aiosqlite.Connection], Awaitable[T]]

# Times the event loop comes back to the committer before it takes a group (`_gather`).
GATHER_TURNS = 4
# The most writes one group commit takes: enough to turn a burst of first sights into a few
# fsyncs, few enough that no caller waits long behind the others.
GROUP_COMMIT_MAX = 64


class GroupCommit:
    """The queue of writes waiting for the writer, and the task committing them.

    `lock` serializes every use of the writer connection (checkpoints and closing take it
    too); `inflight` is the store's set of tasks that `close()` waits for; `health` hears of
    every write's outcome."""

    def __init__(self, lock: asyncio.Lock, inflight: set[asyncio.Task[Any]],
                 health: WriteHealth) -> None:
        self._lock = lock
        self._inflight = inflight
        self._health = health
        self._waiting: list[tuple[Tx[Any], asyncio.Future[Any]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._writer: aiosqlite.Connection | None = None

    async def write(self, writer: aiosqlite.Connection, tx: Tx[T]) -> T:
        """Run `tx`; returns once its writes are committed (or raises what it raised)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieve)
        self._waiting.append((tx, done))
        self._writer = writer
        if self._committer is None:
            self._start(writer)
        return await asyncio.shield(done)

    def _start(self, writer: aiosqlite.Connection) -> None:
        # A context of its own: started by whichever write found none running, it would
        # otherwise log (a broken group, a failed rollback) under that one unit's keys
        # (`crawler.log_context`) while it runs every waiting unit's write.
        self._committer = asyncio.get_running_loop().create_task(
            self._commit_groups(writer), context=contextvars.Context())
        self._inflight.add(self._committer)
        self._committer.add_done_callback(self._committer_done)

    def _committer_done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._committer = None
        _retrieve(task)
        if self._waiting and self._writer is not None:  # queued as it ended
            self._start(self._writer)

    async def _commit_groups(self, writer: aiosqlite.Connection) -> None:
        """Group commit: the writes waiting when the writer is free run in one transaction,
        each in a savepoint of its own, and one COMMIT (one fsync under `synchronous=FULL`)
        makes them all durable; each caller is released only after it. A write that fails
        rolls back its savepoint alone. Should the transaction itself break (a full disk
        or an I/O error makes SQLite roll everything back), the group is run again one write
        per transaction, so every write gets exactly the outcome it would have had alone."""
        while self._waiting:
            try:
                await self._gather()
            except BaseException as exc:
                for _, done in self._waiting:
                    _settle(done, True, StoreClosedError(f"write abandoned: {exc!r}"))
                self._waiting.clear()
                raise
            group = self._waiting[:GROUP_COMMIT_MAX]
            del self._waiting[:GROUP_COMMIT_MAX]
            if len(group) == 1:
                await self._alone(writer, *group[0])
                continue
            try:
                async with self._lock:
                    outcomes = await self._grouped(writer, group)
            except BaseException as exc:
                # Cancelled (the loop is going away): no caller may wait for ever.
                for _, done in group + self._waiting:
                    _settle(done, True, StoreClosedError(f"write abandoned: {exc!r}"))
                self._waiting.clear()
                raise
            if outcomes is None:
                for tx, done in group:
                    await self._alone(writer, tx, done)
                continue
            for (_, done), (failed, value) in zip(group, outcomes, strict=True):
                self._health.note(value if failed else None)
                _settle(done, failed, value)

    async def _gather(self) -> None:
        """Let the event loop come back here `GATHER_TURNS` times before a group is taken
        (at once when the loop has nothing else to run): the writes that other tasks make
        meanwhile (first sights being extracted on the loop) join the group. A group runs in one
        hop, and without these turns it took the one or two writes waiting at the time: a
        cold pass made about 2.5 times the commits and 1.8 times the WAL bytes per new
        article (`benchmarks/throughput.py`: 0.14 fsyncs and 52 KB, against 0.06 and 32)."""
        for _ in range(GATHER_TURNS):
            if len(self._waiting) >= GROUP_COMMIT_MAX:
                return
            await asyncio.sleep(0)

    async def _grouped(self, writer: aiosqlite.Connection,
                       group: list[tuple[Tx[Any], asyncio.Future[Any]]]
                       ) -> list[tuple[bool, Any]] | None:
        """The group's outcomes after its COMMIT, or None if the transaction broke (nothing
        of it is committed then)."""
        outcomes: list[tuple[bool, Any]] = []
        writes = [tx for tx, _ in group]
        begun = False
        try:
            while True:
                # BEGIN, as many writes as can run on the writer's thread and the COMMIT
                # once they all ran, in one hop there.
                ran = await on_thread(writer, partial(
                    run_writes, writes=writes[len(outcomes):], begin=not begun))
                begun = True
                if ran.broken:  # SQLite rolled it all back
                    return None
                outcomes.extend(ran.outcomes)
                if ran.committed:
                    return outcomes
                # The next one needs the event loop: one hop per statement.
                await writer.execute("SAVEPOINT one_write")
                try:
                    result = await writes[len(outcomes)](writer)
                except Exception as exc:
                    if not writer.in_transaction:  # SQLite rolled it all back
                        return None
                    await writer.execute("ROLLBACK TO one_write")
                    await writer.execute("RELEASE one_write")
                    outcomes.append((True, exc))
                else:
                    await writer.execute("RELEASE one_write")
                    outcomes.append((False, result))
        except sqlite3.Error as exc:
            log.warning("store_group_commit_broken", writes=len(group), error=str(exc))
            await _roll_back(writer)
            return None
        except BaseException:
            await _roll_back(writer)
            raise

    async def _alone(self, writer: aiosqlite.Connection, tx: Tx[Any],
                     done: asyncio.Future[Any]) -> None:
        try:
            result = await self._transaction(writer, tx)
        except Exception as exc:
            self._health.note(exc)
            _settle(done, True, exc)
        else:
            self._health.succeeded()
            _settle(done, False, result)

    async def _transaction(self, writer: aiosqlite.Connection, tx: Tx[T]) -> T:
        async with self._lock:
            try:  # in one hop on the writer's thread (`sqlite_direct`)
                return await on_thread(writer, partial(run_alone, write=tx))
            except NeedsLoop:
                pass  # rolled back: run again on the loop
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


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a future's exception retrieved: when its caller was cancelled nobody else will,
    and asyncio would log "exception was never retrieved". The caller, if still there, gets
    it through the shield anyway."""
    if not future.cancelled():
        future.exception()


async def _roll_back(writer: aiosqlite.Connection) -> None:
    if writer.in_transaction:
        try:
            await writer.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.error("store_rollback_failed", error=str(exc))


def _settle(done: asyncio.Future[Any], failed: bool, value: Any) -> None:
    if done.done():
        return
    if failed:
        done.set_exception(value)
    else:
        done.set_result(value)
