"""The deliverer against a real store file and real local receivers: RELIABILITY 1-9 and 12."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crawler.config import DeliverySettings, WebhookSettings
from crawler.models import Content, EventRecord
from crawler.store.sqlite import SQLiteStore
from crawler.testing.webhook_receiver import HANG, ReceiverFactory, Reply, make_secret
from crawler.webhooks.deliverer import Deliverer
from crawler.webhooks.retry import JITTER
from tests.conftest import FakeClock
from tests.log_capture import capture_logs


def whole_second_clock() -> FakeClock:
    """Scheduling time that the test moves by hand (no real minutes are slept), from now
    rounded down to the second."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def delivery_settings(**overrides: Any) -> DeliverySettings:
    raw: dict[str, Any] = {"timeout": "2s", "retry_schedule": ["5s", "5m", "30m"]}
    raw.update(overrides)
    return DeliverySettings.model_validate(raw)


def hook(url: str, *secrets: str) -> WebhookSettings:
    return WebhookSettings.model_validate({"url": url, "secret": list(secrets)})


@pytest.fixture
def clock() -> FakeClock:
    return whole_second_clock()


_counter = iter(range(1, 1_000_000))


async def add_event(store: SQLiteStore, *endpoints: str, at: datetime) -> EventRecord:
    n = next(_counter)
    url = f"https://news.example/articles/{n}"
    payload = json.dumps({
        "type": "article.new", "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {"article": {"url": url, "canonical_url": url, "feed_url": "f", "title": "T"},
                 "version": 1, "content_hash": f"sha256:{n}", "text": "正文 body"},
    }, ensure_ascii=False)
    event = EventRecord(event_id=f"evt_{n:06d}", event_type="article.new", created_at=at,
                        payload=payload, endpoints=endpoints)
    await store.create_article(extractor_version=1, canonical_url=url, url=url, feed_url="f",
                               content=Content("T", "body", f"sha256:{n}"), event=event,
                               seen_at=at, next_check_at=at)
    return event


def signing_clock() -> Iterator[datetime]:
    """Real time, one second further on each call: each attempt gets a distinct timestamp
    that receivers still accept."""
    start = datetime.now(UTC)
    for i in range(10_000):
        yield start + timedelta(seconds=i)


async def test_delivered_webhook_verifies_and_one_changed_byte_fails(  # case 1
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret)
    event = await add_event(store, receiver.url, at=clock.now)
    deliverer = Deliverer(store, [hook(receiver.url, secret)], delivery_settings(), session,
                          clock=clock, user_agent="crawler-test/1")
    assert await deliverer.run_once() == 1
    [request] = receiver.requests
    assert request.verified, request.error
    assert request.json == json.loads(event.payload)
    assert request.body == event.payload.encode()
    assert request.headers["webhook-id"] == event.event_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "crawler-test/1"
    tampered = bytearray(request.body)
    tampered[-3] ^= 0x20
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(bytes(tampered), request.headers)
    [done] = await store.list_deliveries(("delivered",))
    assert done.attempts == 1
    assert await deliverer.run_once() == 0  # delivered once, never again


async def test_500_500_200_retries_on_jittered_backoff_with_stable_id(  # cases 2 and 4
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret, [500, 500, 200])
    event = await add_event(store, receiver.url, at=clock.now)
    stamps = signing_clock()
    deliverer = Deliverer(store, [hook(receiver.url, secret)], delivery_settings(), session,
                          clock=clock, rng=random.Random(4), signing_clock=lambda: next(stamps))
    expected = random.Random(4)
    gaps = []
    for base in (5.0, 300.0):
        start = clock.now
        assert await deliverer.run_once() == 1
        [pending] = await store.due_deliveries(clock.now + timedelta(days=1), 10)
        assert pending.next_attempt_at is not None
        gap = (pending.next_attempt_at - start).total_seconds()
        assert gap == pytest.approx(base * expected.uniform(1 - JITTER, 1 + JITTER), abs=1e-3)
        gaps.append(gap)
        clock.to(pending.next_attempt_at - timedelta(seconds=1))
        assert await deliverer.run_once() == 0  # not before it is due
        clock.to(pending.next_attempt_at)
    assert gaps[0] != 5.0  # jittered, not the bare schedule
    assert await deliverer.run_once() == 1
    assert [d.status for d in await store.list_deliveries(("delivered", "pending"))] == [
        "delivered"
    ]
    assert await deliverer.run_once() == 0
    requests = receiver.requests
    assert [r.answer for r in requests] == [500, 500, 200]
    assert {r.headers["webhook-id"] for r in requests} == {event.event_id}
    timestamps = [int(r.headers["webhook-timestamp"]) for r in requests]
    assert timestamps == sorted(set(timestamps))  # fresh on each attempt
    assert all(r.verified for r in requests)
    assert len({r.headers["webhook-signature"] for r in requests}) == 3


