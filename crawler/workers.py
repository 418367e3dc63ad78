"""Worker processes for CPU-heavy pure functions (extraction, diffing of big inputs), each call
under a deadline.

Why processes, not threads: measured on a 250,000-deep `<div>` page, lexbor's parse is one C
call of over two minutes that holds the GIL; a one-word edit in a 5 MB paragraph is ~60 s of
pure-Python difflib. In a thread either one still starves the event loop (`/healthz`, watchdog
pings, deliveries) and cannot be stopped. A process leaves the loop free and can be killed at
its deadline.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot stop one call; the only way to end
a runaway task is to break the whole pool, failing the other calls in flight. Here each call
owns one worker for its duration; a worker past its deadline (or whose call was cancelled) is
killed and replaced on the next call, the others are untouched.

Workers are started with "spawn" (no fork of a process holding sockets, threads and an event
loop), lazily, at most `size` at once; they ignore SIGINT (Ctrl-C is the parent's to handle)
and exit when the parent's end of their pipe closes, so a parent killed with SIGKILL leaves
none behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")

_START_SECONDS = 60.0


class WorkerTimeoutError(Exception):
    """The call did not finish within its deadline; its worker was killed."""


class WorkerCrashedError(Exception):
    """The worker died during the call (killed, out of memory)."""


def _serve(conn: Connection) -> None:
    """A worker's main loop: run each (function, args) sent, send back ("ok", result) or
    ("error", exception)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(("ready", None))
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except Exception as exc:  # handed to the caller, who decides
            reply = ("error", exc)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


class _Worker:
    def __init__(self, context: Any) -> None:
        parent, child = multiprocessing.Pipe(duplex=True)
        self.conn: Connection = parent
        self.process: BaseProcess = context.Process(target=_serve, args=(child,), daemon=True,
                                                    name="crawler-worker")
        self.process.start()
        child.close()
        # Blocks (in a thread) until the worker's imports are done, so that a call's deadline
        # measures its work, not the interpreter's start.
        try:
            started = self.conn.poll(_START_SECONDS) and self.conn.recv() == ("ready", None)
        except (EOFError, OSError):
            started = False
        if not started:
            self.kill()
            raise WorkerCrashedError("worker did not start")

    def kill(self) -> None:
        with suppress(Exception):
            self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        # Reaped at once: kill() delivers SIGKILL, so join does not wait on the work.
        self.process.join(timeout=5)


class WorkerPool:
    """At most `size` worker processes; `run` sends one call to an idle one."""

    def __init__(self, size: int = 1) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self._context = multiprocessing.get_context("spawn")
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Worker] = []
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any, deadline: float) -> T:
        """`fn(*args)` in a worker, its result within `deadline` seconds. `fn` and the
        arguments must be picklable (a module-level function). Raises what `fn` raised,
        `WorkerTimeoutError` (the worker is killed) or `WorkerCrashedError`."""
        if self._closed:
            raise RuntimeError("worker pool closed")
        async with self._slots:
            worker = self._idle.pop() if self._idle else await asyncio.to_thread(
                _Worker, self._context)
            healthy = False
            try:
                outcome, value = await self._call(worker, fn, args, deadline)
                healthy = True
            finally:
                if healthy and not self._closed:
                    self._idle.append(worker)
                else:
                    # Timed out, crashed, or cancelled mid-call: its state is unknown.
                    await asyncio.to_thread(worker.kill)
        if outcome == "error":
            raise value
        return value  # type: ignore[no-any-return]

    async def _call(self, worker: _Worker, fn: Callable[..., Any], args: tuple[Any, ...],
                    deadline: float) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            # In a thread: a big body fills the pipe, and a worker just spawned reads it only
            # once its imports are done.
            await asyncio.to_thread(worker.conn.send, (fn, args))
        except (OSError, ValueError) as exc:
            raise WorkerCrashedError(f"worker unreachable: {exc}") from exc
        ready: asyncio.Future[None] = loop.create_future()
        fd = worker.conn.fileno()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, readable)
        try:
            async with asyncio.timeout(deadline):
                await ready
        except TimeoutError:
            raise WorkerTimeoutError(f"no result within {deadline:g}s") from None
        finally:
            loop.remove_reader(fd)
        try:
            reply: tuple[str, Any] = await asyncio.to_thread(worker.conn.recv)
        except (EOFError, OSError) as exc:
            raise WorkerCrashedError(
                f"worker died (exit code {worker.process.exitcode})") from exc
        return reply

    async def close(self) -> None:
        """Stop every idle worker (calls in flight kill their own when they end)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for worker in idle:
            await asyncio.to_thread(worker.kill)

    @property
    def workers(self) -> int:
        """Idle workers kept (for tests)."""
        return len(self._idle)
