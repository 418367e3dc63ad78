"""The composition root: builds the parts from the settings and hands them to each other.

No module keeps global state; everything the daemon and the commands use is built here and
closed here, in reverse order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import aiohttp
import structlog

from crawler import leases
from crawler.budget import DEFAULT_BUDGET, Budget, Offload
from crawler.clockstep import caps_for
from crawler.config import FetchSettings, Settings
from crawler.due_work import DueWork
from crawler.fetch import Fetcher, HostTurns
from crawler.leases import LeaseKeeper, LeaseTiming
from crawler.metrics import Metrics
from crawler.pipeline import Pipeline, PollOutcome, utc_now
from crawler.store import open_store
from crawler.webhooks.deliverer import Deliverer
from crawler.workers import WorkerPool

log = structlog.get_logger(__name__)

# Worker processes for hostile pages and huge diffs (`crawler.budget`).
WORKERS = 1


@dataclass(frozen=True, slots=True)
class PassSummary:
    """What one full pass (`crawler once`) did."""

    feeds: tuple[PollOutcome, ...]
    checked: int
    failed_checks: int
    delivery_attempts: int

    @property
    def failed(self) -> bool:
        """A feed or a page failed (`crawler once` then exits 1)."""
        return self.failed_checks > 0 or any(not f.ok for f in self.feeds)


class App:
    """The running parts: store, fetcher, webhook session, deliverer and pipeline."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                 metrics: Metrics | None = None, owner: str | None = None,
                 lease_timing: LeaseTiming | None = None,
                 budget: Budget = DEFAULT_BUDGET) -> None:
        self.settings = settings
        self.budget = budget
        self.clock = clock
        self.metrics = metrics or Metrics(process_metrics=False)
        # The daemon's store: migrated at start under the store's lock (a store that admits
        # one daemon at a time keeps it for the whole run).
        self.store = open_store(settings.storage, readonly=False, daemon=True)
        self.delivery_wake = asyncio.Event()
        # Who this process start is in every lease it takes: never the same twice.
        self.owner = owner or leases.new_owner()
        timing = lease_timing or leases.DEFAULT_TIMING
        self.feed_leases = LeaseKeeper(self.store, "feed", self.owner, clock=clock,
                                       timing=timing)
        self.article_leases = LeaseKeeper(self.store, "article", self.owner, clock=clock,
                                          timing=timing)
        self.delivery_leases = LeaseKeeper(self.store, "delivery", self.owner, clock=clock,
                                           timing=timing)
        self._stack = AsyncExitStack()
        self._fetcher: Fetcher | None = None
        # Fetchers a reload replaced, closed once their requests in flight are over.
        self._retired: list[Fetcher] = []
        self._retiring: set[asyncio.Task[None]] = set()
        self._pipeline: Pipeline | None = None
        self._deliverer: Deliverer | None = None
        self._due: DueWork | None = None

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "App used outside `async with`"
        return self._pipeline

    @property
    def deliverer(self) -> Deliverer:
        assert self._deliverer is not None, "App used outside `async with`"
        return self._deliverer

    @property
    def due(self) -> DueWork:
        assert self._due is not None, "App used outside `async with`"
        return self._due

    async def __aenter__(self) -> App:
        try:
            self._stack.push_async_callback(self.store.close)
            await self.store.migrate()
            await self.store.open()
            # Work claimed and not finished at exit is given back, due at once for whoever
            # comes next, rather than waiting for its leases to expire.
            self._stack.push_async_callback(self._release_leases)
            await self.clamp_due_times()
            # One worker: a hostile page is rare, and two would take both cores of a small
            # machine from the loop and the database. Started on first use only.
            workers = WorkerPool(size=WORKERS)
            self._stack.push_async_callback(workers.close)
            self._fetcher = await self.open_fetcher(self.settings.fetch)
            self._stack.push_async_callback(self._close_fetchers)
            # Webhook targets are the operator's own (often internal) endpoints, so they get a
            # session of their own, without the fetcher's private-address guard.
            webhook_session = await self._stack.enter_async_context(
                aiohttp.ClientSession(headers={"User-Agent": self.settings.fetch.user_agent})
            )
            self._deliverer = Deliverer(self.store, self.settings.webhooks,
                                        self.settings.delivery, webhook_session,
                                        clock=self.clock,
                                        user_agent=self.settings.fetch.user_agent,
                                        notify=self.settings.notify,
                                        metrics=self.metrics, leases=self.delivery_leases)
            self._pipeline = Pipeline(self.settings, self.store, self._fetcher,
                                      clock=self.clock, on_event=self.delivery_wake.set,
                                      metrics=self.metrics,
                                      offload=Offload(workers, self.budget))
            self._due = DueWork(self._pipeline, feeds=self.feed_leases,
                                articles=self.article_leases, settings=lambda: self.settings,
                                clock=self.clock)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stack.aclose()

    async def clamp_due_times(self) -> int:
        """Bring stored due times back within reach after a wall-clock step (see
        `crawler.clockstep`); wakes the deliverer when deliveries moved. Returns how many
        moved."""
        moved = await self.store.clamp_due_times(self.clock(), caps_for(self.settings))
        if moved:
            log.warning("due_times_clamped", moved=moved,
                        reason="stored due times were further ahead than any interval allows:"
                               " the wall clock stepped")
            self.delivery_wake.set()
        return moved

    async def open_fetcher(self, fetch: FetchSettings) -> Fetcher:
        """A fetcher for `fetch`, opened (a reload builds its new one here before using it)."""
        # A store other daemons share paces each host for all of them.
        fleet = (self.store, self.owner) if isinstance(self.store, HostTurns) else None
        fetcher = Fetcher(fetch, fleet=fleet)
        await fetcher.open()
        return fetcher

    def use_fetcher(self, fetcher: Fetcher) -> None:
        """Send every request from now on through `fetcher`. The one it replaces is closed
        once the requests it has in flight are over (none lasts beyond its deadline)."""
        old, self._fetcher = self._fetcher, fetcher
        self.pipeline.replace_settings(self.settings, fetcher)
        if old is not None:
            self._retired.append(old)
            task = asyncio.ensure_future(self._retire(old, old.deadline + 1.0))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def _retire(self, fetcher: Fetcher, after: float) -> None:
        await asyncio.sleep(after)
        if fetcher in self._retired:
            self._retired.remove(fetcher)
            await fetcher.close()

    async def _close_fetchers(self) -> None:
        for task in list(self._retiring):
            task.cancel()
        for fetcher in [*self._retired, self._fetcher]:
            if fetcher is not None:
                await fetcher.close()
        self._retired.clear()

    async def _release_leases(self) -> None:
        for keeper in (self.feed_leases, self.article_leases, self.delivery_leases):
            try:
                await keeper.release_all()
            except Exception:
                log.exception("lease_release_failed", kind=keeper.kind)

    async def run_pass(self) -> PassSummary:
        """One full pass: every feed polled once (due or not, without claiming it), every
        due article checked and every due delivery attempted once (both claimed)."""
        await self.clamp_due_times()
        feeds = await asyncio.gather(*(self.pipeline.poll_feed(f) for f in self.settings.feeds))
        async with self.article_leases.renewing():
            checks = await self.due.check_all_due()
        attempts = await self.deliverer.run_once()
        failed_checks = sum(1 for c in checks if not c.ok)
        return PassSummary(tuple(feeds), len(checks), failed_checks, attempts)
