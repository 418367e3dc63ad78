"""The daemon as systemd and an operator see it: sd_notify over a real socket, SIGHUP reloads,
/healthz and /metrics, `crawler status`, and `crawler backup` of a running daemon's database."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import sqlite3
import time
from pathlib import Path

import aiohttp

from crawler.testing import news_site
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.e2e_support import running_daemon, stop_daemon
from tests.systemd_support import collect

PARAS = news_site.PARAS[:1]


async def test_notify_protocol_watchdog_and_clean_stop(
        tmp_path: Path, site: NewsSite, notify_socket: tuple[socket.socket, str]) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    sock, path = notify_socket
    config = write_config(tmp_path, [site.url("/rss.xml")])
    async with running_daemon(config, tmp_path, NOTIFY_SOCKET=path,
                              WATCHDOG_USEC="400000") as daemon:
        first = await collect(sock, "READY=1")
        assert any(m.startswith("STATUS=1 feeds") for m in first)
        # Ready means the database is open and migrated and the configured feeds are in it
        # (what the scheduler claims from): a reading command can use it at once.
        with sqlite3.connect(f"file:{tmp_path / 'crawler.db'}?mode=ro", uri=True) as db:
            assert db.execute("SELECT url FROM feeds WHERE configured").fetchall() == [
                (site.url("/rss.xml"),)]
        started = time.monotonic()
        pings = await collect(sock, "WATCHDOG=1")
        while time.monotonic() - started < 1.5:
            pings += await collect(sock, "WATCHDOG=1")
        # WATCHDOG_USEC=0.4s: a ping every 0.2s, so about 7 in 1.5s
        assert 4 <= pings.count("WATCHDOG=1") <= 12
        stopped = asyncio.ensure_future(stop_daemon(daemon))
        await collect(sock, "STOPPING=1")
        assert await stopped == 0


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_reload_health_metrics_status_and_backup(
        tmp_path: Path, site: NewsSite, receiver: Receiver,
        notify_socket: tuple[socket.socket, str]) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", "Unions called off Friday's strike after talks.",
             ["The agreement came after talks that lasted through the night in the capital."])
    sock, path = notify_socket
    port = _free_port()
    http = f'[http]\nlisten = "127.0.0.1:{port}"\n'
    config = write_config(tmp_path, [site.url("/rss.xml")], extra=http)
    async with running_daemon(config, tmp_path, NOTIFY_SOCKET=path) as daemon:
        await collect(sock, "READY=1")
        status, body = await _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and '"database": true' in body.replace("\n", " ")

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
                any(r.startswith(f"/news/{slug}") for r in site.requests)
                for slug in ("storm", "rail")):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # the first poll's writes

        # reload with a webhook added: events from now on are delivered to it
        write_config(tmp_path, [site.url("/rss.xml"), site.url("/atom.xml")], extra=http,
                     webhooks=webhook_table(receiver))
        daemon.send_signal(signal.SIGHUP)
        messages = await collect(sock, "READY=1")
        assert "RELOADING=1" in messages
        site.add("late", "Late story arrives", "A late story was published this evening.",
                 ["It has one paragraph of body text, long enough to count as an article."])
        deadline = time.monotonic() + 20
        while not receiver.accepted() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert [r.json["data"]["article"]["title"] for r in receiver.accepted()] == [
            "Late story arrives"]

        # an invalid config is rejected; the running one keeps going
        config.write_text(config.read_text() + "\n[bogus]\nx = 1\n")
        daemon.send_signal(signal.SIGHUP)
        await collect(sock, "READY=1")
        status, _ = await _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200

        status, metrics = await _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'crawler_events_total{type="article.new"} 3.0' in metrics
        assert "crawler_feed_polls_total" in metrics
        assert 'crawler_delivery_attempts_total{outcome="delivered"} 1.0' in metrics

        # operator commands against the running daemon's database
        config_ok = tmp_path / "ops.toml"
        config_ok.write_text(config.read_text().replace("\n[bogus]\nx = 1\n", ""))
        proc = await asyncio.create_subprocess_exec(
            *CRAWLER_CMD, "status", "--config", str(config_ok), cwd=tmp_path,
            env=subprocess_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
        assert "articles tracked: 3, versions stored: 3" in out.decode()
        assert receiver.secrets[0] not in out.decode()

        backup = tmp_path / "copy.db"
        proc = await asyncio.create_subprocess_exec(
            *CRAWLER_CMD, "backup", str(backup), "--config", str(config_ok), cwd=tmp_path,
            env=subprocess_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
        with sqlite3.connect(backup) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert copy.execute("SELECT count(*) FROM articles").fetchone() == (3,)

        assert await stop_daemon(daemon) == 0

    # Restore as the README says: the daemon stopped, the database and its companion files
    # moved aside, the copy put in its place; the next start takes it as it is.
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in ("crawler.db", "crawler.db-wal", "crawler.db-shm"):
        if (tmp_path / name).exists():
            (tmp_path / name).rename(aside / name)
    shutil.copyfile(backup, tmp_path / "crawler.db")
    for command in ("once", "status"):
        proc = await asyncio.create_subprocess_exec(
            *CRAWLER_CMD, command, "--config", str(config_ok), cwd=tmp_path,
            env=subprocess_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, (command, err)
    assert "articles tracked: 3, versions stored: 3" in out.decode()
    events = [json.loads(line) for line in (tmp_path / "crawler.jsonl").read_text().splitlines()]
    names = [e["event"] for e in events]
    assert "config_reloaded" in names
    rejected = next(e for e in events if e["event"] == "reload_rejected")
    assert "bogus: unknown key" in rejected["error"]
    log = (tmp_path / "crawler.jsonl").read_text()
    assert receiver.secrets[0] not in log


async def test_log_file_moved_away_is_reopened(
        tmp_path: Path, site: NewsSite, notify_socket: tuple[socket.socket, str]) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    sock, path = notify_socket
    config = write_config(tmp_path, [site.url("/rss.xml")])
    log_file = tmp_path / "crawler.jsonl"
    async with running_daemon(config, tmp_path, NOTIFY_SOCKET=path) as daemon:
        await collect(sock, "READY=1")
        log_file.rename(tmp_path / "crawler.jsonl.1")  # what logrotate does
        daemon.send_signal(signal.SIGUSR1)  # what logrotate's postrotate may do
        deadline = time.monotonic() + 10  # the 1s feed polls keep logging
        while time.monotonic() < deadline and not (
                log_file.exists() and '"feed_polled"' in log_file.read_text()):
            await asyncio.sleep(0.1)
        assert await stop_daemon(daemon) == 0
    rotated = (tmp_path / "crawler.jsonl.1").read_text()
    fresh = log_file.read_text()
    assert '"short_interval"' in rotated  # logged before READY=1
    assert '"feed_polled"' in fresh and '"daemon_stopped"' in fresh


async def test_unreachable_feeds_are_logged_and_the_daemon_stays_up(
        tmp_path: Path, notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    # With private addresses refused, neither feed can be fetched (and nothing listens there):
    # a daemon cut off from its feeds must say so per feed and keep running.
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    config.write_text(config.read_text() + '\n[[feeds]]\nurl = "https://127.0.0.2/feed.xml"\n')
    config.write_text(config.read_text().replace("allow_private_addresses = true",
                                                 "allow_private_addresses = false"))
    log_file = tmp_path / "crawler.jsonl"
    async with running_daemon(config, tmp_path, NOTIFY_SOCKET=path) as daemon:
        await collect(sock, "READY=1")
        deadline = time.monotonic() + 15
        failures: list[dict[str, object]] = []
        while time.monotonic() < deadline and len({f["feed"] for f in failures}) < 2:
            await asyncio.sleep(0.2)
            failures = [e for e in map(json.loads, log_file.read_text().splitlines())
                        if e["event"] == "feed_failed"]
        assert {f["feed"] for f in failures} == {"http://127.0.0.1:9/rss.xml",
                                                 "https://127.0.0.2/feed.xml"}
        assert all("blocked_address" in str(f["error"]) for f in failures)  # says what is wrong
        assert daemon.returncode is None  # still running
        assert await stop_daemon(daemon) == 0


async def test_reload_removing_and_adding_feeds_changes_what_is_polled(
        tmp_path: Path, site: NewsSite, notify_socket: tuple[socket.socket, str]) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    sock, path = notify_socket
    both = [site.url("/rss.xml"), site.url("/atom.xml")]
    config = write_config(tmp_path, both)
    async with running_daemon(config, tmp_path, NOTIFY_SOCKET=path) as daemon:
        await collect(sock, "READY=1")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (
                site.requests.count("/rss.xml") >= 2 and site.requests.count("/atom.xml") >= 2):
            await asyncio.sleep(0.1)
        assert site.requests.count("/rss.xml") >= 2  # polled every second

        write_config(tmp_path, both[1:])
        daemon.send_signal(signal.SIGHUP)
        await collect(sock, "READY=1")
        await asyncio.sleep(0.5)  # a poll claimed before the reload may still be finishing
        rss_polls, atom_polls = site.requests.count("/rss.xml"), site.requests.count("/atom.xml")
        await asyncio.sleep(2.5)
        assert site.requests.count("/rss.xml") == rss_polls  # removed: no longer polled
        assert site.requests.count("/atom.xml") > atom_polls

        write_config(tmp_path, both)
        daemon.send_signal(signal.SIGHUP)
        await collect(sock, "READY=1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and site.requests.count("/rss.xml") == rss_polls:
            await asyncio.sleep(0.1)
        assert site.requests.count("/rss.xml") > rss_polls  # added back: polled again
        assert await stop_daemon(daemon) == 0
    events = [json.loads(line) for line in (tmp_path / "crawler.jsonl").read_text().splitlines()]
    reloads = [(e["added"], e["removed"]) for e in events if e["event"] == "config_reloaded"]
    assert reloads == [(0, 1), (1, 0)]
