"""`crawler run`: the long-running daemon.

What is due lives in the database, not in scheduler jobs: configured feeds are synced into the
store at start and on reload (`Store.sync_feeds`), and a few periodic jobs (`crawler.ticker`,
on the monotonic clock) claim due feed polls and due re-checks under leases
(`crawler.due_work`) and run each claimed unit as its own task, plus a status job, a
checkpoint when the store needs one, and the repair of stored due times after a wall-clock
step (`crawler.clockstep`: on every step the daemon sees, and once a minute). The
deliverer runs as its own task, woken whenever an event is stored, and claims due deliveries
the same way.

Stopping (SIGTERM/SIGINT): no new work is started, work in flight gets `DRAIN_SECONDS` to finish,
then is cancelled; the store's transactions are shielded, so a cancelled task never leaves a
version half-written. Undelivered events simply stay pending in the outbox.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import structlog

from crawler.app import App, Runtime
from crawler.clock import utc_now
from crawler.clockstep import ClockWatch
from crawler.config import ConfigError, Settings, load_config
from crawler.events import notify_endpoint_key
from crawler.logging_setup import configure_logging, reopen_log_files
from crawler.schedule import polls_due_under
from crawler.sdnotify import watchdog_interval, watchdog_loop
from crawler.store import Maintenance, maintenance_of

log = structlog.get_logger(__name__)

DRAIN_SECONDS = 25.0
CANCEL_SECONDS = 5.0
# How often due feed polls and re-checks are claimed: the most a due unit waits for its turn.
# A claim that finds nothing writes nothing.
CLAIM_EVERY = 1.0
CLAIM_JITTER = 0.5
# A first poll is spread over this much time (or the feed's interval, if shorter), so feeds
# added together are not all polled at the same instant, nor every interval after.
FIRST_POLL_SPREAD = 5.0
CHECKPOINT_EVERY = 600.0
MIN_SAFE_INTERVAL = 60.0
STATUS_EVERY = 30.0
# How often the wall clock is compared with the monotonic one (a step is repaired at once)...
CLOCK_WATCH_EVERY = 1.0
# ... and how often stored due times are clamped anyway (a step the watch could not see: one
# made by another daemon's clock on a shared store, or while this one was stopped).
CLAMP_EVERY = 60.0


async def run_daemon(settings: Settings, config_path: Path | None = None, *,
                     log_stream: TextIO | None = None,
                     clock: Callable[[], datetime] = utc_now,
                     stop: asyncio.Event | None = None) -> int:
    """`crawler run`: open every part, run until stopped (a signal, or `stop` set), close.

    `clock`: the wall clock due times are stored in (tests step it); the daemon's own timing
    never reads it, only the monotonic clock."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # While the store migrates and the parts open: a stop is kept for when they are open, a
    # reload has nothing to reload yet.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: log.info("reload_ignored",
                                                            reason="still starting"))
    try:
        async with App(settings, clock=clock, serving=True) as runtime:
            return await Daemon(runtime, config_path, log_stream=log_stream, stop=stop).run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            loop.remove_signal_handler(sig)


