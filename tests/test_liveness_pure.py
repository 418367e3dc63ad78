"""Pure parts of staying alive: the markup's shape and its flattening, the linear diff for huge
versions, the clamp of stored due times, the clock-step watch, failure streaks by the
monotonic clock, and the monotonic job ticker."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from crawler.change_report import describe_edit
from crawler.cheap_diff import cheap_changes, cheap_edit
from crawler.clockstep import ClockWatch, clamp_due
from crawler.diffing import describe_changes
from crawler.extract import extract_article
from crawler.extract.shape import MAX_DEPTH, Shape, flatten, shape
from crawler.kinds import EndpointState
from crawler.textnorm import make_content
from crawler.ticker import Ticker
from crawler.webhooks import health

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(("html", "expected"), [
    ("<div><div><span>x</span></div></div>", Shape(3, 3)),
    # Void elements and those whose end tag may be left out never nest on their own.
    ("<p>a<p>b<p>c<br><img src=x><li>d<li>e", Shape(0, 7)),
    ("<div/><svg><path/></svg>", Shape(1, 3)),
    # Tags inside scripts, styles and comments are not markup.
    ('<script>"<div><div><div>"</script><style>a<b{}</style><!-- <div><div> -->', Shape(0, 2)),
    ("</div></div><div>", Shape(1, 1)),  # stray end tags do not go below zero
    ('<div title="a>b"><a href=\'x>y\'>t</a></div>', Shape(2, 2)),
])
def test_shape(html: str, expected: Shape) -> None:
    assert shape(html) == expected


def test_flatten_drops_only_the_tags_past_the_depth_and_keeps_their_text() -> None:
    assert flatten("<div><div><div>deep</div></div></div>", 2) == "<div><div>deep</div></div>"
    page = "<div><p>kept <b>as is</b></p></div>"
    assert flatten(page, 2) is page
    assert flatten("<a><b><c>x</c>y</b>z</a>", 1) == "<a>xyz</a>"


def test_a_page_nested_250000_deep_extracts_in_seconds_with_its_text() -> None:
    n = 250_000
    html = ("<html><head><title>Deep</title></head><body>" + "<div>" * n
            + "<p>The only paragraph of this page, with enough words to be its text.</p>"
            + "</div>" * n + "</body></html>")
    assert shape(html).too_deep()
    started = time.perf_counter()
    article = extract_article(html, "https://news.example/deep")
    assert time.perf_counter() - started < 20  # lexbor alone takes minutes without the cap
    assert "The only paragraph of this page" in article.text
    assert shape(flatten(html)).depth == MAX_DEPTH


EDITS = [
    ("one word in a paragraph", "A storm hit the coast.\n\nSecond.", "A storms hit the coast.\n\nSecond."),
    ("a number", "Twelve homes were hit.\n\nB.\n\nC.", "Twenty homes were hit.\n\nB.\n\nC."),
    ("a word at the end", "x x x x end", "x x x x ends"),
    ("a paragraph added", "One.\n\nTwo.", "One.\n\nTwo.\n\nThree is new."),
    ("a paragraph removed", "One.\n\nTwo.\n\nThree.", "One.\n\nThree."),
]


@pytest.mark.parametrize(("name", "old", "new"), EDITS, ids=[e[0] for e in EDITS])
def test_cheap_changes_agree_with_the_word_diff_on_one_contiguous_edit(
        name: str, old: str, new: str) -> None:
    a, b = make_content("Title", old), make_content("Title", new)
    cheap, exact = cheap_changes(a, b), describe_changes(a, b)
    assert cheap == exact


@pytest.mark.parametrize(("name", "old", "new"), EDITS, ids=[e[0] for e in EDITS])
def test_cheap_edit_matches_sentences_and_kinds_as_the_daemon_does(
        name: str, old: str, new: str) -> None:
    a, b = make_content("Title", old), make_content("Title", new)
    assert cheap_edit(a, b) == describe_edit(a, b)


def test_cheap_edit_of_a_long_text_finds_the_sentence_and_kind_near_the_change() -> None:
    sentences = [f"Sentence number {i} of the report says little." for i in range(20_000)]
    old = make_content("Title", "\n\n".join(" ".join(sentences[i:i + 10])
                                               for i in range(0, len(sentences), 10)))
    new = make_content("Title", old.text.replace("number 12345 of", "number 12345 of all", 1))
    changes = cheap_edit(old, new)
    assert changes.sentences == {"added": 0, "deleted": 0, "edited": 1, "moved": 0}
    assert changes.kinds == ("addition",)


def test_cheap_changes_over_count_edits_far_apart_and_stay_linear() -> None:
    a = make_content("Title", "One.\n\nTwo.")
    b = make_content("New title", "One.\n\nTwo.\n\nThree.")
    cheap = cheap_changes(a, b)
    assert cheap.title and not cheap.lead and cheap.body
    assert cheap.chars_added >= describe_changes(a, b).chars_added
    words = " ".join(f"w{i % 5000}" for i in range(900_000))  # ~5 MB, one paragraph
    big_old = make_content("T", words)
    big_new = make_content("T", words.replace("w2500 ", "w2500x ", 1))
    started = time.perf_counter()
    changes = cheap_changes(big_old, big_new)
    assert time.perf_counter() - started < 5  # the word diff takes about a minute here
    assert (changes.chars_added, changes.chars_removed) == (6, 5)
    assert changes.similarity > 0.99
    assert changes.diff.startswith("--- previous\n+++ current\n@@ -1,2 +1,2 @@\n")


@pytest.mark.parametrize(("due", "written", "now", "cap", "expected"), [
    # No step: nothing moves.
    (T0 + 10 * MIN, T0, T0, 3600, T0 + 10 * MIN),
    (T0 - MIN, T0 + 60 * MIN, T0, 3600, T0 - MIN),  # due already: stays due
    # Clock stepped back an hour after the write: the 10 minutes are kept, from now.
    (T0 + 70 * MIN, T0 + 60 * MIN, T0, 3600, T0 + 10 * MIN),
    # Written while the clock was two days ahead.
    (T0 + timedelta(days=2, minutes=5), T0 + timedelta(days=2), T0, 86400, T0 + 5 * MIN),
    # Already repaired (due before its write time): left alone, so clamping twice is safe.
    (T0 + 10 * MIN, T0 + timedelta(days=2), T0, 86400, T0 + 10 * MIN),
    # Beyond the cap, whatever wrote it.
    (T0 + timedelta(days=30), T0, T0, 3600, T0 + 60 * MIN),
    (T0 + timedelta(days=30), None, T0, 3600, T0 + 60 * MIN),
])
def test_clamp_due(due: datetime, written: datetime | None, now: datetime, cap: float,
                   expected: datetime) -> None:
    assert clamp_due(due, written, now, cap) == expected
    assert clamp_due(expected, written, now, cap) == expected


def test_clock_watch_sees_steps_not_drift() -> None:
    wall = [T0]
    mono = [100.0]
    watch = ClockWatch(lambda: wall[0], monotonic=lambda: mono[0])

    def tick(wall_s: float, mono_s: float) -> float | None:
        wall[0] += timedelta(seconds=wall_s)
        mono[0] += mono_s
        return watch.stepped()

    assert tick(1, 1) is None
    assert tick(1.5, 1) is None  # drift and jitter
    assert tick(-3600 + 1, 1) == pytest.approx(-3600)
    assert tick(1, 1) is None
    assert tick(2 * 86400, 1) == pytest.approx(2 * 86400 - 1)


def test_a_failure_streak_is_as_long_as_the_monotonic_clock_says() -> None:
    failing = EndpointState("http://h/", failing_since=T0)
    after = T0 + timedelta(days=2)  # the wall clock jumped ahead during a 5 s outage
    kwargs = {"outcome": "retry", "at": after, "error": "HTTP 500", "pause_after": 86400.0,
              "probe_every": 3600.0}
    assert health.after_attempt(failing, **kwargs).paused  # type: ignore[arg-type]
    assert not health.after_attempt(failing, failing_for=5.0, **kwargs).paused  # type: ignore[arg-type]
    assert health.after_attempt(failing, failing_for=90000.0, **kwargs).paused  # type: ignore[arg-type]


async def test_ticker_runs_jobs_on_the_monotonic_clock_one_at_a_time() -> None:
    runs: list[float] = []
    overlapping = 0
    busy = False

    async def job() -> None:
        nonlocal overlapping, busy
        overlapping += busy
        busy = True
        runs.append(time.monotonic())
        await asyncio.sleep(0.15)  # longer than the interval: runs are coalesced
        busy = False

    ticker = Ticker()
    ticker.add("job", 0.05, job)
    ticker.start()
    await asyncio.sleep(0.5)
    ticker.shutdown()
    await ticker.wait_closed()
    assert 2 <= len(runs) <= 5 and overlapping == 0
    assert not ticker.running
