"""The rows of `crawler history` (`crawler.commands.history.timeline`): versions with the
event that announced them, every other event in its own row at its time, whatever its type.
Pure, on records as the store returns them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from crawler.commands.history import History, timeline
from crawler.models import Article, Version
from crawler.store.reads import EventListing
from tests.store_backends import T0

ARTICLE = Article(article_id=7, canonical_url="https://news.example/a", url="https://news.example/a",
                  feed_url="https://news.example/rss", first_seen_at=T0, current_version=2,
                  current_hash="sha256:2", title="Storm", deleted=False, check_count=3,
                  next_check_at=None)


def version(n: int, hours: float) -> Version:
    return Version(article_id=7, number=n, content_hash=f"sha256:{n}", title=f"Storm {n}",
                   text="...", fetched_at=T0 + timedelta(hours=hours))


def event(event_type: str, hours: float, version: int, data: dict[str, object]) -> EventListing:
    return EventListing(
        event_id=f"evt_{event_type}_{hours}", event_type=event_type,
        created_at=T0 + timedelta(hours=hours), version=version, article_id=7, title="Storm",
        url=ARTICLE.url, canonical_url=ARTICLE.canonical_url, feed_url=ARTICLE.feed_url,
        payload=json.dumps({"type": event_type, "data": data}))


@pytest.mark.parametrize("terminal", [True, False])
def test_versions_and_other_events_interleave_in_time_order(terminal: bool) -> None:
    history = History(ARTICLE, [version(1, 0), version(2, 5), version(3, 6)], [
        event("article.new", 0, 1, {"text": "..."}),
        event("article.deleted", 2, 1, {"status": 410}),
        event("article.restored", 5, 2, {"previous_status": 410,
                                          "changes": {"body": True, "chars_added": 4,
                                                      "chars_removed": 0}}),
        event("article.someday", 5.5, 2, {}),
        event("article.deleted", 5.8, 2, {"status": 404}),
        event("article.restored", 5.9, 2, {"previous_status": 404}),
    ])
    rows = timeline(history, terminal=terminal)
    assert [(r[0], r[4]) for r in rows] == [
        ("1", "article.new"),
        ("-", "article.deleted: page answered 410"),
        # stored together with version 2: the page came back with another text
        ("2", "article.restored: page back (it answered 410), text changed: "
              "body: +4 -0 characters"),
        ("-", "article.someday"),
        ("-", "article.deleted: page answered 404"),
        ("-", "article.restored: page back (it answered 404), same text"),
        ("3", "-"),  # stored silently (a flap back, a re-baseline)
    ]
    assert rows[0][2] == ("sha256:1" if not terminal else "sha256:1"[:19])
    assert rows[1][1] == ("2026-11-26 14:00:00" if terminal else "2026-11-26T14:00:00Z")
