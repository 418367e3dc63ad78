"""`crawler status` as an operator reads it: a long last error is wrapped at word boundaries
(never cut), a failing feed stands out in colour on a terminal, and no colour reaches a pipe.
Whether a daemon runs is asserted with real daemons in test_daemon_lock.py."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from crawler.config import StorageSettings
from crawler.store import open_store
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config

FEED = "http://127.0.0.1:9/rss.xml"
ERROR = ("cannot connect to news.example.org (DNS: no such host); the site may be down or the"
         " name mistyped; the next poll backs off to 2026-12-01 08:38 and is retried then")


async def _failed_poll(database: Path) -> None:
    store = open_store(StorageSettings(database=str(database)), readonly=False, daemon=True)
    try:
        await store.migrate()
        await store.open()
        polled = datetime(2026, 12, 1, 8, 8, tzinfo=UTC)
        await store.sync_feeds({FEED: polled})
        await store.record_feed_poll(FEED, polled_at=polled, status="error", error=ERROR,
                                     etag=None, last_modified=None,
                                     next_poll_at=datetime(2026, 12, 1, 8, 38, tzinfo=UTC))
    finally:
        await store.close()


def _status(config: Path, **env: str) -> str:
    result = subprocess.run([*CRAWLER_CMD, "status", "--config", str(config)],
                            capture_output=True, text=True, timeout=60,
                            env={**subprocess_env(), **env}, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_last_error_is_wrapped_whole_and_failing_feeds_are_coloured(tmp_path: Path) -> None:
    config = write_config(tmp_path, [FEED])
    asyncio.run(_failed_poll(tmp_path / "crawler.db"))

    piped = _status(config)
    lines = piped.splitlines()
    for word in ERROR.split():
        assert any(word in line for line in lines), word  # no word cut, none dropped
    assert "\x1b[" not in piped
    assert "daemon: not running" in piped

    coloured = _status(config, FORCE_COLOR="1")
    assert "\x1b[31m" in coloured  # red: the failing feed's row
