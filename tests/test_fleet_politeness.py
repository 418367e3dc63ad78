"""Politeness for a fleet: the per-host limits hold across every daemon of one PostgreSQL
store, not only inside each. The store's turns are tested on a real server; then two
fetchers, as two daemons of a fleet would have (each its own lease owner), fetch from one
real local site at once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from crawler.fetch import Fetcher, FetchError, HostTurns
from crawler.store.postgres import PostgresStore
from crawler.store.sqlite import SQLiteStore
from crawler.testing.news_site import NewsSite
from tests.hostile_server import fetch_settings
from tests.test_fetch_politeness import seconds_left

pytestmark = pytest.mark.usefixtures("pg_cluster")

HOST = "news.example"


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(pg_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def test_only_a_store_that_several_daemons_share_paces_the_fleet() -> None:
    # One daemon owns an SQLite file: its own politeness is already the fleet's.
    assert isinstance(PostgresStore("postgresql://h/db"), HostTurns)
    assert not isinstance(SQLiteStore(":memory:"), HostTurns)


async def test_turns_on_a_host_are_limited_across_owners(store: PostgresStore) -> None:
    a = await store.take_host_turn(HOST, "a", concurrency=2, spacing=0, hold=30)
    b = await store.take_host_turn(HOST, "b", concurrency=2, spacing=0, hold=30)
    assert a.token and b.token and a.token != b.token
    full = await store.take_host_turn(HOST, "c", concurrency=2, spacing=0, hold=30)
    assert full.token is None and not full.paused
    # Another host is not held up by this one.
    assert (await store.take_host_turn("other.example", "c", concurrency=2, spacing=0,
                                       hold=30)).token
    await store.end_host_turn(a.token)
    assert (await store.take_host_turn(HOST, "c", concurrency=2, spacing=0, hold=30)).token
    await store.end_host_turn("no-such-token")  # ignored


async def test_the_next_start_is_spaced_whoever_asks(store: PostgresStore) -> None:
    first = await store.take_host_turn(HOST, "a", concurrency=4, spacing=0.4, hold=30)
    assert first.token
    early = await store.take_host_turn(HOST, "b", concurrency=4, spacing=0.4, hold=30)
    assert early.token is None and 0.2 < early.wait <= 0.4 and not early.paused
    await asyncio.sleep(early.wait + 0.02)
    assert (await store.take_host_turn(HOST, "b", concurrency=4, spacing=0.4, hold=30)).token


async def test_a_dead_daemons_turn_expires_by_itself(store: PostgresStore) -> None:
    assert (await store.take_host_turn(HOST, "dead", concurrency=1, spacing=0, hold=0.3)).token
    assert (await store.take_host_turn(HOST, "b", concurrency=1, spacing=0, hold=30)).token is None
    await asyncio.sleep(0.35)
    assert (await store.take_host_turn(HOST, "b", concurrency=1, spacing=0, hold=30)).token


async def test_a_pause_holds_every_turn_and_only_grows(store: PostgresStore) -> None:
    await store.pause_host(HOST, 60)
    await store.pause_host(HOST, 1)  # a shorter pause does not shorten the longer one
    paused = await store.take_host_turn(HOST, "a", concurrency=2, spacing=0, hold=30)
    assert paused.token is None and paused.paused and 55 < paused.wait <= 60


async def test_a_concurrency_below_one_is_refused(store: PostgresStore) -> None:
    with pytest.raises(ValueError, match="at least one turn"):
        await store.take_host_turn(HOST, "a", concurrency=0, spacing=0, hold=30)


# --- two fetchers of one fleet against one site -----------------------------------------------

PAGES = 12  # the most a test fetches


def counting_site(delay: float = 0.1, status: int = 200,
                  headers: dict[str, str] | None = None) -> NewsSite:
    """Pages that take `delay` s to answer `status` (with `headers`); the site counts the
    requests in flight, and when each started (`request_times`)."""
    site = NewsSite()
    site.page_delay = delay
    for n in range(PAGES):
        story = site.add(f"p{n}", f"Page {n}", "A lead.", ["A paragraph."])
        story.status, story.headers = status, headers or {}
    return site


def starts(site: NewsSite) -> list[float]:
    return [at for at, _ in site.request_times]


async def fetch_all(fetchers: list[Fetcher], site: NewsSite, each: int) -> None:
    n = itertools.count()
    await asyncio.gather(*(f.fetch(site.article_url(f"p{next(n)}"))
                           for f in fetchers for _ in range(each)))


async def test_two_daemons_together_keep_the_per_host_concurrency(
        store: PostgresStore) -> None:
    settings = fetch_settings(per_host_concurrency=2)
    async with counting_site() as site:
        async with Fetcher(settings, fleet=(store, "a")) as a, \
                Fetcher(settings, fleet=(store, "b")) as b:
            await fetch_all([a, b], site, each=6)
        assert len(starts(site)) == 12
        assert site.most_in_flight == 2
        # Without the shared turns each daemon keeps only its own two: the fleet sends four.
        site.most_in_flight = 0
        async with Fetcher(settings) as a, Fetcher(settings) as b:
            await fetch_all([a, b], site, each=6)
        assert site.most_in_flight == 4


async def test_two_daemons_together_keep_the_per_host_delay(store: PostgresStore) -> None:
    delay = 0.2
    settings = fetch_settings(per_host_concurrency=4, per_host_delay=delay)
    async with counting_site(delay=0.0) as site:
        async with Fetcher(settings, fleet=(store, "a")) as a, \
                Fetcher(settings, fleet=(store, "b")) as b:
            await fetch_all([a, b], site, each=3)
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts(site))]
        # Starts are spaced by the delay times a jitter of at least 0.5, whoever made them
        # (less a little: the server sees a request a moment after its turn was taken).
        assert len(gaps) == 5 and min(gaps) >= delay * 0.5 - 0.03, gaps


async def test_a_retry_after_seen_by_one_daemon_holds_the_other(
        store: PostgresStore) -> None:
    settings = fetch_settings()
    async with counting_site(delay=0.0, status=429, headers={"Retry-After": "120"}) as site:
        async with Fetcher(settings, fleet=(store, "a")) as a, \
                Fetcher(settings, fleet=(store, "b")) as b:
            assert (await a.fetch(site.article_url("p1"))).status == 429
            for _ in range(100):  # the pause is shared in the background
                if (await store.take_host_turn("127.0.0.1", "probe", concurrency=8,
                                               spacing=0, hold=1)).paused:
                    break
                await asyncio.sleep(0.02)
            with pytest.raises(FetchError) as caught:
                await b.fetch(site.article_url("p2"))
        assert caught.value.kind == "rate_limited"
        assert seconds_left(caught.value) > 100
        assert len(starts(site)) == 1


async def test_an_unreachable_fleet_store_fails_the_fetch_and_says_why(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.open()
    await store.close()  # asked after it closed: every ask fails
    async with counting_site() as site, Fetcher(fetch_settings(), fleet=(store, "a")) as a:
        with pytest.raises(FetchError) as caught:
            await a.fetch(site.article_url("p1"))
        assert caught.value.kind == "fleet_unavailable"
        assert "cannot be reached" in caught.value.message
        assert starts(site) == []
