"""SIGHUP as an operator uses it: `config_reloaded` means every changed key is in force (a new
user agent and robots.txt rules on the very next request), and a reload that fails part way
changes nothing (the running config is kept whole)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from aiohttp import web

from crawler.models import FeedState
from crawler.testing import news_site
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver, start_receiver, webhook_table
from tests.e2e_support import running_daemon
from tests.systemd_support import collect

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses POSIX signals")

OLD_AGENT, NEW_AGENT = "crawler-test-old/1", "crawler-test-new/2"
PARAS = news_site.PARAS[:1]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AgentSite(NewsSite):
    """The news site, noting each request's user agent and when it came."""

    def __init__(self) -> None:
        super().__init__()
        self.agents: list[tuple[float, str, str]] = []

    def app(self) -> web.Application:
        app = super().app()

        @web.middleware
        async def note(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.agents.append((time.monotonic(), request.path,
                                request.headers.get("User-Agent", "")))
            return await handler(request)

        app.middlewares.append(note)
        return app


def config_text(folder: Path, feed: str, *, agent: str, robots: bool, webhooks: str,
                log_file: str | None = None) -> None:
    path = write_config(folder, [feed], webhooks=webhooks)
    text = path.read_text().replace(
        "allow_private_addresses = true",
        f'allow_private_addresses = true\nuser_agent = "{agent}"\n'
        f"respect_robots_txt = {'true' if robots else 'false'}")
    if log_file is not None:
        text = text.replace(f'file = "{folder / "crawler.jsonl"}"', f'file = "{log_file}"')
    path.write_text(text)


def logged(folder: Path, event: str) -> list[dict[str, object]]:
    lines = (folder / "crawler.jsonl").read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry.get("event") == event]


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_reload_puts_every_changed_fetch_key_in_force(
        tmp_path: Path, receiver: Receiver, notify_socket: tuple[socket.socket, str]) -> None:
    sock, notify_path = notify_socket
    site = AgentSite()
    await site.start()
    try:
        site.add("storm", "Storm hits coast", LEAD, PARAS)
        feed = site.url("/rss.xml")
        config_text(tmp_path, feed, agent=OLD_AGENT, robots=False,
                    webhooks=webhook_table(receiver))
        async with running_daemon(tmp_path / "crawler.toml", tmp_path,
                                  NOTIFY_SOCKET=notify_path) as daemon:
            await collect(sock, "READY=1")
            await wait_for(lambda: len(receiver.accepted()) == 1)
            config_text(tmp_path, feed, agent=NEW_AGENT, robots=True,
                        webhooks=webhook_table(receiver))
            daemon.send_signal(signal.SIGHUP)
            await collect(sock, "READY=1")
            [reloaded] = logged(tmp_path, "config_reloaded")
            assert reloaded["changed"] == ["fetch"]
            in_force = time.monotonic()
            # A story robots.txt disallows (/private/), published after the reload.
            hidden = site.add("hidden", "Hidden story", LEAD, PARAS)
            hidden.section = "private"
            site.add("open", "Open story", LEAD, PARAS)
            await wait_for(lambda: len(receiver.accepted()) == 3)
            await asyncio.sleep(1.5)  # more polls, and time for a disallowed fetch to show
    finally:
        await site.close()
    # The old fetcher may finish what it had in flight at the reload; nothing starts on it
    # after `config_reloaded`.
    after = [(path, agent) for at, path, agent in site.agents if at > in_force + 0.2]
    assert after and {agent for _, agent in after} == {NEW_AGENT}
    assert any(path == "/robots.txt" for path, _ in after)
    assert not any(path.startswith("/private/") for _, path, _ in site.agents)
    # The disallowed page is not read: the story is tracked from its full-content feed entry.
    sources = {r.json["data"]["article"]["title"]: r.json["data"]["source"]
               for r in receiver.accepted()}
    assert sources == {"Storm hits coast": "page", "Hidden story": "feed", "Open story": "page"}
    assert receiver.accepted()[-1].headers["user-agent"] == NEW_AGENT


