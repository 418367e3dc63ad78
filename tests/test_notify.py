"""`[[notify]]`: a short human message per event, sent through Apprise by the same deliverer
(same outbox, retries and attempt records). The message is a pure function of the stored
payload (table tests); sending is tested with Apprise's `json://` against a local server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crawler.config import NotifySettings
from crawler.diffing import describe_changes
from crawler.events import (
    ArticleRef,
    Routes,
    article_deleted,
    article_edited,
    article_new,
    notify_endpoint_key,
)
from crawler.models import Content
from crawler.store.sqlite import SQLiteStore
from crawler.testing.webhook_receiver import (
    HANG,
    WebhookReceiver,
    make_secret,
    receiver_factory,
)
from crawler.webhooks.deliverer import Deliverer
from crawler.webhooks.notify_message import NotifyMessage, diff_excerpt, render_message
from tests.conftest import REPO
from tests.log_capture import capture_logs
from tests.test_webhooks_delivery import delivery_settings, hook, whole_second_clock

REF = ArticleRef(url="https://news.example/a?utm_source=x", canonical_url="https://news.example/a",
                 feed_url="https://news.example/rss", title="Storm hits the coast")
T = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OLD = Content("Storm hits the coast", "First paragraph.\n\nSecond paragraph.", "sha256:1")
NEW = Content("Storm batters the coast", "First paragraph.\n\nSecond paragraph, updated.",
              "sha256:2")


def _payload(kind: str) -> str:
    routes = Routes()
    if kind == "new":
        return article_new(REF, NEW, created_at=T, routes=routes, max_bytes=10_000).payload
    if kind == "edited":
        return article_edited(REF, OLD, NEW, describe_changes(OLD, NEW), version=2,
                              created_at=T, routes=routes, max_bytes=10_000).payload
    return article_deleted(REF, previous_version=2, status=410, created_at=T, routes=routes,
                           max_bytes=10_000).payload


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("new", NotifyMessage("Storm hits the coast", "New article\n\nhttps://news.example/a")),
        ("deleted", NotifyMessage("Storm hits the coast",
                                  "Deleted (HTTP 410)\n\nhttps://news.example/a")),
        ("edited", NotifyMessage(
            "Storm hits the coast",
            "Edited: headline changed, text changed, +32/−14 characters\n\n"
            "- Storm hits the coast\n+ Storm batters the coast\n"
            "- Second paragraph.\n+ Second paragraph, updated.\n\nhttps://news.example/a")),
    ],
)
def test_message_from_stored_payload(kind: str, expected: NotifyMessage) -> None:
    message = render_message(_payload(kind))
    if kind == "edited":  # the counts come from the real diffing; check their shape, then fix
        first = message.body.splitlines()[0]
        assert first.startswith("Edited: headline changed, text changed, +")
        expected = NotifyMessage(expected.title,
                                 expected.body.replace(expected.body.splitlines()[0], first))
    assert message == expected


@pytest.mark.parametrize(
    ("data", "title", "body"),
    [
        ({"type": "article.edited", "data": {
            "article": {"url": "u", "canonical_url": "https://c/x", "title": "H"},
            "changes": {"title": False, "lead": True, "body": True, "chars_added": 41,
                        "chars_removed": 0}, "diff": ""}},
         "H", "Edited: lead changed, +41/−0 characters\n\nhttps://c/x"),
        ({"type": "article.edited", "data": {
            "article": {"url": "u", "canonical_url": "https://c/x", "title": "H"},
            "changes": {"title": True, "lead": False, "body": False, "chars_added": 41,
                        "chars_removed": 0}, "diff": ""}},
         "H", "Edited: headline changed, +41/−0 characters\n\nhttps://c/x"),
        ({"type": "article.edited", "data": {
            "article": {"url": "u", "canonical_url": "https://c/x", "title": "H"},
            "changes": {"title": False, "lead": False, "body": True, "chars_added": 60,
                        "chars_removed": 0, "kinds": ["correction", "number"]}, "diff": ""}},
         "H", "Edited: text changed, +60/−0 characters (correction, number)\n\nhttps://c/x"),
        ({"type": "article.deleted", "data": {
            "article": {"url": "https://u/1", "canonical_url": "", "title": ""}, "status": 404}},
         "https://u/1", "Deleted (HTTP 404)\n\nhttps://u/1"),
        ({"type": "article.restored", "data": {
            "article": {"url": "https://u/1", "canonical_url": "", "title": "T"},
            "previous_status": 410}},
         "T", "Restored (was HTTP 410)\n\nhttps://u/1"),
        ({"type": "article.restored", "data": {
            "article": {"url": "u", "canonical_url": "https://c/x", "title": "T"},
            "previous_status": 404, "changes": {"body": True}, "diff": "@@\n-a\n+b"}},
         "T", "Restored (was HTTP 404), text changed\n\n- a\n+ b\n\nhttps://c/x"),
        ({"type": "article.new", "data": {
            "article": {"url": "u", "canonical_url": "https://c/x", "title": "  A\n  B  "}}},
         "A B", "New article\n\nhttps://c/x"),
    ],
)
def test_message_table(data: dict[str, Any], title: str, body: str) -> None:
    assert render_message(json.dumps(data)) == NotifyMessage(title, body)


def test_diff_excerpt_skips_headers_and_context_and_caps_lines() -> None:
    diff = "--- previous\n+++ current\n@@ -1,12 +1,12 @@\n context\n" + "".join(
        f"-old {i}\n+new {i}\n" for i in range(6)) + "-" + "x" * 500 + "\n"
    lines = diff_excerpt(diff)
    assert lines[:2] == ["- old 0", "+ new 0"]
    assert len(lines) == 9
    assert lines[-1] == "… 5 more changed lines"
    assert all(len(line) <= 210 for line in lines)
    assert diff_excerpt("--- previous\n+++ current\n") == []


@pytest.mark.parametrize("bad", ["[]", '{"type": "article.new"}', "not json"])
def test_message_rejects_what_is_not_an_event(bad: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (json's own error is a ValueError too)
        render_message(bad)


# --- sending through Apprise ------------------------------------------------------------------
TOKEN = "s3cret-t0ken"


@pytest.fixture
async def server() -> AsyncIterator[WebhookReceiver]:
    """What Apprise's json:// posts, recorded (no secrets: nothing is signed)."""
    async with receiver_factory() as make:
        yield await make((), path="/notify")


