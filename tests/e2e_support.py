"""Helpers shared by the end-to-end tests: the daemon as a subprocess, a pass in-process, a
bounded wait, and a news site on a host of its own whose answers can be held (the other
simulated servers are in `crawler.testing`)."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler

from crawler.app import App
from crawler.config import Settings
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env
from crawler.testing.news_site import NewsSite

REPO = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def running_daemon(config: Path, cwd: Path, *, lease: tuple[float, float] | None = None,
                         **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`crawler run` as a subprocess, killed at the end if the test did not stop it. Its
    stderr goes to a file: an unread pipe would fill up and block the daemon. `lease`:
    (seconds, renew every) instead of the daemon's own, for tests that kill a daemon and
    wait for its claims to expire."""
    command = CRAWLER_CMD if lease is None else [
        sys.executable, "-m", "tests.lease_daemon", str(lease[0]), str(lease[1])]
    with (cwd / "daemon.stderr").open("ab") as stderr:
        daemon = await asyncio.create_subprocess_exec(
            *command, "run", "--config", str(config), cwd=cwd, env=subprocess_env(**env),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
    try:
        yield daemon
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()


async def stop_daemon(daemon: asyncio.subprocess.Process, timeout: float = 40) -> int:
    """SIGTERM, as systemd stops it; its exit code."""
    daemon.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(daemon.wait(), timeout=timeout)


async def run_pass(settings: Settings, clock: Callable[[], datetime]) -> bool:
    """One `crawler once` pass in-process at the clock's time; True if something failed."""
    async with App(settings, clock=clock) as app:
        return (await app.run_pass()).failed


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Until `condition()` holds, looked at every 0.05 s; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class GatedSite(NewsSite):
    """A news site on a host of its own (127.0.0.2: politeness counts per host name) whose
    answers to paths starting with `held` wait for `gate` (open at first): a host that
    stops answering, or answers slowly. `held_requests` counts the requests that reached
    the server, held or answered."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held = held
        self.gate = asyncio.Event()
        self.gate.set()
        self.held_requests = 0

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.2:{self.server.port}"

    async def start(self) -> GatedSite:
        self.server = TestServer(self.app(), host="127.0.0.2", port=0)
        await self.server.start_server()
        return self

    def app(self) -> web.Application:
        app = super().app()

        @web.middleware
        async def gated(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path.startswith(self.held):
                self.held_requests += 1
                await self.gate.wait()
            return await handler(request)

        app.middlewares.append(gated)
        return app
