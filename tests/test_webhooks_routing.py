"""Per-endpoint filters: `events` and `feeds` decide which endpoints get an event's deliveries;
a reload changes the endpoints while the deliverer runs.

Events are built by `crawler.events` from the config, stored through the real store (outbox),
and delivered to real local receivers verifying Standard Webhooks signatures.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import aiohttp

from crawler.config import DeliverySettings, WebhookSettings
from crawler.events import ArticleRef, Routes, article_deleted, article_new
from crawler.models import Content
from crawler.store.sqlite import SQLiteStore
from crawler.testing.webhook_receiver import ReceiverFactory, WebhookReceiver, make_secret
from crawler.webhooks.deliverer import Deliverer
from tests.test_webhooks_delivery import add_event, delivery_settings, hook

FEED_A = "https://a.example/rss.xml"
FEED_B = "https://b.example/feed.atom"


def webhook(receiver: WebhookReceiver, **keys: Any) -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"url": receiver.url, "secret": receiver.secrets[0], **keys})


async def new_article(store: SQLiteStore, routes: Routes, feed: str, n: int) -> tuple[int, str]:
    url = f"https://news.example/{n}"
    ref = ArticleRef(url=url, canonical_url=url, feed_url=feed, title=f"Headline {n}")
    content = Content(f"Headline {n}", f"Body {n}.", f"sha256:{n:064x}")
    now = datetime.now(UTC)
    event = article_new(ref, content, created_at=now, routes=routes, max_bytes=256 * 1024)
    article = await store.create_article(extractor_version=1, canonical_url=url, url=url, feed_url=feed,
                                         content=content, event=event, seen_at=now,
                                         next_check_at=now)
    return article.article_id, event.event_id


def got(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    assert all(r.verified for r in receiver.requests)
    return [(r.json["type"], r.json["data"]["article"]["feed_url"]) for r in receiver.requests]


async def test_feeds_filter_and_events_filter_route_deliveries(
    store: SQLiteStore, receivers: ReceiverFactory,
) -> None:
    only_a = await receivers(make_secret())
    deletions = await receivers(make_secret())
    everything = await receivers(make_secret())
    both_feeds_edits = await receivers(make_secret())
    hooks = [
        webhook(only_a, feeds=[FEED_A]),
        webhook(deletions, events=["article.deleted"]),
        webhook(everything),
        webhook(both_feeds_edits, events=["article.edited"], feeds=[FEED_A, FEED_B]),
    ]
    routes = Routes(webhooks=hooks)
    await new_article(store, routes, FEED_A, 1)
    b_article, _ = await new_article(store, routes, FEED_B, 2)
    await new_article(store, routes, FEED_A, 3)
    now = datetime.now(UTC)
    ref = ArticleRef(url="https://news.example/2", canonical_url="https://news.example/2",
                     feed_url=FEED_B, title="Headline 2")
    gone = article_deleted(ref, previous_version=1, status=410, created_at=now, routes=routes,
                           max_bytes=256 * 1024)
    await store.mark_deleted(b_article, event=gone, checked_at=now, next_check_at=None)

    async with aiohttp.ClientSession() as session:
        deliverer = Deliverer(store, hooks, DeliverySettings(), session)
        assert await deliverer.run_once() == 2 + 1 + 4 + 0

    assert got(only_a) == [("article.new", FEED_A), ("article.new", FEED_A)]
    assert got(deletions) == [("article.deleted", FEED_B)]
    assert sorted(got(everything)) == sorted([
        ("article.new", FEED_A), ("article.new", FEED_B), ("article.new", FEED_A),
        ("article.deleted", FEED_B)])
    assert both_feeds_edits.requests == []
    # Nothing was queued for an endpoint that does not want it: only what was sent exists.
    rows = await store.list_deliveries(("pending", "delivered", "failed", "disabled"))
    assert len(rows) == 7
    assert {r.endpoint_url for r in rows if json.loads(r.payload)["data"]["article"]
            ["feed_url"] == FEED_B} == {deletions.url, everything.url}


def test_routes_endpoints_unit() -> None:
    secret = make_secret()
    a = WebhookSettings.model_validate({"url": "http://h/a", "secret": secret,
                                        "feeds": [FEED_A]})
    d = WebhookSettings.model_validate({"url": "http://h/d", "secret": secret,
                                        "events": ["article.deleted"]})
    routes = Routes(webhooks=[a, d])
    assert routes.endpoints("article.new", FEED_A) == ("http://h/a",)
    assert routes.endpoints("article.new", FEED_B) == ()
    assert routes.endpoints("article.deleted", FEED_A) == ("http://h/a", "http://h/d")
    assert routes.endpoints("article.deleted", FEED_B) == ("http://h/d",)


async def test_replace_webhooks_while_running(
    store: SQLiteStore, session: aiohttp.ClientSession, receivers: ReceiverFactory,
) -> None:
    old_secret, new_secret = make_secret(), make_secret()
    first = await receivers(old_secret)
    second = await receivers(new_secret)
    await add_event(store, first.url, second.url, at=datetime.now(UTC))
    deliverer = Deliverer(store, [hook(first.url, old_secret)], delivery_settings(), session)
    stop = asyncio.Event()
    runner = asyncio.create_task(deliverer.run(stop))
    try:
        await first.wait_for(1, timeout=2)
        deliverer.replace_webhooks([hook(second.url, new_secret)], delivery_settings())
        [request] = await second.wait_for(1, timeout=2)
        assert request.verified
        await add_event(store, first.url, at=datetime.now(UTC))
        await asyncio.sleep(0.3)
        assert len(first.requests) == 1  # removed from the config: no longer sent to
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=5)
