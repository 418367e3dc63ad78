"""Worker processes: results come back, a call past its deadline kills only its own worker,
a crash is reported, and the pool keeps working after both."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from crawler.workers import WorkerCrashedError, WorkerPool, WorkerTimeoutError


def square(n: int) -> int:
    return n * n


def spin(seconds: float) -> int:
    # CPU work, not a sleep: what a hostile page does to a worker.
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return os.getpid()


def die() -> None:
    os._exit(3)


def fail() -> None:
    raise ValueError("bad input")


async def test_results_exceptions_deadlines_and_crashes() -> None:
    pool = WorkerPool(size=1)
    try:
        assert await pool.run(square, 7, deadline=30) == 49
        first = await pool.run(spin, 0.0, deadline=30)
        assert await pool.run(spin, 0.0, deadline=30) == first  # the worker is kept
        with pytest.raises(ValueError, match="bad input"):
            await pool.run(fail, deadline=30)
        assert await pool.run(spin, 0.0, deadline=30) == first  # an exception is no crash

        started = time.monotonic()
        with pytest.raises(WorkerTimeoutError):
            await pool.run(spin, 60.0, deadline=0.5)
        assert time.monotonic() - started < 10
        replaced = await pool.run(spin, 0.0, deadline=30)
        assert replaced != first  # the runaway worker was killed, a new one started
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)

        with pytest.raises(WorkerCrashedError):
            await pool.run(die, deadline=30)
        assert await pool.run(square, 3, deadline=30) == 9
    finally:
        await pool.close()
    assert pool.workers == 0


async def test_the_loop_stays_free_while_a_worker_spins() -> None:
    pool = WorkerPool(size=1)
    try:
        await pool.run(square, 1, deadline=30)  # started, so spawn time is not measured
        busy = asyncio.ensure_future(pool.run(spin, 2.0, deadline=30))
        worst = 0.0
        while not busy.done():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - before)
        await busy
        assert worst < 0.5
    finally:
        await pool.close()


async def test_a_cancelled_call_kills_its_worker() -> None:
    pool = WorkerPool(size=1)
    try:
        first = await pool.run(spin, 0.0, deadline=30)
        call = asyncio.ensure_future(pool.run(spin, 60.0, deadline=120))
        await asyncio.sleep(0.5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await pool.run(spin, 0.0, deadline=30) != first
    finally:
        await pool.close()


async def test_offload_classifies_big_edits_in_a_worker_and_cheaply_past_the_budget() -> None:
    from crawler.budget import Budget, Offload
    from crawler.cheap_diff import cheap_edit
    from crawler.decision import Edited, classify
    from tests.test_decision import NOW, ONE_A, RULES, A, C, history

    pool = WorkerPool(size=1)
    try:
        edit = history(A, *ONE_A)
        exact = classify(edit, C, RULES, NOW)
        assert isinstance(exact, Edited)
        in_worker = Offload(pool, Budget(inline_chars=10))
        assert await in_worker.classify(edit, C, RULES, NOW) == exact
        past_budget = Offload(pool, Budget(inline_chars=10, max_diff_chars=20))
        cheap = await past_budget.classify(edit, C, RULES, NOW)
        assert cheap == Edited(A, C, cheap_edit(A, C), collapse_persisted=False)
        assert pool.workers == 1  # both ran in the one worker
        inline = Offload(None, Budget(inline_chars=10, max_diff_chars=20))
        assert await inline.classify(edit, C, RULES, NOW) == cheap
    finally:
        await pool.close()


class LoopWatch:
    """Ticks on the event loop every 10 ms and keeps the longest gap between two ticks: how
    long the loop was held (what `/healthz` and the watchdog would have waited)."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.worst = max(self.worst, now - last)
            last = now


