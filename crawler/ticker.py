"""The daemon's periodic jobs, timed by the event loop's monotonic clock.

APScheduler 3 computes every next run on the wall clock: after the clock steps back an hour,
each interval job's next run is an hour away, and nothing is claimed, polled or delivered
meanwhile (measured: 150 s of silence after a one-hour step back, with `/healthz` still
green). The few jobs the daemon needs (claim due work every second, report status, checkpoint)
are simple loops here: one task per job, one run at a time, runs missed while one was slow
coalesced into the next, and the wall clock never consulted.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

Job = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    every: float
    job: Job
    first: float = 0.0
    """Delay before the first run (default: at once)."""
    jitter: float = 0.0
    """Each gap is `every` times a random factor in [1 - jitter, 1 + jitter]."""


class Ticker:
    """Runs each job every `every` seconds (from the start of one run to the next, or at
    once after a run that took longer), until `shutdown`."""

    def __init__(self) -> None:
        self._jobs: list[Periodic] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.running = False

    def add(self, name: str, every: float, job: Job, *, first: float = 0.0,
            jitter: float = 0.0) -> None:
        if self.running:
            raise RuntimeError("jobs are added before start")
        if not 0.0 <= jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1), not {jitter!r}")
        self._jobs.append(Periodic(name, every, job, first, jitter))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self._jobs]

    def start(self) -> None:
        self.running = True
        self._tasks = [asyncio.create_task(self._loop(p), name=f"every {p.name}")
                       for p in self._jobs]

    def shutdown(self) -> None:
        """Stop scheduling; a run in progress is cancelled (jobs that must finish shield
        their own work, as the daemon's do)."""
        self.running = False
        for task in self._tasks:
            task.cancel()

    async def wait_closed(self) -> None:
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task

    async def _loop(self, periodic: Periodic) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + periodic.first
        while self.running:
            await asyncio.sleep(max(due - loop.time(), 0.0))
            if not self.running:
                return
            try:
                await periodic.job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job_crashed", job=periodic.name)
            # Runs missed during a slow one are not caught up one by one.
            gap = periodic.every
            if periodic.jitter:
                # Scheduling spread only, not security.
                gap *= random.uniform(1 - periodic.jitter, 1 + periodic.jitter)  # noqa: S311
            due = max(due + gap, loop.time())
