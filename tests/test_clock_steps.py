"""Steps of the wall clock against a running daemon: work is timed by the monotonic clock and
stored due times are repaired, so after a step of an hour back, or with due times left days
ahead by a clock that ran fast (seen at start, or while running), nothing waits longer than
its interval."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.config import load_config
from crawler.daemon import run_daemon
from crawler.testing import news_site
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.e2e_support import running_daemon, stop_daemon

PARAS = news_site.PARAS[:2]
FAST = '[delivery]\nretry_schedule = ["1s", "1s", "1s", "1s"]\n'
STORED = "%Y-%m-%dT%H:%M:%S.%fZ"  # how the SQLite store writes times


class SteppingClock:
    """The real wall clock, plus steps the test makes."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def step(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


async def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds it took `condition` to hold."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def edited(receiver: Receiver) -> bool:
    return any(r.json["type"] == "article.edited" for r in receiver.accepted())


async def test_a_step_back_of_an_hour_delays_no_work(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["2s"]', extra=FAST)
    clock = SteppingClock()
    stop = asyncio.Event()
    running = asyncio.create_task(run_daemon(load_config(config), clock=clock, stop=stop))
    try:
        await wait_for(lambda: len(receiver.accepted()) == 1, 30)
        await asyncio.sleep(0.5)  # the next poll and re-check are scheduled, an hour ahead
        polls = site.requests.count("/rss.xml")
        clock.step(-3600)
        story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
        # The re-check interval is 2 s and the feed's 1 s: an hour's wait would fail this.
        assert await wait_for(lambda: edited(receiver), 30) < 15
        assert site.requests.count("/rss.xml") > polls
    finally:
        stop.set()
        assert await asyncio.wait_for(running, 40) == 0


async def test_due_times_left_days_ahead_are_repaired_at_start(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["2s"]', extra=FAST)
    async with running_daemon(config, tmp_path) as daemon:
        await wait_for(lambda: len(receiver.accepted()) == 1, 30)
        assert await stop_daemon(daemon) == 0
    # What a clock two days fast leaves behind: every row written "then", due "then".
    ahead = datetime.now(UTC) + timedelta(days=2)
    written, due = ahead.strftime(STORED), (ahead + timedelta(seconds=2)).strftime(STORED)
    with sqlite3.connect(tmp_path / "crawler.db") as db:
        db.execute("UPDATE feeds SET last_polled_at = ?, next_poll_at = ?", (written, due))
        db.execute("UPDATE articles SET last_checked_at = ?, next_check_at = ?", (written, due))
    polls = site.requests.count("/rss.xml")
    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    async with running_daemon(config, tmp_path) as daemon:
        took = await wait_for(lambda: edited(receiver), 30)
        # The feed too (its claim beat is jittered: it may come a moment after the edit).
        assert await wait_for(lambda: site.requests.count("/rss.xml") > polls, 10) < 15
        assert await stop_daemon(daemon) == 0
    assert took < 15


async def test_two_days_fast_and_back_while_running_delays_no_work(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    """The clock runs two days fast for a while (a VM resumed with a wrong clock) and NTP
    steps it back, the daemon running all along: what it wrote meanwhile is due two days
    ahead, and is repaired as soon as the daemon sees the step back. Polls and re-checks
    every 10 s: none is in flight when the clock steps back."""
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    page = "/news/storm.html"
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["10s"]', extra=FAST)
    config.write_text(config.read_text().replace('interval = "1s"', 'interval = "10s"'))
    clock = SteppingClock()
    stop = asyncio.Event()
    running = asyncio.create_task(run_daemon(load_config(config), clock=clock, stop=stop))
    try:
        await wait_for(lambda: len(receiver.accepted()) == 1, 30)
        polls, checks = site.requests.count("/rss.xml"), site.requests.count(page)
        clock.step(2 * 86400)
        # Two days "later" everything is due: the feed is polled and the page re-checked,
        # both scheduled from the fast clock; the clock stays fast a few watches long.
        await wait_for(lambda: site.requests.count("/rss.xml") > polls
                       and site.requests.count(page) > checks, 30)
        await asyncio.sleep(2.5)
        clock.step(-2 * 86400)
        polls = site.requests.count("/rss.xml")
        story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
        # Left as written, the next poll and re-check would wait two days (the clamp of every
        # minute is too late for this); repaired, they come within their 10 s.
        assert await wait_for(lambda: edited(receiver), 30) < 20
        assert await wait_for(lambda: site.requests.count("/rss.xml") > polls, 30) < 20
    finally:
        stop.set()
        assert await asyncio.wait_for(running, 40) == 0
