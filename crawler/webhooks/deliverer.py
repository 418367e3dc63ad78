"""The webhook deliverer: drains the outbox (pending deliveries in the store) to the endpoints.

Every event is stored with its deliveries before anything is sent; this module only reads due
deliveries, POSTs them, and records each attempt in its own transaction. Delivery is at least
once: a crash between a 2xx and its record means one more POST with the same `webhook-id`,
which receivers use to drop duplicates.

Endpoints are independent: each has its own loop and at most `concurrency_per_endpoint` POSTs
in flight, so a dead or slow endpoint only ever delays its own deliveries. Targets come only
from the operator's config (`[[webhooks]]`): a delivery whose endpoint is not configured is
left pending and never sent, and redirects are never followed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import structlog

from crawler.config import DEFAULT_USER_AGENT, DeliverySettings, WebhookSettings
from crawler.models import Delivery
from crawler.store.base import Store
from crawler.webhooks.retry import decide
from crawler.webhooks.signing import Signer

log = structlog.get_logger(__name__)

_IDLE_RECHECK = 60.0
"""Longest sleep with nothing due: a safety net should a `wake` be missed."""
_ERROR_PAUSE = 5.0
"""Pause of an endpoint loop after a store error, so a broken database is not hammered."""
_UNKNOWN_SCAN = 200
"""How many due deliveries are scanned for endpoints missing from the config."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def loggable_url(url: str) -> str:
    """The URL without credentials, query or fragment: those often carry tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(slots=True)
class _Endpoint:
    url: str
    signer: Signer
    log_url: str
    disabled: bool = False
    retired: bool = False
    """Removed from the config by a reload: its loop ends after the attempts in flight."""
    poke: asyncio.Event = field(default_factory=asyncio.Event)
    loop: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return not (self.disabled or self.retired)


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
    ) -> None:
        self._store = store
        self._session = session
        self._clock = clock
        self._signing_clock = signing_clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._user_agent = user_agent
        self._warned_unknown: set[str] = set()
        self._endpoints: dict[str, _Endpoint] = {}
        self._loop_tasks: set[asyncio.Task[None]] = set()
        self._stop: asyncio.Event | None = None
        self.replace_webhooks(webhooks, delivery)

    def replace_webhooks(
        self, webhooks: Sequence[WebhookSettings], delivery: DeliverySettings
    ) -> None:
        """Apply a reloaded config, also while `run()` runs: new endpoints start, removed ones
        stop after their attempts in flight, changed secrets sign the next attempt. An endpoint
        disabled by a 410 stays disabled until restart. Raises ValueError for a secret that is
        not valid base64."""
        signers = {hook.url: Signer(hook.secret) for hook in webhooks}  # validate all first
        self._settings = delivery
        self._timeout = aiohttp.ClientTimeout(total=delivery.timeout)
        self._batch = max(4 * delivery.concurrency_per_endpoint, 16)
        endpoints: dict[str, _Endpoint] = {}
        for hook in webhooks:
            if hook.url in endpoints:
                log.warning("webhook_listed_twice", endpoint=loggable_url(hook.url))
                continue
            endpoint = self._endpoints.get(hook.url)
            if endpoint is None:
                endpoint = _Endpoint(hook.url, signers[hook.url], loggable_url(hook.url))
            endpoint.signer = signers[hook.url]
            endpoints[hook.url] = endpoint
        for url, endpoint in self._endpoints.items():
            if url not in endpoints:
                endpoint.retired = True
                endpoint.poke.set()
        self._endpoints = endpoints
        if self._stop is not None:
            self._start_loops(self._stop)

    @property
    def disabled_endpoints(self) -> list[str]:
        """Endpoints that answered 410 in this process; not attempted again until restart."""
        return [ep.url for ep in self._endpoints.values() if ep.disabled]

    # --- one pass ----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Attempt every delivery due now, once, all endpoints in parallel. Returns the number
        of attempts made. Raises what the store raises."""
        now = self._clock()
        await self._warn_unknown_endpoints(now)
        active = [ep for ep in self._endpoints.values() if ep.active]
        counts = await asyncio.gather(*(self._drain(ep, now, None) for ep in active))
        return sum(counts)

    async def _drain(self, ep: _Endpoint, now: datetime, stop: asyncio.Event | None) -> int:
        """Attempt each delivery to `ep` due at `now` once; stops early when the endpoint is
        disabled or `stop` is set."""
        attempted: set[int] = set()
        total = 0
        while ep.active and not (stop is not None and stop.is_set()):
            batch = await self._store.due_deliveries(now, self._batch, endpoints=(ep.url,))
            # Ids already tried in this pass are skipped: a zero retry gap must not loop here.
            fresh = [d for d in batch if d.delivery_id not in attempted]
            if not fresh:
                break
            attempted.update(d.delivery_id for d in fresh)
            total += await self._attempt_all(ep, fresh, stop)
            if len(batch) < self._batch:
                break
        return total

    async def _attempt_all(
        self, ep: _Endpoint, deliveries: list[Delivery], stop: asyncio.Event | None
    ) -> int:
        pending: Iterator[Delivery] = iter(deliveries)
        made = 0

        async def worker() -> None:
            nonlocal made
            # Workers share one iterator: each takes the next delivery when it is free.
            for delivery in pending:
                if not ep.active or (stop is not None and stop.is_set()):
                    return
                await self._attempt(ep, delivery)
                made += 1

        workers = min(self._settings.concurrency_per_endpoint, len(deliveries))
        results = await asyncio.gather(*(worker() for _ in range(workers)),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return made

    async def _attempt(self, ep: _Endpoint, delivery: Delivery) -> None:
        """One POST and its record. Raises only if the store cannot record it."""
        attempted_at = self._clock()
        headers = ep.signer.headers(delivery.event_id, self._signing_clock(), delivery.payload,
                                    user_agent=self._user_agent)
        status: int | None = None
        error: str | None = None
        retry_after: str | None = None
        started = time.monotonic()
        try:
            async with self._session.post(
                ep.url, data=delivery.payload.encode("utf-8"), headers=headers,
                allow_redirects=False, timeout=self._timeout,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            error = f"no answer within {self._settings.timeout:g}s"
        except Exception as exc:
            # Whatever kept us from an answer is a failed attempt and follows the schedule.
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = (time.monotonic() - started) * 1000
        attempt_no = delivery.attempts + 1
        decision = decide(
            status=status, error=error, retry_after=retry_after, attempts_made=attempt_no,
            schedule=self._settings.retry_schedule, now=self._clock(), rng=self._rng,
        )
        await self._store.record_delivery_attempt(
            delivery.delivery_id, attempted_at=attempted_at, status_code=status,
            error=decision.error, duration_ms=duration_ms, outcome=decision.outcome,
            next_attempt_at=decision.next_attempt_at,
        )
        log.info(
            "delivery_attempt", event_id=delivery.event_id, endpoint=ep.log_url, status=status,
            ms=round(duration_ms, 1), outcome=decision.outcome, attempt=attempt_no,
            error=decision.error, next_attempt_at=decision.next_attempt_at,
        )
        if decision.outcome == "failed":
            log.error(
                "delivery_failed", event_id=delivery.event_id, endpoint=ep.log_url,
                attempts=attempt_no, last_status=status, last_error=decision.error,
            )
        elif decision.outcome == "disabled" and not ep.disabled:
            ep.disabled = True
            log.error("webhook_endpoint_disabled", endpoint=ep.log_url,
                      event_id=delivery.event_id, reason="HTTP 410 Gone",
                      note="pending deliveries kept; not attempted until restart")

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
            if not ep.active:
                return  # 410 or removed: nothing more for it here; its deliveries stay pending
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
        due = await self._store.next_delivery_due(endpoints=(ep.url,))
        if due is None:
            return _IDLE_RECHECK
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
