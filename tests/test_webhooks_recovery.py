"""Recovery after a receiver outage: the first 2xx makes the waiting backlog due at once, in
each article's order; and a wall-clock step during a short outage does not pause the
endpoint (the streak is timed by the monotonic clock)."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from crawler.models import Content, EventRecord
from crawler.store.sqlite import SQLiteStore
from crawler.testing.webhook_receiver import ReceiverFactory, make_secret
from crawler.webhooks.deliverer import Deliverer
from tests.log_capture import capture_logs
from tests.test_webhooks_delivery import add_event, delivery_settings, hook, whole_second_clock


async def test_a_recovered_endpoint_gets_its_backlog_at_once_in_article_order(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret, default=503)
    clock = whole_second_clock()
    start = clock.now
    backlog = [await add_event(store, receiver.url, at=start) for _ in range(4)]
    settings = delivery_settings(retry_schedule=["1s", "5m", "30m"], concurrency_per_endpoint=1)
    deliverer = Deliverer(store, [hook(receiver.url, secret)], settings, session, clock=clock)
    assert await deliverer.run_once() == 4  # the outage: each waits for the 1 s rung
    clock.to(start + timedelta(seconds=2))
    assert await deliverer.run_once() == 4  # still down: each now waits for the 5 min rung
    # An edit of the first article arrives during the outage, due at once.
    [first] = await store.due_articles(start + timedelta(days=1), 1)
    edit_id = "evt_edit_of_first"
    await store.add_version(
        first.article_id, content=Content("T", "body, edited", "sha256:edited"),
        event=lambda n: EventRecord(event_id=edit_id, event_type="article.edited",
                                    created_at=clock.now, payload='{"type": "article.edited"}',
                                    endpoints=(receiver.url,)),
        fetched_at=clock.now, next_check_at=None, extractor_version=1)
    fresh = await add_event(store, receiver.url, at=clock.now)

    receiver.default = 200  # back after a few seconds
    clock.to(start + timedelta(seconds=5))
    with capture_logs() as logs:
        # One pass, minutes before the 5 min rung: the fresh event's 2xx brings the rest.
        assert await deliverer.run_once() == 6
    assert [e["deliveries_due_now"] for e in logs if e["event"] == "endpoint_recovered"] == [4]
    assert await store.count_pending_deliveries() == 0
    ids = [r.headers["webhook-id"] for r in receiver.requests if r.answer == 200]
    assert set(ids) == {e.event_id for e in backlog} | {fresh.event_id, edit_id}
    # The edit of the first article went after that article's article.new (held back while
    # the article.new waited for its retry), and the backlog oldest first.
    assert ids.index(backlog[0].event_id) < ids.index(edit_id)
    assert [i for i in ids if i in {e.event_id for e in backlog}] == [
        e.event_id for e in backlog]


async def test_a_clock_step_ahead_during_a_short_outage_does_not_pause_the_endpoint(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver = await receivers(secret, default=500)
    clock = whole_second_clock()
    start = clock.now
    await add_event(store, receiver.url, at=start)
    settings = delivery_settings(retry_schedule=["1s"] * 5, pause_after="1d",
                                 probe_every="1h")
    deliverer = Deliverer(store, [hook(receiver.url, secret)], settings, session, clock=clock)
    assert await deliverer.run_once() == 1
    clock.to(start + timedelta(days=2))  # the wall clock jumps; seconds pass for real
    assert await deliverer.run_once() == 1
    assert [s.url for s in await store.list_endpoint_states() if s.paused] == []
    receiver.default = 200
    clock.to(start + timedelta(days=2, seconds=2))
    assert await deliverer.run_once() == 1
    assert await store.count_pending_deliveries() == 0