async def test_a_reload_that_fails_part_way_changes_nothing(
        tmp_path: Path, site: NewsSite, receiver: Receiver,
        notify_socket: tuple[socket.socket, str]) -> None:
    sock, notify_path = notify_socket
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    feed = site.url("/rss.xml")
    config_text(tmp_path, feed, agent=OLD_AGENT, robots=False, webhooks=webhook_table(receiver))
    async with start_receiver() as other:
        async with running_daemon(tmp_path / "crawler.toml", tmp_path,
                                  NOTIFY_SOCKET=notify_path) as daemon:
            await collect(sock, "READY=1")
            await wait_for(lambda: len(receiver.accepted()) == 1)
            # A new receiver and agent, and a log file that cannot be opened: the whole
            # reload is refused, the webhooks included.
            unwritable = tmp_path / "not-a-dir"
            unwritable.write_text("a file where a folder should be")
            config_text(tmp_path, feed, agent=NEW_AGENT, robots=False,
                        webhooks=webhook_table(other), log_file=str(unwritable / "x.jsonl"))
            daemon_log = tmp_path / "crawler.jsonl"
            signal_sent = len(daemon_log.read_text())
            daemon.send_signal(signal.SIGHUP)
            await collect(sock, "READY=1")
            rejected = logged(tmp_path, "reload_rejected")
            assert rejected and "not-a-dir" in str(rejected[-1]["error"])
            assert not logged(tmp_path, "config_reloaded")
            site.add("late", "Late story arrives", LEAD, PARAS)
            await wait_for(lambda: len(receiver.accepted()) == 2)
            assert len(daemon_log.read_text()) > signal_sent  # still logging where it was
        assert other.requests == []
    assert receiver.accepted()[1].headers["user-agent"] == OLD_AGENT


async def test_a_reload_puts_fetcher_settings_and_endpoints_in_force_together_or_not_at_all(
        tmp_path: Path, receiver: Receiver) -> None:
    """In-process: the runtime's settings, its fetcher and the deliverer's endpoints change in
    the same step, or none of them does."""
    from crawler.app import App
    from crawler.config import load_config
    from crawler.daemon import Daemon

    feed = "http://127.0.0.1:9/rss.xml"
    config_text(tmp_path, feed, agent=OLD_AGENT, robots=False, webhooks=webhook_table(receiver))
    path = tmp_path / "crawler.toml"
    settings = load_config(path)
    try:
        async with App(settings) as runtime, start_receiver() as other:
            daemon = Daemon(runtime, path)
            fetcher = runtime.fetchers.current

            def endpoints() -> set[str]:
                return set(runtime.deliverer._endpoints)

            unwritable = tmp_path / "not-a-dir"
            unwritable.write_text("a file where a folder should be")
            config_text(tmp_path, feed, agent=NEW_AGENT, robots=False,
                        webhooks=webhook_table(other), log_file=str(unwritable / "x.jsonl"))
            assert await daemon.reload() is False
            assert runtime.settings is settings
            assert runtime.fetchers.current is fetcher
            assert endpoints() == {receiver.url}

            config_text(tmp_path, feed, agent=NEW_AGENT, robots=False,
                        webhooks=webhook_table(other))
            assert await daemon.reload() is True
            assert runtime.settings.fetch.user_agent == NEW_AGENT
            assert runtime.fetchers.current is not fetcher
            assert endpoints() == {other.url}
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


async def test_a_reload_names_what_needs_a_restart_and_puts_a_shorter_interval_in_force(
        tmp_path: Path, site: NewsSite) -> None:
    """The keys a reload cannot change are named and kept, the others are in force at once:
    a feed's interval shortened from 6 hours to 10 minutes is not left waiting 6 hours."""
    from crawler.app import App
    from crawler.config import load_config
    from crawler.daemon import Daemon
    from tests.conftest import FakeClock
    from tests.log_capture import capture_logs

    site.add("storm", "Storm hits coast", LEAD, PARAS)
    feed = site.url("/rss.xml")
    path = write_config(tmp_path, [feed])
    path.write_text(path.read_text().replace('interval = "1s"', 'interval = "6h"'))
    settings = load_config(path)
    clock = FakeClock()
    try:
        async with App(settings, clock=clock) as runtime:
            daemon = Daemon(runtime, path)
            await runtime.store.sync_feeds({feed: clock.now})
            [state] = await runtime.due.claim_feeds()
            outcome = await runtime.due.poll(state)
            assert outcome is not None and outcome.ok  # polled: the next poll in 6 hours
            path.write_text(path.read_text().replace('interval = "6h"', 'interval = "10m"')
                            + '\n[http]\nlisten = "127.0.0.1:9"\n')
            with capture_logs() as logs:
                assert await daemon.reload() is True
            assert [e["key"] for e in logs if e["event"] == "reload_needs_restart"] == ["http"]
            assert runtime.settings.http == settings.http
            # Logged once the reload's own logging config is in force: to the log file.
            [reloaded] = logged(tmp_path, "config_reloaded")
            assert reloaded["changed"] == ["feeds"]
            assert runtime.settings.feeds[0].interval == 600
            clock.advance(600)
            assert [s.feed_url for s in await runtime.due.claim_feeds()] == [feed]
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


