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

from crawler.config import Settings
from crawler.fetch import Fetcher
from crawler.metrics import Metrics
from crawler.pipeline import Pipeline, PollOutcome, utc_now
from crawler.store import open_store
from crawler.webhooks.deliverer import Deliverer

log = structlog.get_logger(__name__)

# Due articles are taken in batches; every checked article moves its next check into the future,
# so the loop in `run_pass` ends.
CHECK_BATCH = 500


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
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics or Metrics(process_metrics=False)
        # The daemon's store: migrated at start under the store's lock (a store that admits
        # one daemon at a time keeps it for the whole run).
        self.store = open_store(settings.storage, readonly=False, daemon=True)
        self.delivery_wake = asyncio.Event()
        self._stack = AsyncExitStack()
        self._fetcher: Fetcher | None = None
        self._pipeline: Pipeline | None = None
        self._deliverer: Deliverer | None = None

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "App used outside `async with`"
        return self._pipeline

    @property
    def deliverer(self) -> Deliverer:
        assert self._deliverer is not None, "App used outside `async with`"
        return self._deliverer

    async def __aenter__(self) -> App:
        try:
            self._stack.push_async_callback(self.store.close)
            await self.store.migrate()
            await self.store.open()
            self._fetcher = await self._stack.enter_async_context(Fetcher(self.settings.fetch))
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
                                        metrics=self.metrics)
            self._pipeline = Pipeline(self.settings, self.store, self._fetcher,
                                      clock=self.clock, on_event=self.delivery_wake.set,
                                      metrics=self.metrics)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stack.aclose()

    async def run_pass(self) -> PassSummary:
        """One full pass: every feed polled once, every due article checked, every due
        delivery attempted once."""
        feeds = await asyncio.gather(*(self.pipeline.poll_feed(f) for f in self.settings.feeds))
        checks = []
        while True:
            batch = await self.pipeline.check_due(limit=CHECK_BATCH)
            checks.extend(batch)
            if len(batch) < CHECK_BATCH:
                break
        attempts = await self.deliverer.run_once()
        failed_checks = sum(1 for c in checks if not c.ok)
        return PassSummary(tuple(feeds), len(checks), failed_checks, attempts)
