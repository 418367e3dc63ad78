"""The webhook deliverer: drains the outbox (pending deliveries in the store) to the endpoints.

Every event is stored with its deliveries before anything is sent; this module only reads due
deliveries, POSTs them, and records each attempt in its own transaction. Delivery is at least
once: a crash between a 2xx and its record means one more POST with the same `webhook-id`,
which receivers use to drop duplicates.

Endpoints are independent: each has its own loop and at most `concurrency_per_endpoint` POSTs
in flight, so a dead or slow endpoint only ever delays its own deliveries. Targets come only
from the operator's config (`[[webhooks]]`, and `[[notify]]` whose deliveries are named
"apprise:<hex>" in the outbox and sent through Apprise, see `senders`): a delivery whose
endpoint is not configured is left pending and never sent, and redirects are never followed.

Due deliveries are claimed with a lease (`Store.claim_due_deliveries`), renewed while they are
sent and completed by the attempt's record, so another daemon on the same store never sends
the same delivery at the same time; claims not attempted (a stop, a pause) are given back.

Endpoint health (`health`, persisted in the store): an endpoint failing for longer than
`delivery.pause_after` is paused and only probed once per `delivery.probe_every`; a 2xx
resumes it. A 410 disables it until `crawler deliveries resume`. The store is re-read before
each pass, so a resume by command reaches a running daemon within a minute (at once on SIGHUP).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import structlog

from crawler.clock import utc_now
from crawler.config import DEFAULT_USER_AGENT, DeliverySettings, NotifySettings, WebhookSettings
from crawler.events import notify_endpoint_key
from crawler.kinds import EndpointState
from crawler.leases import DEFAULT_TIMING, LeaseKeeper, new_owner
from crawler.metrics import Metrics
from crawler.models import Delivery
from crawler.redact import bare_url
from crawler.store.base import Store
from crawler.webhooks import health
from crawler.webhooks.attempts import Attempts, Endpoint
from crawler.webhooks.senders import AppriseSender, Sender, WebhookSender
from crawler.webhooks.signing import Signer

log = structlog.get_logger(__name__)

_IDLE_RECHECK = 60.0
"""Longest sleep with nothing due: a safety net should a `wake` be missed."""
_ERROR_PAUSE = 5.0
"""Pause of an endpoint loop after a store error, so a broken database is not hammered."""
_UNKNOWN_SCAN = 200
"""How many due deliveries are scanned for endpoints missing from the config."""


@dataclass(frozen=True, slots=True)
class Targets:
    """A config's delivery endpoints, checked (`Deliverer.prepare`), to be put in force in
    one step (`Deliverer.use`)."""

    delivery: DeliverySettings
    senders: Mapping[str, tuple[str, Sender]]
    """Outbox name: (how it is logged, where its deliveries go)."""
    user_agent: str


class Deliverer:
    """Sends pending deliveries. `run_once()` for one pass (`crawler once`), `run()` for the
    daemon. `clock` drives scheduling (due times, retry times); `signing_clock` gives the
    `webhook-timestamp`, which receivers compare with their own wall clock."""

    def __init__(
        self,
        store: Store,
        webhooks: Sequence[WebhookSettings],
        delivery: DeliverySettings,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        signing_clock: Callable[[], datetime] = utc_now,
        user_agent: str = DEFAULT_USER_AGENT,
        notify: Sequence[NotifySettings] = (),
        metrics: Metrics | None = None,
        leases: LeaseKeeper | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`leases`: the process's delivery claims (the composition root's owner); None
        gives the deliverer a lease owner of its own. `monotonic`: how long failure streaks
        last (never the wall clock, which steps)."""
        self._store = store
        self._leases = leases or LeaseKeeper(store, "delivery", new_owner(), clock=clock,
                                             timing=DEFAULT_TIMING)
        self._attempts = Attempts(store, self._leases, delivery, clock=clock,
                                  monotonic=monotonic,
                                  # Jitter, not cryptography.
                                  rng=rng or random.Random(),  # noqa: S311
                                  metrics=metrics)
        self._session = session
        self._clock = clock
        self._signing_clock = signing_clock
        self._user_agent = user_agent
        self._warned_unknown: set[str] = set()
        self._endpoints: dict[str, Endpoint] = {}
        self._loop_tasks: set[asyncio.Task[None]] = set()
        self._stop: asyncio.Event | None = None
        self.replace_webhooks(webhooks, delivery, notify=notify)

    def replace_webhooks(
        self, webhooks: Sequence[WebhookSettings], delivery: DeliverySettings, *,
        notify: Sequence[NotifySettings] = (), user_agent: str | None = None,
    ) -> None:
        """`prepare` and `use` in one. Raises ValueError for a secret that is not valid
        base64, changing nothing."""
        self.use(self.prepare(webhooks, delivery, notify=notify, user_agent=user_agent))

    def prepare(
        self, webhooks: Sequence[WebhookSettings], delivery: DeliverySettings, *,
        notify: Sequence[NotifySettings] = (), user_agent: str | None = None,
    ) -> Targets:
        """A config's endpoints, checked and ready for `use`; changes nothing. Raises
        ValueError for a secret that is not valid base64."""
        user_agent = user_agent or self._user_agent
        # The config names each webhook URL once.
        senders: dict[str, tuple[str, Sender]] = {
            hook.url: (bare_url(hook.url), WebhookSender(
                self._session, hook.url, Signer(hook.secret), user_agent, self._signing_clock))
            for hook in webhooks}
        for entry in notify:
            key = notify_endpoint_key(entry.url)
            if key in senders:
                log.warning("notify_listed_twice", endpoint=key)
                continue
            senders[key] = (key, AppriseSender(entry.url))
        return Targets(delivery, senders, user_agent)

    def use(self, targets: Targets) -> None:
        """Deliver to `targets` from now on, also while `run()` runs; cannot fail: new
        endpoints start, removed ones stop after their attempts in flight, changed secrets
        sign the next attempt. Paused or disabled endpoints stay so (that state is in the
        store); every loop re-reads it now."""
        delivery = targets.delivery
        self._user_agent = targets.user_agent
        self._attempts.settings = delivery
        self._batch = max(4 * delivery.concurrency_per_endpoint, 16)
        wanted: dict[str, Endpoint] = {}
        for url, (log_url, sender) in targets.senders.items():
            endpoint = self._endpoints.get(url) or Endpoint(url, log_url, sender,
                                                            EndpointState(url))
            endpoint.sender = sender
            wanted[url] = endpoint
        for endpoint in self._endpoints.values():
            endpoint.retired = endpoint.url not in wanted
            endpoint.poke.set()
        self._endpoints = wanted
        if self._stop is not None:
            self._start_loops(self._stop)

    # --- one pass ----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Attempt every delivery due now, once, all endpoints in parallel (a paused endpoint:
        its probe, if one is due). Returns the number of attempts made. Raises what the store
        raises."""
        now = self._clock()
        await self._warn_unknown_endpoints(now)
        endpoints = list(self._endpoints.values())
        async with self._leases.renewing():
            counts = await asyncio.gather(*(self._drain(ep, now, None) for ep in endpoints))
        return sum(counts)

    async def _claim(self, ep: Endpoint, now: datetime, limit: int) -> list[Delivery]:
        keeper = self._leases
        claimed = await self._store.claim_due_deliveries(
            keeper.owner, now, limit=limit, lease_seconds=keeper.timing.seconds,
            endpoints=(ep.url,))
        keeper.hold(d.delivery_id for d in claimed)
        return claimed

    async def _refresh(self, ep: Endpoint) -> None:
        """Re-read the endpoint's health: a `crawler deliveries resume` in another process
        changes it."""
        stored = {s.url: s for s in await self._store.list_endpoint_states()}
        state = stored.get(ep.url, EndpointState(ep.url))
        if (ep.state.paused or ep.state.disabled) and state.sending:
            log.info("endpoint_resumed", endpoint=ep.log_url, by="command")
        ep.state = state

    async def _drain(self, ep: Endpoint, now: datetime, stop: asyncio.Event | None) -> int:
        """Attempt each delivery to `ep` due at `now` once; stops early when the endpoint is
        paused or disabled, or `stop` is set. A paused endpoint gets its probe when one is
        due, and is drained when the probe succeeds."""
        await self._refresh(ep)
        if ep.retired or ep.state.disabled:
            return 0
        total = 0
        if ep.state.paused:
            total = await self._probe(ep, now)
            if not ep.sending:
                return total
        attempted: set[int] = set()
        while ep.sending and not (stop is not None and stop.is_set()):
            batch = await self._claim(ep, now, self._batch)
            # Ids already tried in this pass are skipped (and given back): a zero retry gap
            # must not loop here.
            # An attempt whose record is still being written is not made again.
            fresh = [d for d in batch if d.delivery_id not in attempted
                     and d.delivery_id not in self._attempts.recording]
            await self._leases.release(d.delivery_id for d in batch
                                       if d.delivery_id in attempted)
            if not fresh:
                break
            attempted.update(d.delivery_id for d in fresh)
            # Claimed again even after a short batch: a delivery held back behind an earlier
            # one of its article (the store keeps each article's order) may be due now.
            total += await self._attempt_all(ep, fresh, stop)
        return total

    async def _probe(self, ep: Endpoint, now: datetime) -> int:
        """One attempt of the paused endpoint's oldest due delivery, if its probe is due."""
        if not health.may_probe(ep.state, now):
            return 0
        batch = await self._claim(ep, now, 1)
        if not batch:
            return 0
        change = functools.partial(health.probe_sent, at=now,
                                   probe_every=self._attempts.settings.probe_every)
        try:
            ep.state = (await self._store.update_endpoint_state(ep.url, change)).after
        except BaseException:
            await self._leases.release([batch[0].delivery_id])
            raise
        log.info("endpoint_probe", endpoint=ep.log_url, event_id=batch[0].event_id,
                 next_probe_at=ep.state.next_probe_at)
        await self._attempts.attempt(ep, batch[0])
        return 1

    async def _attempt_all(
        self, ep: Endpoint, deliveries: list[Delivery], stop: asyncio.Event | None
    ) -> int:
        pending: Iterator[Delivery] = iter(deliveries)
        started: set[int] = set()
        made = 0

        async def worker() -> None:
            nonlocal made
            # Workers share one iterator: each takes the next delivery when it is free.
            for delivery in pending:
                if not ep.sending or (stop is not None and stop.is_set()):
                    return
                started.add(delivery.delivery_id)
                await self._attempts.attempt(ep, delivery)
                made += 1

        workers = min(self._attempts.settings.concurrency_per_endpoint, len(deliveries))
        try:
            results = await asyncio.gather(*(worker() for _ in range(workers)),
                                           return_exceptions=True)
        finally:
            # Claimed but never attempted (a stop, a pause): due again at once, for anyone.
            await self._leases.release(d.delivery_id for d in deliveries
                                       if d.delivery_id not in started)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return made

    async def _warn_unknown_endpoints(self, now: datetime) -> None:
        """Log once per URL when due deliveries name an endpoint that is not configured (it
        was removed from the config): they stay pending and are never sent elsewhere."""
        for delivery in await self._store.due_deliveries(now, _UNKNOWN_SCAN):
            url = delivery.endpoint_url
            if url not in self._endpoints and url not in self._warned_unknown:
                self._warned_unknown.add(url)
                log.warning("delivery_endpoint_not_configured", endpoint=bare_url(url),
                            event_id=delivery.event_id, note="kept pending, not sent")

    # --- the daemon loop ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set. `wake` (set by whoever stores new events) starts a pass
        at once instead of at the next due time. On stop no new attempt starts; attempts in
        flight finish within the delivery timeout."""
        try:
            await self._warn_unknown_endpoints(self._clock())
        except Exception:
            log.exception("delivery_scan_failed")
        self._stop = stop
        self._start_loops(stop)
        relay = asyncio.create_task(self._relay_wake(wake, stop)) if wake is not None else None
        async with self._leases.renewing():
            await self._deliver_until(stop, relay)

    async def _deliver_until(self, stop: asyncio.Event,
                             relay: asyncio.Task[None] | None) -> None:
        try:
            await stop.wait()
            # In-flight POSTs end by their own timeout; the margin covers recording them.
            if self._loop_tasks:
                _, late = await asyncio.wait(self._loop_tasks,
                                             timeout=self._attempts.settings.timeout + 5.0)
                for task in late:
                    task.cancel()
        finally:
            self._stop = None
            tasks = [*self._loop_tasks, *([relay] if relay is not None else [])]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _start_loops(self, stop: asyncio.Event) -> None:
        for ep in self._endpoints.values():
            if ep.loop is None or ep.loop.done():
                ep.loop = asyncio.create_task(self._endpoint_loop(ep, stop),
                                              name=f"deliver {ep.log_url}")
                self._loop_tasks.add(ep.loop)
                ep.loop.add_done_callback(self._loop_tasks.discard)

    async def _relay_wake(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        """Fan one shared `wake` out to every endpoint loop."""
        while not stop.is_set():
            await _first_of(wake, stop, within=None)
            if wake.is_set():
                wake.clear()
                for ep in self._endpoints.values():
                    ep.poke.set()

    async def _endpoint_loop(self, ep: Endpoint, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if ep.retired:
                return  # removed from the config: its deliveries stay pending
            try:
                await self._drain(ep, self._clock(), stop)
                delay = await self._delay_until_due(ep)
            except Exception:
                log.exception("delivery_loop_error", endpoint=ep.log_url)
                delay = _ERROR_PAUSE
            if delay > 0:
                await _first_of(ep.poke, stop, within=delay)
            ep.poke.clear()

    async def _delay_until_due(self, ep: Endpoint) -> float:
        """Until the next attempt (a paused endpoint: its next probe), at most a minute, so
        a resume by command is seen."""
        if ep.state.disabled:
            return _IDLE_RECHECK
        due = await self._store.next_delivery_due(endpoints=(ep.url,))
        if due is None:
            return _IDLE_RECHECK
        if ep.state.paused and ep.state.next_probe_at is not None:
            due = max(due, ep.state.next_probe_at)
        return min(max((due - self._clock()).total_seconds(), 0.0), _IDLE_RECHECK)


async def _first_of(a: asyncio.Event, b: asyncio.Event, *, within: float | None) -> None:
    """Wait until either event is set, or `within` seconds (None: no limit)."""
    waiters = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
