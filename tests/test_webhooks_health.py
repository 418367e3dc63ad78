"""Endpoint health: a long-failing endpoint is paused, probed, resumed; a 410 is persisted.

Real store file, real local receivers, a hand-moved scheduling clock (no real hours slept).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from crawler.kinds import DeliveryOutcome, EndpointState
from crawler.store.sqlite import SQLiteStore
from crawler.testing.webhook_receiver import ReceiverFactory, make_secret
from crawler.webhooks import health
from crawler.webhooks.deliverer import Deliverer
from tests.log_capture import capture_logs
from tests.test_webhooks_delivery import add_event, delivery_settings, hook, whole_second_clock

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = 86400.0


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("state", "outcome", "when", "expected"),
    [
        # a first failure starts the streak
        (EndpointState("u"), "retry", at(0), EndpointState("u", failing_since=at(0), reason="e")),
        # still within pause_after: streak kept, not paused
        (EndpointState("u", failing_since=at(0)), "failed", at(23),
         EndpointState("u", failing_since=at(0), reason="e")),
        # failing for a day: paused, first probe an hour later
        (EndpointState("u", failing_since=at(0)), "retry", at(24),
         EndpointState("u", failing_since=at(0), paused_at=at(24), next_probe_at=at(25),
                       reason="e")),
        # a failed probe keeps the pause and its probe time
        (EndpointState("u", failing_since=at(0), paused_at=at(24), next_probe_at=at(26)),
         "retry", at(25),
         EndpointState("u", failing_since=at(0), paused_at=at(24), next_probe_at=at(26),
                       reason="e")),
        # any 2xx: healthy again
        (EndpointState("u", failing_since=at(0), paused_at=at(24), next_probe_at=at(26),
                       reason="e"), "delivered", at(25), EndpointState("u")),
        # 410 disables, and a late 2xx in flight does not undo it
        (EndpointState("u"), "disabled", at(1), EndpointState("u", disabled_at=at(1), reason="e")),
        (EndpointState("u", disabled_at=at(1)), "delivered", at(2),
         EndpointState("u", disabled_at=at(1))),
    ],
)
def test_after_attempt_table(state: EndpointState, outcome: DeliveryOutcome, when: datetime,
                             expected: EndpointState) -> None:
    error = None if outcome == "delivered" else "e"
    assert health.after_attempt(state, outcome=outcome, at=when, error=error,
                                pause_after=DAY, probe_every=3600.0) == expected


def test_probe_timing_is_pure() -> None:
    paused = EndpointState("u", failing_since=at(0), paused_at=at(24), next_probe_at=at(25))
    assert not health.may_probe(paused, at(24.5))
    assert health.may_probe(paused, at(25))
    assert not health.may_probe(EndpointState("u"), at(25))
    assert health.probe_sent(paused, at=at(25), probe_every=600).next_probe_at == at(25) + \
        timedelta(minutes=10)
    assert health.probe_sent(EndpointState("u"), at=at(25), probe_every=600) == EndpointState("u")


async def test_endpoint_state_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "crawler.db"
    store = SQLiteStore(path)
    await store.migrate()
    await store.open()
    paused = EndpointState("http://h/x", failing_since=at(0), paused_at=at(24),
                           next_probe_at=at(25), reason="HTTP 500")
    moved = await store.update_endpoint_state("http://h/x", lambda _: paused)
    assert moved.before == EndpointState("http://h/x")
    assert moved.paused
    await store.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        assert await store.list_endpoint_states() == [paused]
        before, requeued = await store.resume_endpoint("http://h/x", now=at(26))
        assert before == paused
        assert requeued == 0
        assert await store.list_endpoint_states() == []  # healthy: no row
        with pytest.raises(ValueError, match="rename"):
            await store.update_endpoint_state("http://h/x", lambda _: EndpointState("other"))
    finally:
        await store.close()


async def test_long_failing_endpoint_paused_probed_then_resumed(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    dead = await receivers(secret, default=500)
    healthy = await receivers(secret)
    clock = whole_second_clock()
    start = clock.now
    events = [await add_event(store, dead.url, healthy.url, at=start) for _ in range(3)]
    settings = delivery_settings(retry_schedule=["1s"] * 12, pause_after="1h",
                                 probe_every="10m", concurrency_per_endpoint=1)
    hooks = [hook(dead.url, secret), hook(healthy.url, secret)]
    deliverer = Deliverer(store, hooks, settings, session, clock=clock,
                          monotonic=clock.monotonic)
    with capture_logs() as logs:
        assert await deliverer.run_once() == 6  # 3 failures (streak starts), 3 delivered
        clock.to(start + timedelta(minutes=30))
        assert await deliverer.run_once() == 3  # failing for 30 min: not yet paused
        clock.to(start + timedelta(hours=1))
        assert await deliverer.run_once() == 1  # failing for 1 h: paused after this one
        assert [s.url for s in await store.list_endpoint_states() if s.paused] == [dead.url]
        assert await deliverer.run_once() == 0  # paused: nothing until the probe is due
    paused_logs = [e for e in logs if e["event"] == "endpoint_paused"]
    assert len(paused_logs) == 1
    assert paused_logs[0]["log_level"] == "error"
    assert paused_logs[0]["since"] == start
    assert paused_logs[0]["reason"] == "HTTP 500"
    assert len(healthy.requests) == 3
    assert len(dead.requests) == 7

    # A restart keeps the pause and its probe time (persisted).
    deliverer = Deliverer(store, hooks, settings, session, clock=clock,
                          monotonic=clock.monotonic)
    clock.to(start + timedelta(hours=1, minutes=5))
    assert await deliverer.run_once() == 0
    assert [s.url for s in await store.list_endpoint_states() if s.paused] == [dead.url]
    clock.to(start + timedelta(hours=1, minutes=10))
    assert await deliverer.run_once() == 1  # one probe: the delivery due first
    # (which one that is depends on the retry jitter: any of the backlog)
    assert dead.requests[-1].headers["webhook-id"] in {e.event_id for e in events}
    assert await deliverer.run_once() == 0
    clock.to(start + timedelta(hours=1, minutes=19))
    assert await deliverer.run_once() == 0  # next probe only 10 min after the last
    assert len(dead.requests) == 8

    dead.default = 200  # the receiver is back: the probe resumes it, the backlog flows
    clock.to(start + timedelta(hours=1, minutes=20))
    with capture_logs() as logs:
        assert await deliverer.run_once() == 3
    assert [e["by"] for e in logs if e["event"] == "endpoint_resumed"] == ["probe"]
    assert [s.url for s in await store.list_endpoint_states() if s.paused] == []
    assert await store.list_endpoint_states() == []
    delivered = await store.list_deliveries(("delivered",))
    assert len(delivered) == 6
    assert {r.headers["webhook-id"] for r in dead.requests} == {e.event_id for e in events}
    assert all(r.verified for r in dead.requests)


async def test_success_before_pause_after_clears_the_streak(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    flaky = await receivers(secret, [500, 200], default=500)
    clock = whole_second_clock()
    start = clock.now
    await add_event(store, flaky.url, at=start)
    await add_event(store, flaky.url, at=start)
    settings = delivery_settings(retry_schedule=["1s"] * 12, pause_after="1h",
                                 concurrency_per_endpoint=1)
    deliverer = Deliverer(store, [hook(flaky.url, secret)], settings, session, clock=clock,
                          monotonic=clock.monotonic)
    assert await deliverer.run_once() == 2  # 500, then 200: the streak ends
    assert await store.list_endpoint_states() == []
    clock.to(start + timedelta(hours=2))
    assert await deliverer.run_once() == 1  # 500 again: a new streak, not a pause
    [state] = await store.list_endpoint_states()
    assert state.failing_since == start + timedelta(hours=2)
    assert not state.paused


async def test_resume_by_command_reaches_a_running_deliverer(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret)
    now = datetime.now(UTC)
    for _ in range(3):
        await add_event(store, receiver.url, at=now)
    paused = EndpointState(receiver.url, failing_since=now - timedelta(days=2),
                           paused_at=now - timedelta(days=1),
                           next_probe_at=now + timedelta(hours=1), reason="HTTP 500")
    await store.update_endpoint_state(receiver.url, lambda _: paused)
    hooks = [hook(receiver.url, secret)]
    deliverer = Deliverer(store, hooks, delivery_settings(), session)
    stop = asyncio.Event()
    runner = asyncio.create_task(deliverer.run(stop))
    try:
        await asyncio.sleep(0.3)
        assert receiver.requests == []  # paused, probe an hour away
        # What `crawler deliveries resume` does, then SIGHUP (the daemon's reload).
        await store.resume_endpoint(receiver.url, now=datetime.now(UTC))
        with capture_logs() as logs:
            deliverer.replace_webhooks(hooks, delivery_settings())
            await receiver.wait_for(3, timeout=3)
        assert [e["by"] for e in logs if e["event"] == "endpoint_resumed"] == ["command"]
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=5)
    assert len(await store.list_deliveries(("delivered",))) == 3
