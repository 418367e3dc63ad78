"""Claims across process starts, through real `crawler run` subprocesses on one SQLite file:
a daemon killed mid-pass leaves its claimed work leased; SQLite admits one daemon per file, so
the next daemon (a new lease owner) knows those leases are dead, takes them over at once
instead of waiting for them to expire, and does the work exactly once. Takeover after expiry,
between live owners side by side, is covered by the store tests and the PostgreSQL fleet
test."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.e2e_support import running_daemon, stop_daemon, wait_for

FAST = '[delivery]\nretry_schedule = ["1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s"]\n'
# Long leases: a takeover that waited for them would not finish within the test's waits.
LEASE, RENEW = 60.0, 1.0

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses POSIX signals")


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


def story(site: NewsSite, i: int) -> None:
    site.add(f"story{i}", f"Story number {i}", f"Lead of story {i} is here today.",
             [f"Body paragraph of story {i}, with enough words to be an article."])


async def test_a_killed_daemons_feed_poll_is_taken_over_at_restart_and_done_once(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    for i in range(3):
        story(site, i)
    site.page_delay = 30.0  # the first poll is still following its entries when it dies
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          extra=FAST)
    async with running_daemon(config, tmp_path, lease=(LEASE, RENEW)) as victim:
        await wait_for(lambda: sum(r.startswith("/news/") for r in site.requests) == 3)
        victim.kill()  # SIGKILL: its claim of the feed stays in the database
        await victim.wait()
    killed_at = time.monotonic()
    polls_before = site.requests.count("/rss.xml")
    assert polls_before == 1
    [(owner, _)] = rows(tmp_path / "crawler.db", "SELECT lease_owner, url FROM feeds")
    assert owner is not None
    site.page_delay = 0.0
    async with running_daemon(config, tmp_path, lease=(LEASE, RENEW)) as daemon:
        await wait_for(lambda: site.requests.count("/rss.xml") > polls_before)
        first_poll = next(t for t, path in site.request_times if path == "/rss.xml"
                          and t > killed_at)
        await wait_for(lambda: len(receiver.accepted()) >= 3)
        await asyncio.sleep(1.5)  # later polls find nothing new
        assert await stop_daemon(daemon) == 0
    # The dead daemon's lease had most of a minute to run: the new daemon did not wait for it.
    assert first_poll - killed_at < LEASE / 2
    new_events = [r.json for r in receiver.accepted() if r.json["type"] == "article.new"]
    assert sorted(e["data"]["article"]["title"] for e in new_events) == [
        f"Story number {i}" for i in range(3)]
    assert len({r.headers["webhook-id"] for r in receiver.accepted()}) == len(
        receiver.accepted()) == 3
    db = tmp_path / "crawler.db"
    assert rows(db, "SELECT count(*) FROM articles") == [(3,)]
    assert rows(db, "SELECT count(*) FROM versions") == [(3,)]
    assert rows(db, "SELECT count(*) FROM events") == [(3,)]
    # A clean stop gives back what it held: nothing stays leased.
    assert rows(db, "SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL") == [(0,)]


async def test_a_killed_daemons_recheck_is_taken_over_at_restart_and_announced_once(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    story(site, 0)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["1s"]', extra=FAST)
    page = "/news/story0.html"
    async with running_daemon(config, tmp_path, lease=(LEASE, RENEW)) as victim:
        await wait_for(lambda: len(receiver.accepted()) == 1)  # article.new
        site.stories["story0"].title = "Story number 0, updated"
        site.page_delay = 30.0
        fetches = site.requests.count(page)
        await wait_for(lambda: site.requests.count(page) > fetches)  # a re-check in flight
        victim.kill()
        await victim.wait()
    killed_at = time.monotonic()
    db = tmp_path / "crawler.db"
    [(owner,)] = rows(db, "SELECT lease_owner FROM articles")
    assert owner is not None  # claimed by the dead daemon, not recorded
    assert rows(db, "SELECT count(*) FROM versions") == [(1,)]
    site.page_delay = 0.0
    async with running_daemon(config, tmp_path, lease=(LEASE, RENEW)) as daemon:
        await wait_for(lambda: any(r.json["type"] == "article.edited"
                                   for r in receiver.accepted()))
        await asyncio.sleep(2.5)  # more re-checks: the same text, nothing more to announce
        assert await stop_daemon(daemon) == 0
    recheck = next(t for t, path in site.request_times if path == page and t > killed_at)
    assert recheck - killed_at < LEASE / 2
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new", "article.edited"]
    assert rows(db, "SELECT count(*) FROM versions") == [(2,)]
    log = [json.loads(line) for line in (tmp_path / "crawler.jsonl").read_text().splitlines()]
    owners = [e["lease_owner"] for e in log if e["event"] == "daemon_started"]
    assert len(owners) == len(set(owners)) == 2  # each start its own owner
