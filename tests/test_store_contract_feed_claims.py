# ruff: noqa: F811
"""Feed claims capped per host, asserted on both stores (like test_store_contract_leases.py):
no host has more polls under lease than the cap, whoever holds them; other hosts' feeds are
claimed while one is full; the feeds a claim left out are the first of their host claimed once
its leases end; a database of the previous schema gets its feeds' hosts from the migration."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

from crawler.models import FeedState
from crawler.store.base import Store
from crawler.store.migrations import MIGRATIONS
from tests.store_backends import LEASE, T0, A, B, Backend

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

NOW = T0 + timedelta(minutes=1)


def feed(host: str, n: int) -> str:
    return f"https://{host}/section/{n}/rss"


def urls(states: list[FeedState]) -> list[str]:
    return [s.feed_url for s in states]


async def completed(store: Store, url: str, owner: str) -> None:
    """The poll of `url` recorded by its owner, next due in an hour."""
    await store.record_feed_poll(url, polled_at=NOW, status="ok", error=None, etag=None,
                                 last_modified=None, next_poll_at=NOW + timedelta(hours=1),
                                 lease_owner=owner)


async def test_feed_claims_cap_the_polls_leased_per_host_whoever_holds_them(
        store: Store) -> None:
    busy = [feed("busy.example", n) for n in range(5)]
    quiet = feed("quiet.example", 1)
    await store.sync_feeds({**{url: T0 + timedelta(seconds=n) for n, url in enumerate(busy)},
                            quiet: T0 + timedelta(seconds=10)})
    first = await store.claim_due_feeds(A, NOW, limit=10, lease_seconds=LEASE, per_host=2)
    assert urls(first) == [busy[0], busy[1], quiet]
    # The host has two polls under lease, A's: another owner gets none of its feeds.
    assert await store.claim_due_feeds(B, NOW, limit=10, lease_seconds=LEASE, per_host=2) == []
    # One of them ends: one more, the earliest due of those left out, whoever claims.
    await completed(store, busy[0], A)
    assert urls(await store.claim_due_feeds(B, NOW, limit=10, lease_seconds=LEASE,
                                            per_host=2)) == [busy[2]]
    assert await store.claim_due_feeds(A, NOW, limit=10, lease_seconds=LEASE, per_host=2) == []
    # Without a cap the claim is what it always was: every due feed whose lease is free.
    assert urls(await store.claim_due_feeds(A, NOW, limit=10, lease_seconds=LEASE)) == [
        busy[3], busy[4]]


async def test_other_hosts_feeds_are_claimed_while_one_host_is_full(store: Store) -> None:
    slow = [feed("slow.example", n) for n in range(40)]
    others = [feed(f"site{n}.example", 1) for n in range(3)]
    # The slow host's feeds are all due before the others.
    await store.sync_feeds({**{url: T0 for url in slow},
                            **{url: T0 + timedelta(seconds=30) for url in others}})
    first = await store.claim_due_feeds(A, NOW, limit=4, lease_seconds=LEASE, per_host=2)
    assert urls(first) == [*slow[:2], *others[:2]]
    assert urls(await store.claim_due_feeds(B, NOW, limit=4, lease_seconds=LEASE,
                                            per_host=2)) == [others[2]]
    assert await store.claim_due_feeds(B, NOW, limit=4, lease_seconds=LEASE, per_host=2) == []


async def test_feeds_left_out_are_claimed_first_once_their_hosts_leases_end(
        store: Store) -> None:
    slow = [feed("slow.example", n) for n in range(4)]
    fast = feed("fast.example", 1)
    await store.sync_feeds({url: T0 for url in slow})
    assert urls(await store.claim_due_feeds(A, NOW, limit=10, lease_seconds=LEASE,
                                            per_host=1)) == [slow[0]]
    # A feed of another host falls due later; the slow host's waiting feeds are older.
    await store.sync_feeds({**{url: T0 for url in slow}, fast: NOW})
    assert urls(await store.claim_due_feeds(B, NOW, limit=10, lease_seconds=LEASE,
                                            per_host=1)) == [fast]
    # A poll given up (released) frees the host's slot as a completed one does.
    assert await store.release_leases("feed", A, [slow[0]]) == 1
    assert urls(await store.claim_due_feeds(B, NOW, limit=1, lease_seconds=LEASE,
                                            per_host=1)) == [slow[0]]
    # Leases that expired no longer count against their host (B's two here): the feeds are
    # claimed again, and those left out kept their due time (never moved to the back).
    later = NOW + timedelta(seconds=LEASE)
    [taken] = await store.claim_due_feeds(A, later, limit=1, lease_seconds=LEASE, per_host=2)
    assert taken.feed_url == slow[0] and taken.next_poll_at == T0
    assert urls(await store.claim_due_feeds(A, later, limit=10, lease_seconds=LEASE,
                                            per_host=2)) == [slow[1], fast]
    for url in (slow[0], slow[1]):
        await completed(store, url, A)
    assert urls(await store.claim_due_feeds(B, later, limit=10, lease_seconds=LEASE,
                                            per_host=2)) == [slow[2], slow[3]]


async def test_a_feeds_host_is_the_lower_cased_authority_of_its_url(store: Store) -> None:
    upper = "https://News.Example:8080/rss"
    same = "https://news.example:8080/world/rss"
    other_port = "https://news.example/rss"
    query_only = "https://blog.example?feed=rss2"
    await store.sync_feeds({upper: T0, same: T0, other_port: T0, query_only: T0})
    claimed = await store.claim_due_feeds(A, NOW, limit=10, lease_seconds=LEASE, per_host=1)
    assert urls(claimed) == [upper, query_only, other_port]


async def test_a_feed_first_written_by_an_unclaimed_poll_has_its_host(store: Store) -> None:
    """`crawler once` records polls without claiming them, before any sync wrote the feeds."""
    feeds = [feed("a.example", 1), feed("b.example", 1)]
    for url in feeds:
        await store.record_feed_poll(url, polled_at=T0, status="ok", error=None, etag=None,
                                     last_modified=None, next_poll_at=T0)
    claimed = await store.claim_due_feeds(A, NOW, limit=10, lease_seconds=LEASE, per_host=1)
    assert urls(claimed) == feeds


async def test_racing_capped_feed_claims_never_exceed_the_host_cap(
        backend: Backend, store: Store) -> None:
    hosts = ["a.example", "b.example", "c.example"]
    await store.sync_feeds({feed(hosts[n % 3], n): T0 for n in range(36)})
    other = backend.store()
    await other.open()
    try:
        for round_ in range(6):
            now = NOW + timedelta(seconds=round_)
            results = await asyncio.gather(*(
                s.claim_due_feeds(owner, now, limit=10, lease_seconds=LEASE, per_host=2)
                for s, owner in ((store, A), (other, B), (store, "c:3:c"), (other, "d:4:d"))))
            owners = {s.feed_url: owner for owner, got in zip((A, B, "c:3:c", "d:4:d"),
                                                              results, strict=True)
                      for s in got}
            per_host = Counter(urlsplit(url).netloc for url in owners)
            assert sum(len(got) for got in results) == len(owners)  # none twice
            assert per_host == Counter(dict.fromkeys(hosts, 2))  # two per host, no more
            for url, owner in owners.items():
                await completed(store, url, owner)
    finally:
        await other.close()


async def test_schema_13_migrates_to_feeds_with_their_hosts(backend: Backend) -> None:
    backend.at_schema(13)
    rows = ["https://A.example/rss", "https://a.example?feed=2", "http://b.example:8080#x",
            "https://b.example/rss", "https://user@c.example/rss"]
    for url in rows:
        backend.execute("INSERT INTO feeds (url, next_poll_at)"
                        f" VALUES ('{url}', '2026-11-26T12:00:00.000000Z')")
    s = backend.store()
    assert await s.migrate() == (13, len(MIGRATIONS))
    await s.open()
    try:
        # No sync first (it writes the hosts from the URLs): these are the migration's.
        claimed = await s.claim_due_feeds(A, NOW, limit=10, lease_seconds=LEASE, per_host=1)
        assert urls(claimed) == ["http://b.example:8080#x", "https://A.example/rss",
                                 "https://b.example/rss", "https://user@c.example/rss"]
        # The feed left out is of the first one's host, and comes once that poll ends.
        await completed(s, "https://A.example/rss", A)
        assert urls(await s.claim_due_feeds(B, NOW, limit=10, lease_seconds=LEASE,
                                            per_host=1)) == ["https://a.example?feed=2"]
    finally:
        await s.close()
