"""Hostile pages against a real daemon: a 250,000-deep `<div>` page, a 5 MB single-paragraph
article edited by one word and one of 6,000 paragraphs alike must not delay `/healthz` nor an
ordinary article's edit; a page
over its time budget is a failed check that backs off, also when its check was cut short."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import socket
import tempfile
import time
from pathlib import Path

import aiohttp

from crawler.app import App
from crawler.budget import Budget
from crawler.config import load_config
from crawler.testing import news_site
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.conftest import FakeClock
from tests.e2e_support import running_daemon, stop_daemon

PARAS = news_site.PARAS[:2]
FAST = '[delivery]\nretry_schedule = ["1s", "1s", "1s", "1s"]\n'
DEEP_TEXT = "The only paragraph of the deep page, long enough to be an article's text."


def deep_page(depth: int = 250_000) -> str:
    return ("<!DOCTYPE html><html><head><title>Deep page</title></head><body>"
            + "<div>" * depth + f"<p>{DEEP_TEXT}</p>" + "</div>" * depth + "</body></html>")


def long_paragraph(size: int = 5_000_000) -> str:
    words = [f"word{i % 7919}" for i in range(size // 9)]
    return " ".join(words) + "."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HealthProbe:
    """Asks `/healthz` every 0.1 s and keeps the slowest answer's time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.worst = 0.0
        self.answers = 0

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                started = time.monotonic()
                try:
                    async with session.get(self.url, timeout=aiohttp.ClientTimeout(60)) as r:
                        await r.read()
                        self.answers += r.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    pass  # not up yet, or timed out: the time taken counts
                if self.answers:
                    self.worst = max(self.worst, time.monotonic() - started)
                await asyncio.sleep(0.1)


class WatchdogPings:
    """The daemon's sd_notify datagrams; keeps the longest gap between two WATCHDOG=1."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pings: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.sock, 4096)
            if b"WATCHDOG=1" in data:
                self.pings.append(time.monotonic())

    @property
    def worst_gap(self) -> float:
        return max((b - a for a, b in itertools.pairwise(self.pings)), default=0.0)


async def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def types_of(receiver: Receiver, slug: str) -> list[str]:
    return [r.json["type"] for r in receiver.accepted()
            if f"/{slug}.html" in r.json["data"]["article"]["url"]]


async def test_hostile_pages_delay_neither_healthz_nor_an_ordinary_edit(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    storm = site.add("storm", "Storm hits coast", LEAD, PARAS)
    huge = site.add("huge", "A very long report", LEAD, [long_paragraph()])
    site.add("deep", "Deep page", LEAD, PARAS).html = deep_page()
    # 6,000 paragraphs alike: a short text whose exact diff is quadratic (5 s on the loop).
    repeated = site.add("repeated", "Repeated paragraphs", LEAD, PARAS[:1] + ["Ad"] * 6_000)
    port = free_port()
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["2s"]',
                          extra=FAST + f'[http]\nlisten = "127.0.0.1:{port}"\n')
    probe = HealthProbe(f"http://127.0.0.1:{port}/healthz")
    folder = tempfile.TemporaryDirectory(prefix="crw")  # AF_UNIX paths are short
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(f"{folder.name}/notify.sock")
    sock.setblocking(False)
    watchdog = WatchdogPings(sock)
    probing = [asyncio.create_task(probe.run()), asyncio.create_task(watchdog.run())]
    try:
        # WatchdogSec=2: a ping is due every second.
        async with running_daemon(config, tmp_path, NOTIFY_SOCKET=f"{folder.name}/notify.sock",
                                  WATCHDOG_USEC="2000000") as daemon:
            await wait_for(lambda: all(types_of(receiver, s) == ["article.new"]
                                       for s in ("storm", "huge", "deep", "repeated")), 90)
            # One word of the 5 MB paragraph and one of the ordinary article, at once.
            huge.paragraphs[0] = huge.paragraphs[0].replace("word4000 ", "word4000x ", 1)
            storm.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
            repeated.paragraphs.append("A paragraph added below the repeated ones.")
            edited = time.monotonic()
            await wait_for(lambda: "article.edited" in types_of(receiver, "storm"), 60)
            storm_late = time.monotonic() - edited
            await wait_for(lambda: "article.edited" in types_of(receiver, "huge"), 60)
            await wait_for(lambda: "article.edited" in types_of(receiver, "repeated"), 60)
            assert await stop_daemon(daemon) == 0
    finally:
        for task in probing:
            task.cancel()
        sock.close()
        folder.cleanup()
    # The interval is 2 s and claims run every second: the edit is out within a few seconds
    # (the word diff of the long paragraph alone held the loop for about a minute).
    assert storm_late < 15, storm_late
    assert probe.answers > 10
    assert probe.worst < 3.0, probe.worst  # the deep page held the loop for over two minutes
    # systemd kills a daemon that misses its pings for WatchdogSec (2 s here).
    assert len(watchdog.pings) >= 4 and watchdog.worst_gap < 2.0, watchdog.pings
    [huge_edit] = [r.json for r in receiver.accepted() if r.json["type"] == "article.edited"
                   and "/huge.html" in r.json["data"]["article"]["url"]]
    changes = huge_edit["data"]["changes"]
    assert (changes["chars_added"], changes["chars_removed"]) == (9, 8)
    deep = next(r.json for r in receiver.accepted()
                if "/deep.html" in r.json["data"]["article"]["url"])
    assert DEEP_TEXT in deep["data"]["text"]


def slow_page() -> str:
    """A page that takes seconds to extract (a few million short paragraphs)."""
    return ("<html><head><title>Slow page</title></head><body><article>"
            + "<p>Short paragraph of the slow page.</p>" * 180_000 + "</article></body></html>")


async def test_a_page_over_its_time_budget_backs_off_and_a_cut_check_still_moves(
        tmp_path: Path, site: NewsSite, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = load_config(write_config(tmp_path, [site.url("/rss.xml")], intervals='["1m"]'))
    async with App(settings, clock=clock, budget=Budget(page_seconds=0.3)) as app:
        await app.run_pass()
        story.html = slow_page()
        clock.advance(60)
        [article] = await app.due.claim_checks()
        outcome = await app.due.check(article)
        assert outcome.result == "error"  # over budget: a failed check...
        assert await app.due.claim_checks() == []  # ...that moved the next one (not at once)

    async with App(settings, clock=clock, budget=Budget(page_seconds=60)) as app:
        clock.advance(60)
        [article] = await app.due.claim_checks()
        check = asyncio.create_task(app.due.check(article))
        # Cut short while the worker extracts (as a watchdog kill would cut it).
        await wait_for(lambda: bool(multiprocessing.active_children()), 30)
        await asyncio.sleep(0.2)
        assert not check.done()
        check.cancel()
        await asyncio.gather(check, return_exceptions=True)
        # Its lease is given back, yet the article is not due again at once.
        assert await app.due.claim_checks() == []
        clock.advance(60)
        assert len(await app.due.claim_checks()) == 1