async def test_a_reload_that_shortens_an_interval_keeps_the_gap_the_feed_asked_for(
        tmp_path: Path, site: NewsSite) -> None:
    """A feed whose <ttl> asks for an hour, polled every 2 hours: the interval shortened to
    10 minutes makes it due an hour after its last poll, not 10 minutes after the reload."""
    from crawler.app import App
    from crawler.config import load_config
    from crawler.daemon import Daemon
    from tests.conftest import FakeClock

    site.feed_ttl_minutes = 60
    feed = site.url("/rss.xml")
    path = write_config(tmp_path, [feed])
    path.write_text(path.read_text().replace('interval = "1s"', 'interval = "2h"'))
    clock = FakeClock()
    try:
        async with App(load_config(path), clock=clock) as runtime:
            daemon = Daemon(runtime, path)
            await runtime.store.sync_feeds({feed: clock.now})
            [state] = await runtime.due.claim_feeds()
            assert (await runtime.due.poll(state)) is not None
            polled = clock.now
            path.write_text(path.read_text().replace('interval = "2h"', 'interval = "10m"'))
            assert await daemon.reload() is True
            after = await runtime.store.get_feed_state(feed)
            assert after is not None and after.next_poll_at == polled + timedelta(hours=1)
            clock.advance(600)
            assert await runtime.due.claim_feeds() == []
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


async def test_a_restart_puts_an_interval_shortened_while_stopped_in_force(
        tmp_path: Path, site: NewsSite) -> None:
    """The config edited while the daemon was stopped (then `systemctl restart`): a feed
    polled under a 6-hour interval, now 10 minutes, is due 10 minutes after its last poll."""
    from crawler.app import App
    from crawler.config import load_config
    from crawler.daemon import Daemon
    from tests.conftest import FakeClock

    feed = site.url("/rss.xml")
    path = write_config(tmp_path, [feed])
    path.write_text(path.read_text().replace('interval = "1s"', 'interval = "6h"'))
    clock = FakeClock()
    async with App(load_config(path), clock=clock) as runtime:
        await runtime.store.sync_feeds({feed: clock.now})
        [state] = await runtime.due.claim_feeds()
        assert (await runtime.due.poll(state)) is not None
    polled = clock.now
    path.write_text(path.read_text().replace('interval = "6h"', 'interval = "10m"'))
    try:
        async with App(load_config(path), clock=clock) as runtime:
            daemon = Daemon(runtime, path)
            running = asyncio.create_task(daemon.run())
            due_soon = polled + timedelta(minutes=10)
            states: list[FeedState | None] = []

            def synced() -> bool:
                return bool(states) and states[-1] is not None and (
                    states[-1].next_poll_at == due_soon)

            async def look() -> None:
                while not synced():
                    states.append(await runtime.store.get_feed_state(feed))
                    await asyncio.sleep(0.02)

            await asyncio.wait_for(look(), timeout=20)
            daemon.request_stop()
            assert await running == 0
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


async def test_a_reload_that_shortens_the_recheck_intervals_brings_the_checks_forward(
        tmp_path: Path, site: NewsSite) -> None:
    """`[recheck] intervals` from 6 hours to 10 minutes: an article checked an hour ago is
    re-checked within 10 minutes, not 5 hours later."""
    from crawler.app import App
    from crawler.config import load_config
    from crawler.daemon import Daemon
    from tests.conftest import FakeClock

    site.add("storm", "Storm hits coast", LEAD, PARAS)
    path = write_config(tmp_path, [site.url("/rss.xml")], intervals='["6h"]')
    settings = load_config(path)
    clock = FakeClock()
    try:
        async with App(settings, clock=clock) as runtime:
            daemon = Daemon(runtime, path)
            await runtime.run_pass()  # the article is new: its next check in 6 hours
            clock.advance(3600)
            path.write_text(path.read_text().replace('intervals = ["6h"]',
                                                     'intervals = ["10m"]'))
            assert await daemon.reload() is True
            assert runtime.settings.recheck.intervals == (600.0,)
            clock.advance(600)
            assert len(await runtime.due.claim_checks()) == 1
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