REPEATED = [
    # 54 KB of page, 24 K characters of text: far below the inline sizes, yet an exact
    # match of the paragraphs looks at every pair of equal ones (5 s on the loop).
    ("6,000 paragraphs alike", "\n\n".join(["Ad"] * 6_000), "\n\nOne more paragraph."),
    # The words of one paragraph, alike: the exact word match of its edit (2 s).
    ("one paragraph of 4,500 words alike", " ".join(["word"] * 4_500), " More."),
]


@pytest.mark.parametrize(("name", "body", "added"), REPEATED, ids=[r[0] for r in REPEATED])
async def test_an_edit_of_repeated_text_is_classified_without_holding_the_loop(
        name: str, body: str, added: str) -> None:
    """RELIABILITY 42: what holds the loop is the cost of the diff, not the size of the
    text: repeated paragraphs (or words) make an exact match quadratic in their number."""
    from crawler.budget import Offload
    from crawler.decision import Edited
    from crawler.textnorm import make_content
    from tests.test_decision import NOW, RULES, history

    old = make_content("Repeated", "A lead paragraph, written for this page.\n\n" + body)
    new = make_content("Repeated", old.text + added)
    pool = WorkerPool(size=1)
    watch = LoopWatch()
    watching = asyncio.create_task(watch.run())
    try:
        await asyncio.sleep(0.05)
        decision = await Offload(pool).classify(history(old), new, RULES, NOW)
        await asyncio.sleep(0.05)  # the watch's next tick measures the gap the call made
    finally:
        watching.cancel()
        await pool.close()
    assert isinstance(decision, Edited)
    assert decision.changes.chars_added == len(added.replace(" ", "").replace("\n", ""))
    assert watch.worst < 1.0, watch.worst


def big_feed(items: int, *, closed: bool = True) -> bytes:
    """An RSS feed of `items` entries of ~1.6 KB each; not `closed`: half its items never end
    (a malformed feed, which feedparser reads with its slower loose parser)."""
    body = "".join(
        f"<item><title>Story {i}</title><link>https://news.example/{i}</link><guid>g{i}</guid>"
        f"<description>&lt;p&gt;{'word ' * 300}&lt;/p&gt;</description></item>"
        for i in range(items))
    if not closed:
        body = body.replace("</item>", "", items // 2)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>News</title>{body}"
            "</channel></rss>").encode()


async def test_a_big_feed_is_parsed_in_a_worker_and_one_too_slow_to_parse_fails_alone() -> None:
    from crawler.budget import Budget, Offload, OverBudgetError
    from crawler.feeds import FeedParseError, parse_feed

    pool = WorkerPool(size=1)
    watch = LoopWatch()
    watcher = asyncio.create_task(watch.run())
    try:
        small = big_feed(3)
        offload = Offload(pool, Budget(inline_bytes=len(small) * 2))
        assert await offload.parse_feed(small, "https://news.example/rss") == parse_feed(
            small, "https://news.example/rss")
        assert pool.workers == 0  # an ordinary feed never needs one
        big = big_feed(40)
        assert await offload.parse_feed(big, "https://news.example/rss") == parse_feed(
            big, "https://news.example/rss")
        assert pool.workers == 1
        with pytest.raises(FeedParseError, match="not an RSS or Atom feed"):
            await offload.parse_feed(b"<html>" + b"x" * len(small) * 3, "https://e.org/rss")
        # 3.3 MB of malformed feed: a second or more of feedparser, on every poll.
        hostile = big_feed(2_000, closed=False)
        tight = Offload(pool, Budget(inline_bytes=len(small) * 2, page_seconds=0.05))
        with pytest.raises(OverBudgetError, match=r"parsing 3[0-9]{6} bytes of feed"):
            await tight.parse_feed(hostile, "https://news.example/rss")
        again = await offload.parse_feed(big, "https://news.example/rss")  # the pool goes on
        assert len(again.entries) == 40
    finally:
        watcher.cancel()
        await pool.close()
    assert watch.worst < 0.5  # the loop was never held by the parsing
