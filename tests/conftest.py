"""Shared fixtures: the local news site, a webhook receiver, a controllable clock and a
PostgreSQL server with a database per test (the simulated parts are in `crawler.testing`)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from crawler.store.sqlite import SQLiteStore
from crawler.testing.clock import FakeClock
from crawler.testing.news_site import NewsSite
from crawler.testing.postgres import PgCluster, skip_reason, start_cluster
from crawler.testing.webhook_receiver import (
    Receiver,
    ReceiverFactory,
    receiver_factory,
    start_receiver,
)
from tests.e2e_support import REPO
from tests.systemd_support import notify_socket


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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL server (skips the test when there is none to start)."""
    reason = skip_reason()
    if reason is not None:
        if os.environ.get("CRAWLER_REQUIRE_SYSTEM_PACKAGES"):
            pytest.fail(reason)  # .ci/run installed it: a skip there would hide a broken setup
        pytest.skip(reason)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a database of the test's own, migrated to the current schema."""
    name = pg_cluster.new_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


__all__ = ["REPO", "FakeClock", "notify_socket"]
