"""Diffs, the `changes` summary and event payloads."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from crawler import events
from crawler.config import WebhookSettings
from crawler.diffing import (
    Block,
    WordChange,
    describe_changes,
    paragraph_diff,
    tokens,
    unified_diff,
    word_diff,
)
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


RFI_CLAUSE = "1月17日至18日在比利时布鲁塞尔的北约总部举行，第二天另行举行由韩国、日本、澳大利亚参与的会议。"


@pytest.mark.parametrize(("text", "expected"), [
    ("twelve homes", ["twelve", " ", "homes"]),
    ("1月17日至18日", ["1", "月", "1", "7", "日", "至", "1", "8", "日"]),
    ("２０２６年", ["２", "０", "２", "６", "年"]),  # full-width digits
    ("東京でカレー", ["東", "京", "で", "カ", "レ", "ー"]),
    ("서울에 비", ["서", "울", "에", " ", "비"]),
    ("G20峰会", ["G20", "峰", "会"]),
    ("in 2026, 年", ["in", " ", "2026", ",", " ", "年"]),
])
def test_tokens_are_characters_in_cjk_and_words_elsewhere(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(("old", "new", "added", "removed"), [
    # The example: a two-digit date change inside a 40-character clause.
    (RFI_CLAUSE, RFI_CLAUSE.replace("1月17日至18日", "1月18日至19日"), 2, 2),
    ("东京今天下雨。", "东京今天下雪。", 1, 1),
    ("東京で雨が降った。", "東京で雪が降った。", 1, 1),
    ("ニュースを読む", "ニュースを書く", 2, 2),
    ("서울에 비가 왔다.", "서울에 눈이 왔다.", 2, 2),
    ("２０２５年の予算", "２０２６年の予算", 1, 1),
    ("G20峰会开幕", "G7峰会开幕", 2, 3),
    ("Twelve homes were damaged.", "Twenty homes were damaged.", 6, 6),
    ("死亡人数为12人。", "死亡人数为12人。据报道还有3人受伤。", 10, 0),
    # A long paragraph: the common characters must not be skipped as junk.
    ("的是在了不和有大这中人为上个国" * 200 + RFI_CLAUSE,
     "的是在了不和有大这中人为上个国" * 200 + RFI_CLAUSE.replace("17日", "18日"), 1, 1),
])
def test_chars_counted_per_character_in_cjk(old: str, new: str, added: int,
                                              removed: int) -> None:
    changes = describe_changes(make_content("标题", old), make_content("标题", new))
    assert (changes.chars_added, changes.chars_removed) == (added, removed)
    assert 0 < changes.similarity < 1


def test_word_diff_of_a_cjk_date_change_marks_the_digits() -> None:
    ops = [(c.op, c.text) for c in
           word_diff(RFI_CLAUSE, RFI_CLAUSE.replace("1月17日至18日", "1月18日至19日"))]
    assert ops[:6] == [("equal", "1月1"), ("delete", "7"), ("insert", "8"), ("equal", "日至1"),
                       ("delete", "8"), ("insert", "9")]
    assert ops[6][0] == "equal" and len(ops) == 7


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


LONG_PARAGRAPH = " ".join(f"word{i % 797}" for i in range(5_000)) + "."
REPEATED_PARAGRAPHS = "\n\n".join(["Ad"] * 6_000)


def _sides(changes: list[WordChange]) -> tuple[str, str]:
    """The two texts a word diff was made from."""
    old = "".join(c.text for c in changes if c.op != "insert")
    return old, "".join(c.text for c in changes if c.op != "delete")


def test_long_paragraphs_and_repeated_paragraphs_are_diffed_at_once() -> None:
    """What the web view and its Atom feed show, on the daemon's loop. An exact match visits
    every pair of equal tokens, and every space is a token: one word changed in a paragraph
    of 5,000 took 3 s (of 20,000, a minute); 6,000 paragraphs "Ad" and one added, 6 s."""
    started = time.perf_counter()
    edited = LONG_PARAGRAPH.replace("word400 ", "word400x ", 1)
    assert [c for c in word_diff(LONG_PARAGRAPH, edited) if c.op != "equal"] == [
        WordChange("delete", "word400"), WordChange("insert", "word400x")]
    old = make_content("Ads", REPEATED_PARAGRAPHS)
    new = make_content("Ads", REPEATED_PARAGRAPHS + "\n\nOne more.")
    assert [b for b in paragraph_diff(old, new) if b.changed] == [
        Block(True, (WordChange("insert", "One more."),))]
    # Changed at both ends: shown coarser, yet still both versions, word for word.
    both_ends = LONG_PARAGRAPH.replace("word0 ", "word0x ", 1).replace("word4 ", "word4x ")
    assert _sides(word_diff(LONG_PARAGRAPH, both_ends)) == (LONG_PARAGRAPH, both_ends)
    assert time.perf_counter() - started < 1.0