def notify_url(server: WebhookReceiver) -> str:
    return server.apprise_url("bot", TOKEN)


def posts(server: WebhookReceiver) -> list[Any]:
    return [r.json for r in server.requests]


async def store_edit(store: SQLiteStore, notify: list[NotifySettings], at: datetime) -> str:
    routes = Routes(notify=notify)
    first = article_new(REF, OLD, created_at=at, routes=Routes(), max_bytes=10_000)
    article = await store.create_article(extractor_version=1, canonical_url=REF.canonical_url, url=REF.url,
                                         feed_url=REF.feed_url, content=OLD, event=first,
                                         seen_at=at, next_check_at=at)
    event = article_edited(REF, OLD, NEW, describe_changes(OLD, NEW), version=2, created_at=at,
                           routes=routes, max_bytes=10_000)
    assert event.endpoints == (notify_endpoint_key(notify[0].url),)
    await store.add_version(article.article_id, extractor_version=1, content=NEW, event=lambda _: event, fetched_at=at,
                            next_check_at=at)
    return event.event_id


def attempts(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as raw:
        return raw.execute("SELECT d.endpoint_url, a.status_code, a.outcome, a.error FROM "
                           "delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
                           "ORDER BY a.id").fetchall()


async def test_notification_sent_retried_and_recorded_without_leaking_the_token(
    store: SQLiteStore, server: WebhookReceiver, tmp_path: Path,
) -> None:
    entry = NotifySettings(url=notify_url(server))
    key = notify_endpoint_key(entry.url)
    clock = whole_second_clock()
    await store_edit(store, [entry], clock.now)
    server.script(500)
    async with aiohttp.ClientSession() as session:
        deliverer = Deliverer(store, [], delivery_settings(), session, clock=clock,
                              notify=[entry])
        with capture_logs() as logs:
            assert await deliverer.run_once() == 1
            [pending] = await store.list_deliveries(("pending",))
            assert pending.endpoint_url == key
            assert pending.last_error == "Apprise: FAILURE (JSON)"
            assert await deliverer.run_once() == 0  # the schedule, not a tight loop
            assert pending.next_attempt_at is not None
            clock.to(pending.next_attempt_at)
            assert await deliverer.run_once() == 1
    assert len(posts(server)) == 2
    post = posts(server)[-1]
    assert post == posts(server)[0]  # a retry sends the same message
    assert post["title"] == "Storm hits the coast"
    body = post["message"].splitlines()
    assert body[0].startswith("Edited: headline changed, text changed, +")
    assert "+ Storm batters the coast" in body
    assert "+ Second paragraph, updated." in body
    assert body[-1] == "https://news.example/a"
    assert "authorization" in server.requests[0].headers  # the URL's credentials were used ...
    text = repr(logs)  # ... and never logged
    assert TOKEN not in text
    assert notify_url(server) not in text
    assert {e["endpoint"] for e in logs if e["event"] == "delivery_attempt"} == {key}
    [done] = await store.list_deliveries(("delivered",))
    assert done.endpoint_url == key
    assert done.attempts == 2
    assert [row[:3] for row in attempts(tmp_path / "crawler.db")] == [
        (key, None, "retry"), (key, None, "delivered")]
    assert TOKEN not in repr(attempts(tmp_path / "crawler.db"))


async def test_webhooks_and_notify_share_one_outbox(
    store: SQLiteStore, server: WebhookReceiver,
) -> None:
    entry = NotifySettings(url=notify_url(server), events=("article.deleted",))
    secret = make_secret()
    async with receiver_factory() as make, aiohttp.ClientSession() as session:
        receiver = await make(secret)
        hooks = [hook(receiver.url, secret)]
        routes = Routes(webhooks=hooks, notify=[entry])
        now = datetime.now(UTC)
        created = article_new(REF, OLD, created_at=now, routes=routes, max_bytes=10_000)
        assert created.endpoints == (receiver.url,)  # notify wants deletions only
        article = await store.create_article(extractor_version=1, canonical_url=REF.canonical_url, url=REF.url,
                                             feed_url=REF.feed_url, content=OLD, event=created,
                                             seen_at=now, next_check_at=now)
        gone = article_deleted(REF, previous_version=1, status=410, created_at=now,
                               routes=routes, max_bytes=10_000)
        await store.mark_deleted(article.article_id, event=gone, checked_at=now,
                                 next_check_at=None)
        deliverer = Deliverer(store, hooks, delivery_settings(), session, notify=[entry])
        assert await deliverer.run_once() == 3
        assert [r.json["type"] for r in receiver.requests] == ["article.new", "article.deleted"]
        assert all(r.verified for r in receiver.requests)
    assert [(p["title"], p["message"]) for p in posts(server)] == [
        ("Storm hits the coast", "Deleted (HTTP 410)\n\nhttps://news.example/a")]


async def test_hanging_notification_target_ends_within_the_timeout(
    store: SQLiteStore, server: WebhookReceiver,
) -> None:
    entry = NotifySettings(url=notify_url(server))
    await store_edit(store, [entry], datetime.now(UTC))
    server.default = HANG
    async with aiohttp.ClientSession() as session:
        deliverer = Deliverer(store, [], delivery_settings(timeout="1s"), session,
                              notify=[entry])
        started = time.monotonic()
        assert await deliverer.run_once() == 1
        assert time.monotonic() - started < 1.0 + 2.5
    [pending] = await store.list_deliveries(("pending",))
    assert pending.attempts == 1
    assert pending.next_attempt_at is not None
    assert pending.next_attempt_at > datetime.now(UTC) + timedelta(seconds=2)


def test_core_does_not_import_apprise() -> None:
    code = ("import sys, crawler.app, crawler.webhooks.deliverer, crawler.daemon; "
            "sys.exit(1 if 'apprise' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False,
                          timeout=60).returncode == 0