async def test_two_secrets_either_verifies(  # case 3
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    old, new = make_secret(), make_secret()
    receiver = await receivers(old)
    await add_event(store, receiver.url, at=clock.now)
    deliverer = Deliverer(store, [hook(receiver.url, old, new)], delivery_settings(), session,
                          clock=clock)
    assert await deliverer.run_once() == 1
    [request] = receiver.requests
    signature = request.headers["webhook-signature"]
    assert signature.count("v1,") == 2
    assert len(signature.split(" ")) == 2
    assert request.verified
    receiver.verify(request, new)
    with pytest.raises(WebhookVerificationError):
        receiver.verify(request, make_secret())


async def test_redirect_is_a_failure_and_not_followed(  # case 5
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    target = await receivers(secret)
    receiver = await receivers(secret, [Reply(302, {"Location": target.url})])
    await add_event(store, receiver.url, at=clock.now)
    deliverer = Deliverer(store, [hook(receiver.url, secret)], delivery_settings(), session,
                          clock=clock)
    assert await deliverer.run_once() == 1
    await asyncio.sleep(0.2)
    assert len(receiver.requests) == 1
    assert target.requests == []
    [pending] = await store.list_deliveries(("pending",))
    assert pending.attempts == 1
    assert pending.last_status == 302
    assert pending.last_error is not None
    assert "redirect" in pending.last_error


async def test_410_disables_endpoint_keeps_pending_others_go_on(  # case 6
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    gone = await receivers(secret, [410])
    healthy = await receivers(secret)
    for _ in range(3):
        await add_event(store, gone.url, healthy.url, at=clock.now)
    hooks = [hook(gone.url, secret), hook(healthy.url, secret)]
    deliverer = Deliverer(store, hooks, delivery_settings(concurrency_per_endpoint=1), session,
                          clock=clock)
    with capture_logs() as logs:
        assert await deliverer.run_once() == 4
        clock.to(clock.now + timedelta(hours=1))
        assert await deliverer.run_once() == 0
    assert len(gone.requests) == 1
    assert len(healthy.requests) == 3
    assert [s.url for s in await store.list_endpoint_states() if s.disabled] == [gone.url]
    rows = await store.list_deliveries(("pending", "disabled", "delivered"))
    gone_statuses = sorted(d.status for d in rows if d.endpoint_url == gone.url)
    assert gone_statuses == ["disabled", "pending", "pending"]  # kept, not dropped
    disabled_logs = [e for e in logs if e["event"] == "webhook_endpoint_disabled"]
    assert len(disabled_logs) == 1
    assert disabled_logs[0]["log_level"] == "error"
    # Persisted: after a restart it stays disabled until an operator resumes it, and then
    # everything kept is sent, the 410'd delivery included.
    restarted = Deliverer(store, hooks, delivery_settings(), session, clock=clock)
    assert await restarted.run_once() == 0
    assert [s.url for s in await store.list_endpoint_states() if s.disabled] == [gone.url]
    assert len(gone.requests) == 1
    _, requeued = await store.resume_endpoint(gone.url, now=clock.now)
    assert requeued == 1
    assert await restarted.run_once() == 3
    assert len(gone.requests) == 4
    assert [s.url for s in await store.list_endpoint_states() if s.disabled] == []


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("use_date", [False, True])
async def test_retry_after_pushes_the_next_attempt(  # case 7
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory, status: int, use_date: bool,
) -> None:
    secret = make_secret()
    start = clock.now
    value = format_datetime(start + timedelta(seconds=120), usegmt=True) if use_date else "120"
    receiver = await receivers(secret, [Reply(status, {"Retry-After": value})])
    await add_event(store, receiver.url, at=start)
    deliverer = Deliverer(store, [hook(receiver.url, secret)], delivery_settings(), session,
                          clock=clock)
    assert await deliverer.run_once() == 1
    [pending] = await store.list_deliveries(("pending",))
    assert pending.last_status == status
    assert pending.next_attempt_at is not None
    assert pending.next_attempt_at >= start + timedelta(seconds=120)  # the schedule says ~5 s
    clock.to(start + timedelta(seconds=119))
    assert await deliverer.run_once() == 0
    clock.to(pending.next_attempt_at)
    assert await deliverer.run_once() == 1
    assert len(receiver.requests) == 2


async def test_hanging_endpoint_attempt_ends_within_timeout(  # case 8
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret, default=HANG)
    await add_event(store, receiver.url, at=clock.now)
    deliverer = Deliverer(store, [hook(receiver.url, secret)], delivery_settings(timeout="1s"),
                          session, clock=clock)
    started = time.monotonic()
    assert await deliverer.run_once() == 1
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.0
    [pending] = await store.list_deliveries(("pending",))
    assert pending.last_status is None
    assert pending.last_error == "no answer within 1s"
    assert len(receiver.requests) == 1


async def test_past_the_schedule_failed_logged_and_replayable(  # case 9
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret, default=500)
    event = await add_event(store, receiver.url, at=clock.now)
    deliverer = Deliverer(store, [hook(receiver.url, secret)],
                          delivery_settings(retry_schedule=["1m", "1h"]), session, clock=clock)
    with capture_logs() as logs:
        for _ in range(3):
            assert await deliverer.run_once() == 1
            clock.to(clock.now + timedelta(days=1))
        assert await deliverer.run_once() == 0
    [failed] = await store.list_deliveries(("failed",))
    assert failed.attempts == 3
    assert failed.last_status == 500
    errors = [e for e in logs if e["event"] == "delivery_failed"]
    assert len(errors) == 1
    assert errors[0]["log_level"] == "error"
    assert errors[0]["event_id"] == event.event_id
    attempts = [e for e in logs if e["event"] == "delivery_attempt"]
    assert [e["outcome"] for e in attempts] == ["retry", "retry", "failed"]
    assert {e["log_level"] for e in attempts} == {"warning"}  # none delivered
    # Replay (what `crawler deliveries replay --failed` does): same event id, delivered.
    receiver.default = 200
    assert await store.requeue_deliveries(event_id=None, failed=True, endpoint_url=None,
                                          now=clock.now) == 1
    with capture_logs() as logs:
        assert await deliverer.run_once() == 1
    assert [e["log_level"] for e in logs if e["event"] == "delivery_attempt"] == ["info"]
    assert receiver.requests[-1].headers["webhook-id"] == event.event_id
    assert receiver.requests[-1].verified
    assert len(await store.list_deliveries(("delivered",))) == 1


async def test_targets_only_from_config_and_no_secrets_in_logs(  # case 12
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
    receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret, [500], path="/hook")
    stranger = await receivers(secret)
    url = receiver.url + "?token=s3cr3t-token"
    event = await add_event(store, url, stranger.url, at=clock.now)
    deliverer = Deliverer(store, [hook(url, secret)], delivery_settings(), session, clock=clock)
    with capture_logs() as logs:
        assert await deliverer.run_once() == 1
        assert await deliverer.run_once() == 0
    await asyncio.sleep(0.1)
    assert stranger.requests == []  # not in the config: never sent
    assert len(receiver.requests) == 1
    [kept] = [d for d in await store.list_deliveries(("pending",)) if d.endpoint_url != url]
    assert kept.event_id == event.event_id
    warnings = [e for e in logs if e["event"] == "delivery_endpoint_not_configured"]
    assert len(warnings) == 1  # once, not on every pass
    text = repr(logs)
    assert secret not in text
    assert secret.removeprefix("whsec_") not in text
    assert "s3cr3t-token" not in text
    assert secret not in receiver.requests[0].body.decode()


async def test_an_endpoint_nobody_listens_on_is_said_so_in_words(
    store: SQLiteStore, session: aiohttp.ClientSession, clock: FakeClock,
) -> None:
    url = "http://127.0.0.1:9/hook"  # the discard port: nothing listens
    await add_event(store, url, at=clock.now)
    deliverer = Deliverer(store, [hook(url, make_secret())], delivery_settings(), session,
                          clock=clock)
    assert await deliverer.run_once() == 1
    [pending] = await store.list_deliveries(("pending",))
    assert pending.last_error == "cannot connect to 127.0.0.1:9 (connection refused)"


async def test_dead_endpoint_does_not_delay_a_healthy_one(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    dead = await receivers(secret, default=HANG)
    healthy = await receivers(secret)
    now = datetime.now(UTC)
    for _ in range(6):
        await add_event(store, dead.url, healthy.url, at=now)
    hooks = [hook(dead.url, secret), hook(healthy.url, secret)]
    deliverer = Deliverer(store, hooks, delivery_settings(timeout="3s",
                                                          concurrency_per_endpoint=2), session)
    stop, wake = asyncio.Event(), asyncio.Event()
    started = time.monotonic()
    runner = asyncio.create_task(deliverer.run(stop, wake))
    try:
        await healthy.wait_for(6, timeout=2)
        assert time.monotonic() - started < 1.0
        assert len(dead.requests) == 2  # bounded concurrency: two hanging, four waiting
        # A new event while the dead endpoint still hangs: the healthy one gets it at once.
        await add_event(store, dead.url, healthy.url, at=datetime.now(UTC))
        woken = time.monotonic()
        wake.set()
        await healthy.wait_for(7, timeout=2)
        assert time.monotonic() - woken < 1.0
    finally:
        stop.set()
        stopped = time.monotonic()
        await asyncio.wait_for(runner, timeout=10)
    assert time.monotonic() - stopped < 3.0 + 1.0  # in-flight POSTs end by their timeout
    assert len(await store.list_deliveries(("delivered",))) == 7
    assert len(await store.list_deliveries(("pending",))) == 7  # kept for later


async def test_run_loop_retries_when_due_and_stops_when_idle(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret, [500])
    await add_event(store, receiver.url, at=datetime.now(UTC))
    deliverer = Deliverer(store, [hook(receiver.url, secret)],
                          delivery_settings(retry_schedule=["1s"]), session)
    stop = asyncio.Event()
    runner = asyncio.create_task(deliverer.run(stop))
    first, second = await receiver.wait_for(2, timeout=4)
    assert 0.7 <= second.received_at - first.received_at <= 2.5  # slept until due, no spin
    stop.set()
    stopped = time.monotonic()
    await asyncio.wait_for(runner, timeout=3)
    assert time.monotonic() - stopped < 0.5
    assert len(await store.list_deliveries(("delivered",))) == 1
