"""Shared fixtures: the local news site, config files, a controllable clock and (from
`tests.pg_support`) a PostgreSQL server with a database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from crawler.store.sqlite import SQLiteStore
from tests.e2e_support import CRAWLER_CMD, REPO, Receiver, start_receiver, subprocess_env
from tests.news_site import NewsSite
from tests.pg_support import pg_cluster, pg_url
from tests.systemd_support import notify_socket
from tests.webhook_receiver import ReceiverFactory, receiver_factory


class FakeClock:
    """A wall clock the test moves by hand (monotonic politeness timers still use real time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 verifying every request with standardwebhooks."""
    async with start_receiver() as rec:
        yield rec


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """A real SQLite store in the test's own directory."""
    s = SQLiteStore(tmp_path / "crawler.db")
    await s.migrate()
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def receivers() -> AsyncIterator[ReceiverFactory]:
    """Start receivers with `await receivers(secret, script, ...)`; all close after the test."""
    async with receiver_factory() as make:
        yield make


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    news = await NewsSite().start()
    try:
        yield news
    finally:
        await news.close()


def write_config(tmp_path: Path, feeds: list[str], *, webhooks: str = "", extra: str = "",
                 intervals: str = '["10m", "30m", "1h"]', recheck: str = "") -> Path:
    """A config for local servers: private addresses allowed, no politeness delay."""
    feed_tables = "".join(f'[[feeds]]\nurl = "{url}"\ninterval = "1s"\n\n' for url in feeds)
    text = f"""
[storage]
database = "{tmp_path / 'crawler.db'}"

[fetch]
timeout = "5s"
per_host_delay = "0s"
per_host_concurrency = 4
allow_private_addresses = true

[recheck]
intervals = {intervals}
{recheck or 'max_age = "7d"'}

[logging]
level = "info"
format = "json"
file = "{tmp_path / 'crawler.jsonl'}"

{extra}

{feed_tables}
{webhooks}
"""
    path = tmp_path / "crawler.toml"
    path.write_text(text, encoding="utf-8")
    return path


__all__ = ["CRAWLER_CMD", "REPO", "FakeClock", "notify_socket", "pg_cluster", "pg_url",
           "subprocess_env", "write_config"]
