"""Diffs, the `changes` summary and event payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from crawler import events
from crawler.config import WebhookSettings
from crawler.diffing import describe_changes, unified_diff, word_diff
from crawler.textnorm import make_content

OLD = make_content("Storm hits coast", "Lead: a storm hit the coast.\n\nTwelve homes were damaged.")


def test_one_word_correction() -> None:
    new = make_content(OLD.title, OLD.text.replace("Twelve", "Twenty"))
    changes = describe_changes(OLD, new)
    assert (changes.title, changes.lead, changes.body) == (False, False, True)
    assert changes.chars_removed == len("Twelve") and changes.chars_added == len("Twenty")
    assert "-Twelve homes were damaged." in changes.diff
    assert "+Twenty homes were damaged." in changes.diff
    assert 0.8 < changes.similarity < 1


def test_headline_change_is_the_first_diff_line() -> None:
    new = make_content("Storm batters coast", OLD.text)
    changes = describe_changes(OLD, new)
    assert changes.title and not changes.body and not changes.lead
    assert "-Storm hits coast\n+Storm batters coast" in changes.diff


def test_added_paragraph() -> None:
    new = make_content(OLD.title, OLD.text + "\n\nOfficials promised aid.")
    changes = describe_changes(OLD, new)
    assert changes.body and not changes.lead and changes.chars_removed == 0
    assert "+Officials promised aid." in unified_diff(OLD, new)


def test_word_diff_marks_only_the_changed_word() -> None:
    ops = [(c.op, c.text) for c in word_diff("twelve homes", "twenty homes")]
    assert ops == [("delete", "twelve"), ("insert", "twenty"), ("equal", " homes")]


HOOKS = (
    WebhookSettings.model_validate({"url": "http://a/h", "secret": "whsec_" + "A" * 32}),
    WebhookSettings.model_validate({"url": "http://b/h", "secret": "whsec_" + "B" * 32,
                                    "events": ["article.deleted"]}),
)
REF = events.ArticleRef(url="https://e.org/a?x", canonical_url="https://e.org/a",
                        feed_url="https://e.org/rss", title="Storm hits coast")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_event_payloads_follow_the_contract() -> None:
    new = make_content("Storm batters coast", OLD.text)
    event = events.article_edited(REF, OLD, new, describe_changes(OLD, new), version=3,
                                  created_at=NOW, routes=events.Routes(HOOKS), max_bytes=256 * 1024)
    body = json.loads(event.payload)
    assert body["type"] == "article.edited" and body["timestamp"] == "2026-11-26T12:00:00Z"
    data = body["data"]
    assert data["article"] == {"url": REF.url, "canonical_url": REF.canonical_url,
                               "feed_url": REF.feed_url, "title": REF.title}
    assert (data["version"], data["previous_version"]) == (3, 2)
    assert data["content_hash"] == new.content_hash and data["previous_hash"] == OLD.content_hash
    assert set(data["changes"]) >= {"title", "body", "chars_added", "chars_removed"}
    assert data["diff"].startswith("--- previous\n+++ current\n")
    assert event.endpoints == ("http://a/h",)  # the second hook wants only deletions
    assert event.event_id.startswith("evt_")

    deleted = events.article_deleted(REF, previous_version=3, status=410, created_at=NOW,
                                     routes=events.Routes(HOOKS), max_bytes=256 * 1024)
    assert json.loads(deleted.payload)["data"] == {
        "article": {"url": REF.url, "canonical_url": REF.canonical_url,
                    "feed_url": REF.feed_url, "title": REF.title},
        "source": "page", "previous_version": 3, "status": 410}
    assert deleted.endpoints == ("http://a/h", "http://b/h")

    created = events.article_new(REF, OLD, created_at=NOW, routes=events.Routes(HOOKS), max_bytes=256 * 1024)
    data = json.loads(created.payload)["data"]
    assert data["version"] == 1 and data["text"] == OLD.text and "truncated" not in data


def test_oversized_payloads_are_truncated_and_marked() -> None:
    huge = make_content("Huge", "\n\n".join(f"Paragraph {i} " + "word " * 200 for i in range(400)))
    event = events.article_new(REF, huge, created_at=NOW, routes=events.Routes(HOOKS), max_bytes=64 * 1024)
    assert len(event.payload.encode()) <= 64 * 1024
    data = json.loads(event.payload)["data"]
    assert data["truncated"] is True and data["text"].endswith("`crawler diff`]")
    assert data["content_hash"] == huge.content_hash
