"""Helpers shared by the end-to-end tests: the daemon as a subprocess, and a pass in-process
(the simulated servers are in `crawler.testing`)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from crawler.app import App
from crawler.config import Settings
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env

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
