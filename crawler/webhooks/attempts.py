"""One delivery attempt and what follows from it: the send, its record (which completes the
delivery's claim), and the endpoint's health (`crawler.webhooks.health`). The deliverer
(`crawler.webhooks.deliverer`) decides what is attempted when; this module makes each
attempt and keeps its outcome."""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from crawler.config import DeliverySettings
from crawler.kinds import EndpointState
from crawler.leases import LeaseKeeper
from crawler.metrics import Metrics
from crawler.models import Delivery
from crawler.store.base import LeaseLostError, Store
from crawler.store.write_health import is_storage_fault
from crawler.webhooks import health
from crawler.webhooks.retry import Decision, decide
from crawler.webhooks.senders import Sender

log = structlog.get_logger(__name__)

# The first and the longest pause before recording an answered attempt again (seconds).
RECORD_RETRY_FIRST = 0.5
RECORD_RETRY_LONGEST = 30.0


@dataclass(slots=True, eq=False)
class Endpoint:
    url: str
    """The outbox name: the webhook URL, or "apprise:<hex>" for a `[[notify]]` target."""
    log_url: str
    sender: Sender
    state: EndpointState
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


class Attempts:
    """Makes attempts for the deliverer. `settings`: the delivery settings in force (the
    deliverer replaces them on reload)."""

    def __init__(self, store: Store, leases: LeaseKeeper, settings: DeliverySettings, *,
                 clock: Callable[[], datetime], monotonic: Callable[[], float],
                 rng: random.Random, metrics: Metrics | None) -> None:
        self.settings = settings
        self._store = store
        self._leases = leases
        self._clock = clock
        self._monotonic = monotonic
        self._rng = rng
        self._metrics = metrics
        self.recording: set[int] = set()
        """Deliveries answered whose record the store has not taken yet (see `_record`):
        not attempted again meanwhile."""

    async def attempt(self, ep: Endpoint, delivery: Delivery) -> None:
        """One send and its record (which completes the delivery's claim), then the
        endpoint's health. Raises only if the store cannot record it."""
        try:
            await self._attempt_claimed(ep, delivery)
        finally:
            self._leases.done(delivery.delivery_id)

    async def _attempt_claimed(self, ep: Endpoint, delivery: Delivery) -> None:
        attempted_at = self._clock()
        started = time.monotonic()
        answer = await ep.sender.send(delivery, within=self.settings.timeout)
        duration_ms = (time.monotonic() - started) * 1000
        attempt_no = delivery.attempts + 1
        decision = Decision("delivered", None, None) if answer.ok else decide(
            status=answer.status, error=answer.error, retry_after=answer.retry_after,
            attempts_made=attempt_no, schedule=self.settings.retry_schedule,
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
        # An attempt that did not deliver is worth an operator's eye; a delivered one is not.
        (log.info if decision.outcome == "delivered" else log.warning)(
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

    async def _record(self, ep: Endpoint, delivery: Delivery,
                      write: Callable[[], Awaitable[None]]) -> None:
        """Record an attempt that was answered. A store that cannot write (a full disk) is
        asked again, with a growing pause, until it can: the attempt was made, and sending it
        again because its record failed would deliver an acknowledged event twice. The
        delivery stays claimed meanwhile and is not attempted again by this process."""
        pause = RECORD_RETRY_FIRST
        self.recording.add(delivery.delivery_id)
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
            self.recording.discard(delivery.delivery_id)

    async def _note_health(self, ep: Endpoint, decision: Decision, at: datetime,
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
            pause_after=self.settings.pause_after, probe_every=self.settings.probe_every,
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

    async def _recovered(self, ep: Endpoint, since: datetime | None) -> None:
        """The endpoint answered 2xx after failing: the deliveries waiting for a later rung
        of the retry ladder are due now (the store keeps each article's order), so an
        outage of seconds costs seconds, not the next rung's minutes."""
        hastened = await self._store.hasten_deliveries(ep.url, now=self._clock())
        log.info("endpoint_recovered", endpoint=ep.log_url, failing_since=since,
                 deliveries_due_now=hastened)
        ep.poke.set()
