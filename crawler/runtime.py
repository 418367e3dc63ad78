"""The opened parts of a process (`crawler.app.App` builds them): what the daemon and `crawler
once` run on. No field is ever missing; the settings in force are one reference that a reload
swaps in one step (`Runtime.use`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from crawler.clockstep import caps_for
from crawler.config import FetchSettings, Settings
from crawler.due_work import DueWork
from crawler.fetch import Fetcher, HostTurns
from crawler.leases import LeaseKeeper
from crawler.liveness import Liveness
from crawler.metrics import Metrics
from crawler.pipeline import Pipeline, PollOutcome
from crawler.sdnotify import Notifier
from crawler.store import Store
from crawler.ticker import Ticker
from crawler.webhooks.deliverer import Deliverer, Targets

log = structlog.get_logger(__name__)


class CurrentSettings:
    """The settings in force. Every part that reads settings while running reads them here
    (or is handed them in the same step, see `Runtime.use`), so a reload is seen everywhere
    at once."""

    def __init__(self, settings: Settings) -> None:
        self.value = settings


class Fetchers:
    """The fetcher in use, and the ones a reload replaced until their requests are over."""

    def __init__(self, current: Fetcher, fleet: tuple[HostTurns, str] | None) -> None:
        self.current = current
        self._fleet = fleet
        self._retired: list[Fetcher] = []
        self._retiring: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, fetch: FetchSettings, store: Store, owner: str) -> Fetchers:
        # A store other daemons share paces each host for all of them.
        fleet = (store, owner) if isinstance(store, HostTurns) else None
        return cls(await _opened(Fetcher(fetch, fleet=fleet)), fleet)

    async def open_another(self, fetch: FetchSettings) -> Fetcher:
        """A fetcher for `fetch`, opened (a reload builds its new one here before using it)."""
        return await _opened(Fetcher(fetch, fleet=self._fleet))

    def use(self, fetcher: Fetcher) -> None:
        """Make `fetcher` the one in use. The one it replaces is closed once the requests it
        has in flight are over (none lasts beyond its deadline)."""
        old, self.current = self.current, fetcher
        self._retired.append(old)
        task = asyncio.ensure_future(self._retire(old, old.deadline + 1.0))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, fetcher: Fetcher, after: float) -> None:
        await asyncio.sleep(after)
        if fetcher in self._retired:
            self._retired.remove(fetcher)
            await fetcher.close()

    async def close(self) -> None:
        for task in list(self._retiring):
            task.cancel()
        for fetcher in [*self._retired, self.current]:
            await fetcher.close()
        self._retired.clear()


async def _opened(fetcher: Fetcher) -> Fetcher:
    await fetcher.open()
    return fetcher


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


@dataclass(slots=True, kw_only=True, eq=False)
class Runtime:
    current: CurrentSettings
    store: Store
    clock: Callable[[], datetime]
    owner: str
    """Who this process start is in every lease it takes: never the same twice."""
    feed_leases: LeaseKeeper
    article_leases: LeaseKeeper
    delivery_leases: LeaseKeeper
    fetchers: Fetchers
    pipeline: Pipeline
    deliverer: Deliverer
    delivery_wake: asyncio.Event
    """Set whenever an event is stored: the deliverer's cue."""
    due: DueWork
    metrics: Metrics
    notifier: Notifier
    ticker: Ticker
    """The daemon's periodic jobs (`crawler.daemon` adds and starts them)."""
    liveness: Liveness

    @property
    def settings(self) -> Settings:
        return self.current.value

    def use(self, settings: Settings, fetcher: Fetcher | None = None,
            targets: Targets | None = None) -> None:
        """Put `settings` in force for every part, in one step, with what was built from them
        beforehand (when `[fetch]` changed, a fetcher opened from it; the delivery endpoints,
        checked): nothing here awaits or can fail, so no request nor delivery starts in
        between."""
        self.current.value = settings
        self.pipeline.replace_settings(settings, fetcher)
        if fetcher is not None:
            self.fetchers.use(fetcher)
        if targets is not None:
            self.deliverer.use(targets)

    async def clamp_due_times(self) -> int:
        """Bring stored due times back within reach after a wall-clock step (see
        `crawler.clockstep`); wakes the deliverer when deliveries moved. Returns how many
        moved."""
        moved = await self.store.clamp_due_times(self.clock(), caps_for(self.settings))
        if moved:
            log.warning("due_times_clamped", moved=moved,
                        reason="stored due times were further ahead than any interval allows:"
                               " the wall clock stepped, or a reload shortened the intervals")
            self.delivery_wake.set()
        return moved

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
