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
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import structlog

from crawler.config import DEFAULT_USER_AGENT, DeliverySettings, NotifySettings, WebhookSettings
from crawler.events import notify_endpoint_key
from crawler.kinds import EndpointState
from crawler.leases import DEFAULT_TIMING, LeaseKeeper, new_owner
from crawler.metrics import Metrics
from crawler.models import Delivery
from crawler.store.base import LeaseLostError, Store
from crawler.store.write_health import is_storage_fault
from crawler.webhooks import health
from crawler.webhooks.retry import Decision, decide
from crawler.webhooks.senders import Answer, loggable_url, post_webhook, send_apprise
from crawler.webhooks.signing import Signer

__all__ = ["Deliverer", "loggable_url", "utc_now"]

log = structlog.get_logger(__name__)

_IDLE_RECHECK = 60.0
"""Longest sleep with nothing due: a safety net should a `wake` be missed."""
_ERROR_PAUSE = 5.0
"""Pause of an endpoint loop after a store error, so a broken database is not hammered."""
_UNKNOWN_SCAN = 200
# The first and the longest pause before recording an answered attempt again (seconds).
RECORD_RETRY_FIRST = 0.5
RECORD_RETRY_LONGEST = 30.0
"""How many due deliveries are scanned for endpoints missing from the config."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Endpoint:
    url: str
    """The outbox name: the webhook URL, or "apprise:<hex>" for a `[[notify]]` target."""
    log_url: str
    signer: Signer | None = None
    apprise_url: str | None = None
    """Set for a `[[notify]]` target (carries tokens: never logged)."""
    state: EndpointState = field(default_factory=lambda: EndpointState(""))
    retired: bool = False
    """Removed from the config by a reload: its loop ends after the attempts in flight."""
    poke: asyncio.Event = field(default_factory=asyncio.Event)
    loop: asyncio.Task[None] | None = None
    failing_since_mono: float | None = None
    """The deliverer's monotonic time of the first failure this process saw in the current
    streak: the streak's length for pausing, immune to wall-clock steps."""

    @property
    def sending(self) -> bool:
        """Due deliveries flow normally (not retired, paused or disabled)."""
        return not self.retired and self.state.sending


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
        self._monotonic = monotonic
        self._store = store
        self._leases = leases or LeaseKeeper(store, "delivery", new_owner(), clock=clock,
                                             timing=DEFAULT_TIMING)
        self._metrics = metrics
        self._session = session
        self._clock = clock
        self._signing_clock = signing_clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._user_agent = user_agent
        self._warned_unknown: set[str] = set()
        # Deliveries answered whose record the store has not taken yet (see `_record`).
        self._recording: set[int] = set()
        self._endpoints: dict[str, _Endpoint] = {}
        self._loop_tasks: set[asyncio.Task[None]] = set()
        self._stop: asyncio.Event | None = None
        self.replace_webhooks(webhooks, delivery, notify=notify)

    def replace_webhooks(
        self, webhooks: Sequence[WebhookSettings], delivery: DeliverySettings, *,
        notify: Sequence[NotifySettings] = (), user_agent: str | None = None,
    ) -> None:
        """Apply a reloaded config, also while `run()` runs: new endpoints start, removed ones
        stop after their attempts in flight, changed secrets sign the next attempt. Paused or
        disabled endpoints stay so (that state is in the store); every loop re-reads it now.
        Raises ValueError for a secret that is not valid base64."""
        signers = {hook.url: Signer(hook.secret) for hook in webhooks}  # validate all first
        self._settings = delivery
        if user_agent is not None:
            self._user_agent = user_agent
        self._batch = max(4 * delivery.concurrency_per_endpoint, 16)
        wanted: dict[str, _Endpoint] = {}
        for hook in webhooks:
            if hook.url in wanted:
                log.warning("webhook_listed_twice", endpoint=loggable_url(hook.url))
                continue
            endpoint = self._endpoints.get(hook.url) or _Endpoint(
                hook.url, loggable_url(hook.url), state=EndpointState(hook.url))
            endpoint.signer, endpoint.apprise_url = signers[hook.url], None
            wanted[hook.url] = endpoint
        for entry in notify:
            key = notify_endpoint_key(entry.url)
            if key in wanted:
                log.warning("notify_listed_twice", endpoint=key)
                continue
            endpoint = self._endpoints.get(key) or _Endpoint(key, key, state=EndpointState(key))
            endpoint.signer, endpoint.apprise_url = None, entry.url
            wanted[key] = endpoint
        for endpoint in self._endpoints.values():
            endpoint.retired = endpoint.url not in wanted
            endpoint.poke.set()
        self._endpoints = wanted
        if self._stop is not None:
            self._start_loops(self._stop)

    @property
    def disabled_endpoints(self) -> list[str]:
        """Endpoints that answered 410 (as last read from the store); not attempted until
        `crawler deliveries resume`."""
        return [ep.url for ep in self._endpoints.values() if ep.state.disabled]

    @property
    def paused_endpoints(self) -> list[str]:
        """Endpoints paused after failing for `delivery.pause_after`; probed, not drained."""
        return [ep.url for ep in self._endpoints.values() if ep.state.paused]

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

    async def _claim(self, ep: _Endpoint, now: datetime, limit: int) -> list[Delivery]:
        keeper = self._leases
        claimed = await self._store.claim_due_deliveries(
            keeper.owner, now, limit=limit, lease_seconds=keeper.timing.seconds,
            endpoints=(ep.url,))
        keeper.hold(d.delivery_id for d in claimed)
        return claimed

    async def _refresh(self, ep: _Endpoint) -> None:
        """Re-read the endpoint's health: a `crawler deliveries resume` in another process
        changes it."""
        stored = {s.url: s for s in await self._store.list_endpoint_states()}
        state = stored.get(ep.url, EndpointState(ep.url))
        if (ep.state.paused or ep.state.disabled) and state.sending:
            log.info("endpoint_resumed", endpoint=ep.log_url, by="command")
        ep.state = state

    async def _drain(self, ep: _Endpoint, now: datetime, stop: asyncio.Event | None) -> int:
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
                     and d.delivery_id not in self._recording]
            await self._leases.release(d.delivery_id for d in batch
                                       if d.delivery_id in attempted)
            if not fresh:
                break
            attempted.update(d.delivery_id for d in fresh)
            # Claimed again even after a short batch: a delivery held back behind an earlier
            # one of its article (the store keeps each article's order) may be due now.
            total += await self._attempt_all(ep, fresh, stop)
        return total

    async def _probe(self, ep: _Endpoint, now: datetime) -> int:
        """One attempt of the paused endpoint's oldest due delivery, if its probe is due."""
        if not health.may_probe(ep.state, now):
            return 0
        batch = await self._claim(ep, now, 1)
        if not batch:
            return 0
        change = functools.partial(health.probe_sent, at=now,
                                   probe_every=self._settings.probe_every)
        try:
            ep.state = (await self._store.update_endpoint_state(ep.url, change)).after
        except BaseException:
            await self._leases.release([batch[0].delivery_id])
            raise
        log.info("endpoint_probe", endpoint=ep.log_url, event_id=batch[0].event_id,
                 next_probe_at=ep.state.next_probe_at)
        await self._attempt(ep, batch[0])
        return 1

    async def _attempt_all(
        self, ep: _Endpoint, deliveries: list[Delivery], stop: asyncio.Event | None
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
                await self._attempt(ep, delivery)
                made += 1

        workers = min(self._settings.concurrency_per_endpoint, len(deliveries))
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

    async def _send(self, ep: _Endpoint, delivery: Delivery) -> Answer:
        within = self._settings.timeout
        if ep.apprise_url is not None:
            return await send_apprise(ep.apprise_url, delivery, within=within)
        assert ep.signer is not None
        return await post_webhook(self._session, ep.url, ep.signer, delivery,
                                  signed_at=self._signing_clock(), user_agent=self._user_agent,
                                  within=within)

    async def _attempt(self, ep: _Endpoint, delivery: Delivery) -> None:
        """One send and its record (which completes the delivery's claim), then the
        endpoint's health. Raises only if the store cannot record it."""
        try:
            await self._attempt_claimed(ep, delivery)
        finally:
            self._leases.done(delivery.delivery_id)

    async def _attempt_claimed(self, ep: _Endpoint, delivery: Delivery) -> None:
        attempted_at = self._clock()
        started = time.monotonic()
        answer = await self._send(ep, delivery)
        duration_ms = (time.monotonic() - started) * 1000
        attempt_no = delivery.attempts + 1
        decision = Decision("delivered", None, None) if answer.ok else decide(
            status=answer.status, error=answer.error, retry_after=answer.retry_after,
            attempts_made=attempt_no, schedule=self._settings.retry_schedule,
            now=self._clock(), rng=self._rng,
        )
        if self._metrics is not None:
            self._metrics.delivery_attempted(decision.outcome, duration_ms / 1000)
        try:
            await self._record(ep, delivery, functools.partial(
                self._store.record_delivery_attempt,
                delivery.delivery_id, attempted_at=attempted_at, status_code=answer.status,
                error=decision.error, duration_ms=duration_ms, outcome=decision.outcome,
                next_attempt_at=decision.next_attempt_at, lease_owner=self._leases.owner,
            ))
        except LeaseLostError:
            # Sent once more than needed (receivers drop it by webhook-id); the daemon that
            # took the claim over records its own attempt.
            log.warning("lease_lost", kind="delivery", key=delivery.delivery_id,
                        event_id=delivery.event_id, endpoint=ep.log_url,
                        owner=self._leases.owner, outcome=decision.outcome,
                        note="the delivery was taken over after its lease expired; "
                             "this attempt is not recorded")
            return
        log.info(
            "delivery_attempt", event_id=delivery.event_id, endpoint=ep.log_url,
            status=answer.status, ms=round(duration_ms, 1), outcome=decision.outcome,
            attempt=attempt_no, error=decision.error, next_attempt_at=decision.next_attempt_at,
        )
        if decision.outcome == "failed":
            log.error(
                "delivery_failed", event_id=delivery.event_id, endpoint=ep.log_url,
                attempts=attempt_no, last_status=answer.status, last_error=decision.error,
            )
        await self._note_health(ep, decision, attempted_at, delivery.event_id)

    async def _record(self, ep: _Endpoint, delivery: Delivery,
                      write: Callable[[], Awaitable[None]]) -> None:
        """Record an attempt that was answered. A store that cannot write (a full disk) is
        asked again, with a growing pause, until it can: the attempt was made, and sending it
        again because its record failed would deliver an acknowledged event twice. The
        delivery stays claimed meanwhile and is not attempted again by this process."""
        pause = RECORD_RETRY_FIRST
        self._recording.add(delivery.delivery_id)
        try:
            while True:
                try:
                    await write()
                    return
                except LeaseLostError:
                    raise
                except Exception as exc:
                    if not is_storage_fault(exc):
                        raise
                    log.error("delivery_not_recorded", event_id=delivery.event_id,
                              endpoint=ep.log_url, error=str(exc), retry_in=pause,
                              note="the attempt was made; it is recorded again, not sent again")
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RECORD_RETRY_LONGEST)
        finally:
            self._recording.discard(delivery.delivery_id)

    async def _note_health(self, ep: _Endpoint, decision: Decision, at: datetime,
                           event_id: str) -> None:
        failing = decision.outcome in ("retry", "failed")
        if not failing:
            ep.failing_since_mono = None
        elif ep.failing_since_mono is None:
            ep.failing_since_mono = self._monotonic()
        if decision.outcome == "delivered" and ep.state == EndpointState(ep.url):
            return  # the common case: healthy and staying so, no write needed
        change = functools.partial(
            health.after_attempt, outcome=decision.outcome, at=at, error=decision.error,
            pause_after=self._settings.pause_after, probe_every=self._settings.probe_every,
            failing_for=(self._monotonic() - ep.failing_since_mono
                         if ep.failing_since_mono is not None else None),
        )
        moved = await self._store.update_endpoint_state(ep.url, change)
        ep.state = moved.after
        if moved.paused:
            log.error("endpoint_paused", endpoint=ep.log_url, since=moved.after.failing_since,
                      reason=moved.after.reason, next_probe_at=moved.after.next_probe_at,
                      note="pending deliveries kept; one probe per delivery.probe_every; "
                           "`crawler deliveries resume --endpoint` resumes it")
        if moved.resumed:
            log.info("endpoint_resumed", endpoint=ep.log_url, by="probe",
                     paused_at=moved.before.paused_at)
        if (decision.outcome == "delivered" and moved.after.sending
                and (moved.before.failing_since is not None or moved.before.paused)):
            await self._recovered(ep, moved.before.failing_since)
        if moved.disabled:
            log.error("webhook_endpoint_disabled", endpoint=ep.log_url, event_id=event_id,
                      reason="HTTP 410 Gone",
                      note="pending deliveries kept; not attempted until "
                           "`crawler deliveries resume --endpoint`")

    async def _recovered(self, ep: _Endpoint, since: datetime | None) -> None:
        """The endpoint answered 2xx after failing: the deliveries waiting for a later rung
        of the retry ladder are due now (the store keeps each article's order), so an
        outage of seconds costs seconds, not the next rung's minutes."""
        hastened = await self._store.hasten_deliveries(ep.url, now=self._clock())
        log.info("endpoint_recovered", endpoint=ep.log_url, failing_since=since,
                 deliveries_due_now=hastened)
        ep.poke.set()

    async def _warn_unknown_endpoints(self, now: datetime) -> None:
        """Log once per URL when due deliveries name an endpoint that is not configured (it
        was removed from the config): they stay pending and are never sent elsewhere."""
        for delivery in await self._store.due_deliveries(now, _UNKNOWN_SCAN):
            url = delivery.endpoint_url
            if url not in self._endpoints and url not in self._warned_unknown:
                self._warned_unknown.add(url)
                log.warning("delivery_endpoint_not_configured", endpoint=loggable_url(url),
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
                                             timeout=self._settings.timeout + 5.0)
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

    async def _endpoint_loop(self, ep: _Endpoint, stop: asyncio.Event) -> None:
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

    async def _delay_until_due(self, ep: _Endpoint) -> float:
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
