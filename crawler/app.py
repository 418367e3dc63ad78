"""The composition root: builds every part a process needs from the settings, hands them to
each other, and gives back the opened `Runtime`.

No module keeps global state; everything the daemon and the commands use is built here and
closed here, in reverse order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime
from types import TracebackType

import aiohttp
import structlog

from crawler import leases
from crawler.budget import DEFAULT_BUDGET, Budget, Offload
from crawler.clock import utc_now
from crawler.config import Settings
from crawler.due_work import DueWork
from crawler.httpapi import HttpApi, parse_listen
from crawler.leases import LeaseKeeper, LeaseTiming
from crawler.liveness import Liveness
from crawler.metrics import Metrics
from crawler.pipeline import Pipeline
from crawler.runtime import CurrentSettings, Fetchers, PassSummary, Runtime
from crawler.sdnotify import Notifier
from crawler.store import Store, open_store
from crawler.ticker import Ticker
from crawler.webhooks.deliverer import Deliverer
from crawler.workers import WorkerPool

__all__ = ["App", "PassSummary", "Runtime"]

log = structlog.get_logger(__name__)

# Worker processes for hostile pages and huge diffs (`crawler.budget`).
WORKERS = 1


class App:
    """`async with App(settings) as runtime`: every part opened, closed again on exit.

    `serving`: a long-running process (`crawler run`), which serves `[http]`, tells systemd
    how it is doing and counts the process's own resources in its metrics; a pass (`crawler
    once`) does none of that.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                 owner: str | None = None, lease_timing: LeaseTiming | None = None,
                 budget: Budget = DEFAULT_BUDGET, serving: bool = False) -> None:
        self._settings = settings
        self._clock = clock
        self._owner = owner or leases.new_owner()
        self._timing = lease_timing or leases.DEFAULT_TIMING
        self._budget = budget
        self._serving = serving
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Runtime:
        try:
            return await self._open()
        except BaseException:
            await self._stack.aclose()
            raise

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stack.aclose()

    async def _open(self) -> Runtime:
        settings, clock, stack = self._settings, self._clock, self._stack
        # The daemon's store: migrated at start under the store's lock (a store that admits
        # one daemon at a time keeps it for the whole run).
        store = open_store(settings.storage, readonly=False, daemon=True)
        stack.push_async_callback(store.close)
        await store.migrate()
        await store.open()
        keepers = [LeaseKeeper(store, kind, self._owner, clock=clock, timing=self._timing)
                   for kind in ("feed", "article", "delivery")]
        # Work claimed and not finished at exit is given back, due at once for whoever
        # comes next, rather than waiting for its leases to expire.
        stack.push_async_callback(_release_leases, keepers)
        # One worker: a hostile page is rare, and two would take both cores of a small
        # machine from the loop and the database. Started on first use only.
        workers = WorkerPool(size=WORKERS)
        stack.push_async_callback(workers.close)
        fetchers = await Fetchers.open(settings.fetch, store, self._owner)
        stack.push_async_callback(fetchers.close)
        # Webhook targets are the operator's own (often internal) endpoints, so they get a
        # session of their own, without the fetcher's private-address guard.
        webhook_session = await stack.enter_async_context(
            aiohttp.ClientSession(headers={"User-Agent": settings.fetch.user_agent}))
        metrics = Metrics(process_metrics=self._serving)
        wake = asyncio.Event()
        current = CurrentSettings(settings)
        deliverer = Deliverer(store, settings.webhooks, settings.delivery, webhook_session,
                              clock=clock, user_agent=settings.fetch.user_agent,
                              notify=settings.notify, metrics=metrics, leases=keepers[2])
        pipeline = Pipeline(settings, store, fetchers.current, clock=clock, on_event=wake.set,
                            metrics=metrics, offload=Offload(workers, self._budget))
        due = DueWork(pipeline, feeds=keepers[0], articles=keepers[1],
                      settings=lambda: current.value, clock=clock)
        ticker = Ticker()
        liveness = Liveness(store, ticker)
        runtime = Runtime(
            current=current, store=store, clock=clock, owner=self._owner,
            feed_leases=keepers[0], article_leases=keepers[1], delivery_leases=keepers[2],
            fetchers=fetchers, pipeline=pipeline, deliverer=deliverer, delivery_wake=wake,
            due=due, metrics=metrics,
            notifier=Notifier.from_env() if self._serving else Notifier(None),
            ticker=ticker, liveness=liveness)
        await runtime.clamp_due_times()
        if self._serving and settings.http.listen:
            await self._serve_http(settings, store, metrics, liveness)
        return runtime

    async def _serve_http(self, settings: Settings, store: Store, metrics: Metrics,
                          liveness: Liveness) -> None:
        host, port = parse_listen(settings.http.listen)
        api = HttpApi(host, port, metrics, liveness.check, store=store,
                      token=settings.http.token)
        await api.start()
        self._stack.push_async_callback(api.stop)
        log.info("http_listening", host=host, port=api.port)


async def _release_leases(keepers: list[LeaseKeeper]) -> None:
    for keeper in keepers:
        try:
            await keeper.release_all()
        except Exception:
            log.exception("lease_release_failed", kind=keeper.kind)