class Daemon:
    """The lifecycle of an opened runtime: signals, the periodic jobs, drain, watchdog and
    reload."""

    def __init__(self, runtime: Runtime, config_path: Path | None = None, *,
                 log_stream: TextIO | None = None, stop: asyncio.Event | None = None) -> None:
        self.runtime = runtime
        self.config_path = config_path
        self._log_stream = log_stream
        self.stop_event = stop or asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._clock_watch = ClockWatch(runtime.clock)

    # --- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self._spawn_reload)
        loop.add_signal_handler(signal.SIGUSR1, reopen_log_files)
        runtime = self.runtime
        async with runtime.feed_leases.renewing(), runtime.article_leases.renewing():
            settings = runtime.settings
            self._warn_short_intervals(settings)
            await runtime.store.sync_feeds(self._first_polls(settings, runtime.clock()),
                                           due_by=await self._polls_due(settings))
            deliverer_task = asyncio.create_task(
                runtime.deliverer.run(self.stop_event, runtime.delivery_wake), name="deliverer"
            )
            self._schedule_all(maintenance_of(runtime.store))
            runtime.ticker.start()
            watchdog = self._start_watchdog()
            await self._report_status()
            runtime.notifier.ready()
            log.info("daemon_started", feeds=len(settings.feeds),
                     webhooks=len(settings.webhooks),
                     database=runtime.store.describe(), lease_owner=runtime.owner)
            await self._warn_stranded(settings)
            await self.stop_event.wait()
            runtime.notifier.stopping()
            log.info("daemon_stopping", inflight=len(self._inflight))
            runtime.ticker.shutdown()
            await self._drain(deliverer_task)
            if watchdog is not None:
                await watchdog
        log.info("daemon_stopped")
        return 0

    def request_stop(self, reason: str = "request") -> None:
        if not self.stop_event.is_set():
            log.info("stop_requested", reason=reason)
            self.stop_event.set()

    async def _drain(self, deliverer_task: asyncio.Task[None]) -> None:
        """In-flight jobs and the deliverer's last attempts share one deadline, so the whole
        stop stays within DRAIN_SECONDS + CANCEL_SECONDS (below the unit's TimeoutStopSec)."""
        tasks = {*self._inflight, deliverer_task}
        _, pending = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("drain_deadline_passed", cancelled=len(pending))
            await asyncio.wait(pending, timeout=CANCEL_SECONDS)
        if deliverer_task.done() and not deliverer_task.cancelled():
            error = deliverer_task.exception()
            if error is not None:
                log.error("deliverer_crashed", error=repr(error))

    # --- health ------------------------------------------------------------------------------
    def _start_watchdog(self) -> asyncio.Task[None] | None:
        interval = watchdog_interval()
        notifier = self.runtime.notifier
        if interval is None or not notifier.enabled:
            return None
        return asyncio.create_task(
            watchdog_loop(notifier, interval, self.runtime.liveness.healthy, self.stop_event),
            name="watchdog",
        )

    async def _report_status(self) -> None:
        """Queue depths for /metrics and a one-line STATUS= for `systemctl status`."""
        runtime = self.runtime
        store = runtime.store
        articles = await store.count_articles()
        pending = await store.count_pending_deliveries()
        due = await store.count_due_articles(runtime.clock())
        runtime.metrics.set_queue_depths(pending_deliveries=pending, articles=articles,
                                         due_articles=due)
        runtime.notifier.status(f"{len(runtime.settings.feeds)} feeds, {articles} articles, "
                                f"{pending} deliveries pending")

    # --- jobs ----------------------------------------------------------------------------------
    def _tracked(
        self, name: str, work: Callable[[], Awaitable[Any]]
    ) -> Callable[[], Awaitable[None]]:
        """A job body whose work survives the scheduler's shutdown (which cancels running jobs)
        so that `_drain` can let it finish."""

        async def job() -> None:
            if self.stop_event.is_set():
                return
            task = asyncio.ensure_future(work())
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if self.stop_event.is_set():
                    # The scheduler's shutdown cancels running jobs; the work itself goes on
                    # (shielded, drained in `_drain`), so this is no error to report.
                    return
                raise
            except Exception:
                log.exception("job_crashed", job=name)

        return job

    def _schedule_all(self, maintenance: Maintenance | None) -> None:
        """The periodic jobs; a checkpoint only for a store whose `maintenance` needs one.
        Each runs one at a time, and runs missed while one was slow are coalesced."""
        ticker = self.runtime.ticker
        # Claims at a jittered beat: in a fleet, whose claim comes first after work falls due
        # changes from one second to the next, so no member's phase makes it win every time.
        for job_id, work in (("feeds", self._claim_feeds), ("recheck", self._claim_checks)):
            ticker.add(job_id, CLAIM_EVERY, self._tracked(job_id, work), jitter=CLAIM_JITTER)
        ticker.add("status", STATUS_EVERY, self._tracked("status", self._report_status),
                   first=STATUS_EVERY)
        ticker.add("clock", CLOCK_WATCH_EVERY, self._tracked("clock", self._watch_clock),
                   first=CLOCK_WATCH_EVERY)
        ticker.add("clamp", CLAMP_EVERY, self._tracked("clamp", self._clamp),
                   first=CLAMP_EVERY)
        if maintenance is not None:
            ticker.add("checkpoint", CHECKPOINT_EVERY,
                       self._tracked("checkpoint", maintenance.checkpoint),
                       first=CHECKPOINT_EVERY)

    async def _watch_clock(self) -> None:
        step = self._clock_watch.stepped()
        if step is not None:
            log.warning("clock_stepped", seconds=round(step, 1))
            await self._clamp()

    async def _clamp(self) -> None:
        await self.runtime.clamp_due_times()

    @staticmethod
    def _first_polls(settings: Settings, now: datetime) -> dict[str, datetime]:
        """When each configured feed is first polled, should the store not know it yet."""
        # Not security-relevant randomness: it only spreads first polls.
        return {f.url: now + timedelta(seconds=random.uniform(  # noqa: S311
                    0, min(FIRST_POLL_SPREAD, f.interval)))
                for f in settings.feeds}

    async def _polls_due(self, settings: Settings) -> dict[str, datetime]:
        """When `settings` has each known feed polled next (`schedule.polls_due_under`): a
        config edited while the daemon ran or was stopped shortens what it shortened."""
        return polls_due_under(settings.feeds, await self.runtime.store.list_feed_states())

    def _spawn(self, name: str, work: Awaitable[Any]) -> None:
        """Run one claimed unit as its own task, drained on stop like the jobs' work."""

        async def unit() -> None:
            try:
                await work
            except Exception:
                log.exception("job_crashed", job=name)

        task = asyncio.ensure_future(unit())
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _claim_feeds(self) -> None:
        """Claim due polls a few at a time (one at a time once polls run), with a short random
        pause between claims, longer the more polls run: the polls start at once, and a
        member of a fleet that is busy with their new articles stops claiming
        (`DueWork.claim_feeds`), so that idle members take the rest rather than whoever came
        first taking everything due. Ends when a claim finds nothing (nothing due, no room, or
        too busy)."""
        due = self.runtime.due
        while True:
            claimed = await due.claim_feeds()
            for state in claimed:
                self._spawn("poll", due.poll(state))
            if not claimed or self.stop_event.is_set():
                return
            # The more polls this daemon runs, the longer it leaves the next one to the other
            # members of a fleet (the one with the fewest claims fastest): claims alone do not
            # show the load in time, as a poll's work starts once its pages arrive. Alone, a
            # daemon whose polls end quickly still claims many a second. (Spread only, not
            # security.)
            pause = random.uniform(0.05, 0.15) * (1 + due.polls_running)  # noqa: S311
            await asyncio.sleep(min(pause, CLAIM_EVERY))

    async def _claim_checks(self) -> None:
        due = self.runtime.due
        for article in await due.claim_checks():
            self._spawn("check", due.check(article))

    # --- reload --------------------------------------------------------------------------------
    def _spawn_reload(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def reload(self) -> bool:
        """Re-read the config; an invalid one is logged and the running one kept."""
        if self.config_path is None:
            return False
        self.runtime.notifier.reloading()
        try:
            return await self._reload(self.config_path)
        finally:
            self.runtime.notifier.ready()

    async def _reload(self, config_path: Path) -> bool:
        """All of the new config or none of it: every step that can fail runs before the new
        settings are used, and those already taken are undone when a later one fails. The
        keys a reload cannot change (storage, http) are named in a warning and kept."""
        runtime = self.runtime
        old = runtime.settings
        try:
            new = await asyncio.to_thread(load_config, config_path)
        except ConfigError as exc:
            log.error("reload_rejected", config=str(config_path), error=str(exc))
            return False
        for key in ("storage", "http"):
            if getattr(new, key) != getattr(old, key):
                log.warning("reload_needs_restart", key=key,
                            reason=f"[{key}] changes only on restart; the running one is kept")
                new = new.model_copy(update={key: getattr(old, key)})
        changed = [key for key in type(new).model_fields if getattr(new, key) != getattr(old, key)]
        fetcher = (await runtime.fetchers.open_another(new.fetch)
                   if new.fetch != old.fetch else None)
        try:
            # ValueError: a secret that is not valid base64.
            targets = runtime.deliverer.prepare(new.webhooks, new.delivery, notify=new.notify,
                                                user_agent=new.fetch.user_agent)
            await self._apply(old, new)
        except Exception as exc:
            if fetcher is not None:
                await fetcher.close()
            log.error("reload_rejected", config=str(config_path), error=str(exc),
                      note="the running config is kept whole")
            return False
        # From here nothing can fail: the new config is in force at once, everywhere.
        runtime.use(new, fetcher, targets)
        await self._clamp_after_reload()
        self._warn_short_intervals(new)
        await self._warn_stranded(new)
        old_urls = {f.url for f in old.feeds}
        new_urls = {f.url for f in new.feeds}
        log.info("config_reloaded", feeds=len(new.feeds), webhooks=len(new.webhooks),
                 added=len(new_urls - old_urls), removed=len(old_urls - new_urls),
                 changed=changed)
        return True

    async def _apply(self, old: Settings, new: Settings) -> None:
        """The reload's steps that change something outside the runtime and can fail; the
        logging is set back if the feeds cannot be synced."""
        configure_logging(new.logging, stream=self._log_stream)  # OSError: a log file
        try:
            # Removed feeds are no longer claimed (a poll in flight finishes); added ones are
            # due soon; the others keep their next poll, backoff and ttl included, unless the
            # new config gives a sooner one.
            now = self.runtime.clock()
            await self.runtime.store.sync_feeds(self._first_polls(new, now),
                                                due_by=await self._polls_due(new))
        except BaseException:
            configure_logging(old.logging, stream=self._log_stream)
            raise

    async def _clamp_after_reload(self) -> None:
        """Shortened intervals (re-checks, retries) are in force for what is already due
        later: no due time stays beyond the largest gap the new config gives (the clamp a
        wall-clock step gets, `crawler.clockstep`). The new config is in force already; a
        store that cannot take the write is logged, the next start clamps again."""
        try:
            await self.runtime.clamp_due_times()
        except Exception:
            log.exception("due_times_not_clamped")

    async def _warn_stranded(self, settings: Settings) -> None:
        """Deliveries waiting for an endpoint the config no longer has are never attempted:
        say so, with how to move them (a webhook URL whose token was rotated, say)."""
        configured = {hook.url for hook in settings.webhooks}
        configured |= {notify_endpoint_key(n.url) for n in settings.notify}
        try:
            unsent = await self.runtime.store.count_unsent_by_endpoint()
        except Exception:
            log.exception("stranded_deliveries_unknown")
            return
        for url, count in sorted(unsent.items()):
            if url not in configured:
                log.warning("deliveries_stranded", endpoint=url, deliveries=count,
                            reason="no configured endpoint has this URL any more",
                            fix="crawler deliveries retarget --from OLD_URL --to NEW_URL")

    @staticmethod
    def _warn_short_intervals(settings: Settings) -> None:
        for feed in settings.feeds:
            if feed.interval < MIN_SAFE_INTERVAL:
                log.warning("short_interval", feed=feed.url, interval_s=feed.interval,
                            reason="below one minute: meant for testing against local servers")

