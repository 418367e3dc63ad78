"""End to end through the real command line: `crawler once`, `crawler run` (a subprocess daemon
with real signals), `crawler history` and `crawler diff`."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web

from crawler.testing import news_site
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver, make_secret, webhook_table
from tests.e2e_support import running_daemon, stop_daemon, wait_for
from tests.log_capture import capture_logs

PARAS = news_site.PARAS[:2]
FAST = '[delivery]\nretry_schedule = ["1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s"]\n'
# Leases (seconds, renewed every) for daemons a test kills: what a killed daemon had claimed
# is taken over once they expire.
LEASE = (2.0, 0.5)


async def crawler(*args: str, cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CRAWLER_CMD, *args, cwd=cwd, env=subprocess_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_once_history_and_diff(tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["1s"]')
    code, _, err = await crawler("once", "--config", str(config), cwd=tmp_path)
    assert code == 0, err
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new"]

    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    await asyncio.sleep(1.1)  # the first re-check is due after 1s
    code, _, err = await crawler("once", "--config", str(config), cwd=tmp_path)
    assert code == 0, err
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new", "article.edited"]

    code, out, _ = await crawler("history", site.article_url("storm"), "--config", str(config),
                                 cwd=tmp_path)
    assert code == 0
    header, *rows = [line.split("\t") for line in out.strip().splitlines()]
    assert header == ["version", "time", "content_hash", "title", "event"]
    assert [r[0] for r in rows] == ["1", "2"]
    assert all(r[2].startswith("sha256:") and r[3] == "Storm hits coast" for r in rows)
    assert [r[4] for r in rows] == ["article.new", "article.edited"]

    code, out, _ = await crawler("diff", site.article_url("storm") + "?utm_source=x",
                                 "--config", str(config), cwd=tmp_path)
    assert code == 0
    assert "-Twelve homes" in out and "+Twenty homes" in out

    code, out, _ = await crawler("diff", site.article_url("storm"), "--format", "words",
                                 "--config", str(config), cwd=tmp_path)
    assert code == 0 and "Twelve" in out and "Twenty" in out and "@@" not in out

    code, out, _ = await crawler("diff", site.article_url("storm"), "--format", "json",
                                 "--from", "1", "--to", "2", "--config", str(config), cwd=tmp_path)
    assert code == 0 and '"chars_added": 6' in out

    code, _, err = await crawler("history", site.url("/news/unknown.html"), "--config",
                                 str(config), cwd=tmp_path)
    assert code == 1 and "no article known" in err


async def test_once_exits_1_when_a_feed_fails(tmp_path: Path, site: NewsSite) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/nope.xml"), site.url("/rss.xml")])
    code, _, _ = await crawler("once", "--config", str(config), cwd=tmp_path)
    assert code == 1
    code, out, _ = await crawler("history", site.article_url("storm"), "--config", str(config),
                                 cwd=tmp_path)
    assert code == 0 and out.splitlines()[1].startswith("1\t")  # the healthy feed was followed
    code, out, _ = await crawler("status", "--config", str(config), cwd=tmp_path)
    assert code == 0
    assert "HTTP 404" in out and "error" in out  # the failing feed, and why
    assert "articles tracked: 1, versions stored: 1" in out
    healthy_row = next(line for line in out.splitlines() if "/rss.xml" in line)
    assert "│ 1 " in healthy_row or " 1 " in healthy_row  # its entries


async def test_daemon_detects_edits_and_stops_cleanly_on_sigterm(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["1s"]', extra=FAST)
    async with running_daemon(config, tmp_path) as daemon:
        await wait_for(lambda: len(receiver.accepted()) >= 1)
        story.title = "Storm batters northern coast"
        await wait_for(lambda: any(r.json["type"] == "article.edited" for r in receiver.accepted()))
        story.status = 410
        await wait_for(lambda: any(r.json["type"] == "article.deleted"
                                   for r in receiver.accepted()))
        started = time.monotonic()
        assert await stop_daemon(daemon) == 0
        assert time.monotonic() - started < 30
    types = [r.json["type"] for r in receiver.accepted()]
    assert types == ["article.new", "article.edited", "article.deleted"]
    assert all(r.verified for r in receiver.requests)


@pytest.mark.skipif(sys.platform != "linux", reason="uses POSIX signals")
async def test_daemon_killed_and_restarted_loses_no_delivery(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    for i in range(3):
        site.add(f"story{i}", f"Story number {i}", f"Lead of story {i} is here today.",
                 [f"Body paragraph of story {i}, with enough words to be an article."])
    receiver.fail_next(10_000, status=503)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          extra=FAST)
    async with running_daemon(config, tmp_path, lease=LEASE) as daemon:
        await wait_for(lambda: len({r.headers["webhook-id"] for r in receiver.requests}) >= 3)
        daemon.kill()  # SIGKILL: no chance to clean up
        await daemon.wait()
    ids_before = {r.headers["webhook-id"] for r in receiver.requests}
    receiver.fail_next(0)
    async with running_daemon(config, tmp_path, lease=LEASE) as daemon:
        await wait_for(lambda: len({r.headers["webhook-id"] for r in receiver.accepted()}) >= 3)
        assert await stop_daemon(daemon) == 0
    delivered = {r.headers["webhook-id"] for r in receiver.accepted()}
    assert delivered == ids_before
    assert sorted(r.json["data"]["article"]["title"] for r in receiver.accepted()) == [
        f"Story number {i}" for i in range(3)]


class KillingReceiver(Receiver):
    """Kills the daemon with SIGKILL as the first webhook arrives, then answers 200: the 2xx
    is sent but the daemon can never record it."""

    victim: asyncio.subprocess.Process | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()  # the whole request arrived (aiohttp keeps the body for later)
        if self.victim is not None and self.victim.returncode is None:
            self.victim.kill()
            await self.victim.wait()
            self.victim = None
        return await super()._handle(request)


async def test_killed_after_the_2xx_before_it_is_recorded_redelivers_the_same_id(
        tmp_path: Path, site: NewsSite) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    receiver = KillingReceiver(make_secret())
    await receiver.start()
    try:
        config = write_config(tmp_path, [site.url("/rss.xml")],
                              webhooks=webhook_table(receiver), extra=FAST)
        # The delivery stays leased to the killed daemon until its lease expires: short
        # leases keep the wait short.
        async with running_daemon(config, tmp_path, lease=LEASE) as victim:
            receiver.victim = victim
            await wait_for(lambda: len(receiver.requests) >= 1)
        first_id = receiver.requests[0].headers["webhook-id"]
        async with running_daemon(config, tmp_path, lease=LEASE) as daemon:
            await wait_for(lambda: len(receiver.requests) >= 2)
            assert await stop_daemon(daemon) == 0
    finally:
        await receiver.close()
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [first_id, first_id]  # at least once, with the id receivers deduplicate on
    assert all(r.verified for r in receiver.requests)
    assert receiver.requests[0].json == receiver.requests[1].json


async def test_sigterm_mid_work_exits_0_with_nothing_half_written(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    for i in range(6):
        site.add(f"story{i}", f"Story number {i}", f"Lead of story {i} is here today.",
                 [f"Body paragraph of story {i}, with enough words to be an article."])
    site.page_delay = 1.0  # every page is slow: SIGTERM lands while pages are in flight
    receiver.fail_next(10_000, status=503)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          extra=FAST)
    async with running_daemon(config, tmp_path) as daemon:
        await wait_for(lambda: any(r.startswith("/news/") for r in site.requests))
        started = time.monotonic()
        assert await stop_daemon(daemon) == 0
        assert time.monotonic() - started < 10  # in-flight pages finished, nothing new began
    with sqlite3.connect(tmp_path / "crawler.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        assert articles >= 1  # the pages in flight were finished and stored
        # every article has its version, its event and its pending delivery: nothing half-written
        assert db.execute("SELECT count(*) FROM versions").fetchone()[0] == articles
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == articles
        statuses = db.execute("SELECT status FROM deliveries").fetchall()
        assert statuses == [("pending",)] * articles


async def test_killed_after_the_commit_before_any_post_delivers_after_restart(
        tmp_path: Path, site: NewsSite) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    with socket.socket() as probe:  # a port nobody listens on yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = Receiver(make_secret())
    config = write_config(tmp_path, [site.url("/rss.xml")], extra=FAST,
                          webhooks=f'[[webhooks]]\nurl = "http://127.0.0.1:{port}/hook"\n'
                                   f'secret = "{receiver.secrets[0]}"\n')
    db_path = tmp_path / "crawler.db"

    def stored_events() -> list[str]:
        if not db_path.exists():
            return []
        with sqlite3.connect(db_path) as db:
            try:
                return [row[0] for row in db.execute("SELECT id FROM events")]
            except sqlite3.OperationalError:  # the schema is still being created
                return []

    async with running_daemon(config, tmp_path, lease=LEASE) as daemon:
        await wait_for(lambda: len(stored_events()) == 1)
        daemon.kill()  # SIGKILL: the event is committed, no POST has reached anyone
        await daemon.wait()
    [event_id] = stored_events()
    await receiver.start(port)
    try:
        async with running_daemon(config, tmp_path, lease=LEASE) as daemon:
            await wait_for(lambda: len(receiver.accepted()) >= 1)
            assert await stop_daemon(daemon) == 0
    finally:
        await receiver.close()
    assert [r.headers["webhook-id"] for r in receiver.accepted()] == [event_id]
    assert receiver.accepted()[0].verified


async def test_work_past_the_drain_deadline_is_cancelled_and_given_back_with_exit_0(
        tmp_path: Path, site: NewsSite, receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop whose work in flight outlasts the drain (a page that does not answer): that work
    is cancelled at the deadline, so the daemon exits 0 within the unit's stop timeout,
    nothing is half-written, an event not yet delivered stays pending, and no lease is left
    behind (the next start, or another member of a fleet, takes the work at once)."""
    import crawler.daemon as daemon_module
    from crawler.config import load_config
    from crawler.daemon import run_daemon

    monkeypatch.setattr(daemon_module, "DRAIN_SECONDS", 1.0)
    # Ample time for the cancelled work to end: only a cancellation ends it before the page.
    monkeypatch.setattr(daemon_module, "CANCEL_SECONDS", 30.0)
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    receiver.fail_next(10_000, status=503)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          extra=FAST)
    config.write_text(config.read_text().replace('timeout = "5s"', 'timeout = "30s"'))
    settings = load_config(config)
    assert settings.fetch.timeout == 30
    stop = asyncio.Event()
    running = asyncio.create_task(run_daemon(settings, config, stop=stop))
    await wait_for(lambda: len(receiver.requests) >= 1)  # the event is stored, not delivered
    stop.set()
    assert await asyncio.wait_for(running, 40) == 0

    site.add("slow", "Slow story", "The page of this story takes long to answer.", PARAS)
    site.page_delay = 12.0  # past the drain deadline; the server's handler ends then
    stop = asyncio.Event()
    with capture_logs() as logs:
        running = asyncio.create_task(run_daemon(settings, config, stop=stop))
        await wait_for(lambda: any(r.startswith("/news/slow") for r in site.requests))
        started = time.monotonic()
        stop.set()
        assert await asyncio.wait_for(running, 40) == 0
    assert time.monotonic() - started < 8
    assert [e["cancelled"] for e in logs if e["event"] == "drain_deadline_passed"] == [1]
    with sqlite3.connect(tmp_path / "crawler.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM articles").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM versions").fetchone() == (1,)
        assert db.execute("SELECT status FROM deliveries").fetchall() == [("pending",)]
        for table in ("feeds", "articles", "deliveries"):
            held = db.execute(f"SELECT count(*) FROM {table} WHERE lease_owner IS NOT NULL")
            assert held.fetchone() == (0,), table
