# ruff: noqa: F811
"""The `Store` protocol's leases, asserted on both stores (like test_store_contract.py): due
feeds, re-checks and deliveries are claimed exactly, held until they expire, renewed, released,
completed only by their owner, capped per host, and never claimed twice by racing stores."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import pytest

from crawler.models import Content
from crawler.store.base import LeaseLostError, Store
from tests.store_backends import (
    HOOK_A,
    HOOK_B,
    LEASE,
    T0,
    A,
    B,
    Backend,
    article_at,
    content,
    event,
)

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401


async def test_a_claim_takes_exactly_limit_due_rows_earliest_first(store: Store) -> None:
    ids = [await article_at(store, n, due_in_s=10 - n) for n in range(6)]  # 5 is due first
    later = await article_at(store, 99, due_in_s=3600)
    now = T0 + timedelta(seconds=60)
    first = await store.claim_due_articles(A, now, limit=4, lease_seconds=LEASE)
    assert [a.article_id for a in first] == [ids[5], ids[4], ids[3], ids[2]]
    assert all(a.claimed_by == A for a in first)
    rest = await store.claim_due_articles(B, now, limit=100, lease_seconds=LEASE)
    assert [a.article_id for a in rest] == [ids[1], ids[0]]  # the leased ones are skipped
    assert later not in {a.article_id for a in rest}
    assert await store.claim_due_articles(B, now, limit=100, lease_seconds=LEASE) == []
    # A plain read still sees them all as due: leases are no business of reads.
    assert len(await store.due_articles(now, 100)) == 6
    assert all(a.claimed_by is None for a in await store.due_articles(now, 100))


async def test_a_leased_row_waits_for_its_expiry_and_a_late_completion_changes_nothing(
        store: Store) -> None:
    aid = await article_at(store, 1, due_in_s=0)
    [mine] = await store.claim_due_articles(A, T0, limit=10, lease_seconds=LEASE)
    assert await store.claim_due_articles(B, T0 + timedelta(seconds=59), limit=10,
                                          lease_seconds=LEASE) == []
    [theirs] = await store.claim_due_articles(B, T0 + timedelta(seconds=60), limit=10,
                                              lease_seconds=LEASE)
    assert mine.article_id == theirs.article_id == aid and theirs.claimed_by == B

    late = T0 + timedelta(seconds=61)
    with pytest.raises(LeaseLostError):
        await store.add_version(aid, content=Content("T", "edited", "sha256:e"),
                                event=lambda n: event("article.edited", (HOOK_A,)),
                                fetched_at=late, next_check_at=late, extractor_version=1,
                                lease_owner=A)
    for write in (
        store.mark_checked(aid, checked_at=late, next_check_at=late, lease_owner=A),
        store.mark_collapsed(aid, checked_at=late, next_check_at=late, lease_owner=A),
        store.mark_deleted(aid, event=event("article.deleted"), checked_at=late,
                           next_check_at=late, lease_owner=A),
    ):
        with pytest.raises(LeaseLostError):
            await write
    assert len(await store.get_versions(aid)) == 1  # no version, no event, no delivery
    assert await store.count_pending_deliveries() == 0
    [unchanged] = await store.due_articles(late, 10)
    assert unchanged.check_count == 0 and not unchanged.deleted
    assert unchanged.collapse_count == 0 and unchanged.current_version == 1
    # Still B's: A's refused writes did not clear the lease either.
    assert await store.claim_due_articles(A, late, limit=10, lease_seconds=LEASE) == []

    # The owner completes: the next check is set and the lease cleared in the same write.
    await store.mark_checked(aid, checked_at=late, next_check_at=late + timedelta(hours=1),
                             lease_owner=B)
    [row] = await store.due_articles(late + timedelta(hours=1), 10)
    assert row.check_count == 1
    assert [a.article_id for a in await store.claim_due_articles(
        A, late + timedelta(hours=1), limit=10, lease_seconds=LEASE)] == [aid]
    with pytest.raises(KeyError):  # an unknown article is not a lost lease
        await store.mark_checked(99999, checked_at=late, next_check_at=None, lease_owner=A)


async def test_each_completing_write_clears_its_owners_lease(store: Store) -> None:
    ids = [await article_at(store, n, due_in_s=0) for n in range(3)]
    assert len(await store.claim_due_articles(A, T0, limit=10, lease_seconds=LEASE)) == 3
    later = T0 + timedelta(minutes=1)
    assert await store.add_version(
        ids[0], content=Content("T", "edited", "sha256:e"),
        event=lambda n: event("article.edited", (HOOK_A,)), fetched_at=later,
        next_check_at=later, extractor_version=1, lease_owner=A) == 2
    assert await store.mark_collapsed(ids[1], checked_at=later, next_check_at=later,
                                      lease_owner=A) == 1
    await store.mark_deleted(ids[2], event=event("article.deleted"), checked_at=later,
                             next_check_at=later, lease_owner=A)
    # All three are free again (and due at `later`): B claims them, within A's lease time.
    again = await store.claim_due_articles(B, later, limit=10, lease_seconds=LEASE)
    assert sorted(a.article_id for a in again) == ids
    assert await store.count_pending_deliveries() == 2  # the edit's and the deletion's


async def test_renewal_keeps_a_long_job_leased(store: Store) -> None:
    aid = await article_at(store, 1, due_in_s=0)
    await store.claim_due_articles(A, T0, limit=10, lease_seconds=LEASE)
    for t in (40, 80, 120):  # renewed every 40 s of a 60 s lease
        now = T0 + timedelta(seconds=t)
        assert await store.renew_leases("article", A, [aid, 12345], now=now,
                                        lease_seconds=LEASE) == {aid}
        assert await store.claim_due_articles(B, now + timedelta(seconds=30), limit=10,
                                              lease_seconds=LEASE) == []
    # Without renewal it expires; once another owner took it, the first cannot renew it.
    [taken] = await store.claim_due_articles(B, T0 + timedelta(seconds=180), limit=10,
                                             lease_seconds=LEASE)
    assert taken.article_id == aid
    assert await store.renew_leases("article", A, [aid], now=T0 + timedelta(seconds=181),
                                    lease_seconds=LEASE) == set()
    # An expired lease nobody claimed since is still its owner's to renew and complete.
    assert await store.renew_leases("article", B, [aid], now=T0 + timedelta(seconds=500),
                                    lease_seconds=LEASE) == {aid}
    assert await store.renew_leases("article", B, [], now=T0, lease_seconds=LEASE) == set()
    with pytest.raises(ValueError, match="lease"):
        await store.renew_leases("article", B, [aid], now=T0, lease_seconds=0)


async def test_feed_and_delivery_leases_renew_and_release_by_their_keys(store: Store) -> None:
    feed = "https://a.example/rss"
    await store.sync_feeds({feed: T0})
    await store.create_article(
        extractor_version=1, canonical_url="https://x.example/1", url="u", feed_url=feed,
        content=content(), event=event(endpoints=(HOOK_A,)), seen_at=T0, next_check_at=None)
    assert len(await store.claim_due_feeds(A, T0, limit=1, lease_seconds=LEASE)) == 1
    [delivery] = await store.claim_due_deliveries(A, T0, limit=1, lease_seconds=LEASE)
    later = T0 + timedelta(seconds=50)
    assert await store.renew_leases("feed", A, [feed, "https://other/rss"], now=later,
                                    lease_seconds=LEASE) == {feed}
    assert await store.renew_leases("delivery", A, [delivery.delivery_id], now=later,
                                    lease_seconds=LEASE) == {delivery.delivery_id}
    assert await store.claim_due_feeds(B, later + timedelta(seconds=30), limit=1,
                                       lease_seconds=LEASE) == []
    assert await store.release_leases("feed", A, [feed]) == 1
    assert await store.release_leases("delivery", A, [delivery.delivery_id]) == 1
    assert len(await store.claim_due_feeds(B, T0, limit=1, lease_seconds=LEASE)) == 1
    assert len(await store.claim_due_deliveries(B, T0, limit=1, lease_seconds=LEASE)) == 1


async def test_a_released_lease_is_claimable_at_once_with_its_due_time(store: Store) -> None:
    aid = await article_at(store, 1, due_in_s=0)
    await store.claim_due_articles(A, T0, limit=10, lease_seconds=LEASE)
    assert await store.release_leases("article", B, [aid]) == 0  # not B's to give back
    assert await store.release_leases("article", A, [aid]) == 1
    [again] = await store.claim_due_articles(B, T0, limit=10, lease_seconds=LEASE)
    assert again.article_id == aid and again.next_check_at == T0
    with pytest.raises(ValueError, match="unknown lease kind"):
        await store.release_leases("nope", A, [aid])  # type: ignore[arg-type]


async def test_claims_cap_the_leased_rechecks_per_host(store: Store) -> None:
    busy = [await article_at(store, n, due_in_s=n, host="busy.example") for n in range(5)]
    quiet = await article_at(store, 10, due_in_s=10, host="quiet.example")
    now = T0 + timedelta(minutes=1)
    first = await store.claim_due_articles(A, now, limit=10, lease_seconds=LEASE, per_host=2)
    assert [a.article_id for a in first] == [busy[0], busy[1], quiet]
    # The host already has two under lease (whoever holds them): nothing more for it.
    assert await store.claim_due_articles(B, now, limit=10, lease_seconds=LEASE,
                                          per_host=2) == []
    await store.mark_checked(busy[0], checked_at=now, next_check_at=None, lease_owner=A)
    [next_one] = await store.claim_due_articles(A, now, limit=10, lease_seconds=LEASE,
                                                per_host=2)
    assert next_one.article_id == busy[2]
    # Expired leases no longer count against the host.
    later = now + timedelta(seconds=LEASE)
    assert [a.article_id for a in await store.claim_due_articles(
        B, later, limit=10, lease_seconds=LEASE, per_host=3)] == [busy[1], busy[2], busy[3],
                                                                  quiet]


async def test_hosts_are_the_lower_cased_authority_of_the_url(store: Store) -> None:
    upper = await article_at(store, 1, due_in_s=0, host="News.Example:8080")
    lower = await article_at(store, 2, due_in_s=1, host="news.example:8080")
    other = await article_at(store, 3, due_in_s=2, host="news.example")
    claimed = await store.claim_due_articles(A, T0 + timedelta(minutes=1), limit=10,
                                             lease_seconds=LEASE, per_host=1)
    assert [a.article_id for a in claimed] == [upper, other]
    assert lower not in {a.article_id for a in claimed}


async def test_feeds_are_due_work_synced_from_the_config(store: Store) -> None:
    f1, f2, f3 = "https://a.example/rss", "https://b.example/rss", "https://c.example/rss"
    await store.sync_feeds({f1: T0, f2: T0 + timedelta(seconds=2)})
    assert await store.claim_due_feeds(A, T0 + timedelta(seconds=1), limit=10,
                                       lease_seconds=LEASE) == [await store.get_feed_state(f1)]
    [f1_state] = [s for s in await store.list_feed_states() if s.feed_url == f1]
    assert f1_state.last_polled_at is None and f1_state.consecutive_errors == 0
    # Only the owner completes the poll; completing sets the next poll and frees the feed.
    with pytest.raises(LeaseLostError):
        await store.record_feed_poll(f1, polled_at=T0, status="ok", error=None, etag='"x"',
                                     last_modified=None, next_poll_at=T0, lease_owner=B)
    await store.record_feed_poll(f1, polled_at=T0, status="error", error="HTTP 500",
                                 etag=None, last_modified=None,
                                 next_poll_at=T0 + timedelta(seconds=20), lease_owner=A)
    state = await store.get_feed_state(f1)
    assert state is not None and state.consecutive_errors == 1 and state.last_error == "HTTP 500"
    assert state.next_poll_at == T0 + timedelta(seconds=20)
    with pytest.raises(LeaseLostError):  # completed: the lease is gone
        await store.record_feed_poll(f1, polled_at=T0, status="ok", error=None, etag=None,
                                     last_modified=None, next_poll_at=T0, lease_owner=A)

    # A reload: f1 stays (its backoff too), f2 is removed, f3 is new.
    await store.sync_feeds({f1: T0, f3: T0})
    due = await store.claim_due_feeds(A, T0 + timedelta(seconds=30), limit=10,
                                      lease_seconds=LEASE)
    assert [s.feed_url for s in due] == [f3, f1]  # f1 after its backoff; f2 no longer claimed
    assert {s.feed_url for s in await store.list_feed_states()} == {f1, f2, f3}
    # A successful poll completed by its owner keeps the validators and the entry count.
    await store.record_feed_poll(f3, polled_at=T0, status="ok", error=None, etag='"e"',
                                 last_modified="lm", next_poll_at=T0 + timedelta(hours=1),
                                 entries=7, lease_owner=A)
    state = await store.get_feed_state(f3)
    assert state is not None
    assert (state.etag, state.last_modified, state.entries, state.last_status) == (
        '"e"', "lm", 7, "ok")
    # A config with no feeds at all: nothing is claimed any more.
    await store.sync_feeds({})
    assert await store.claim_due_feeds(A, T0 + timedelta(days=1), limit=10,
                                       lease_seconds=LEASE) == []



async def test_a_sync_brings_a_feed_whose_interval_shortened_forward_only(store: Store) -> None:
    """A reload that shortens a feed's interval: its next poll comes no later than `due_by`
    says, one already sooner keeps its time, and a feed not configured is not touched."""
    f1, f2, f3 = "https://a.example/rss", "https://b.example/rss", "https://c.example/rss"
    await store.sync_feeds({f1: T0 + timedelta(hours=6), f2: T0, f3: T0 + timedelta(hours=6)})
    await store.sync_feeds({f1: T0, f2: T0},
                           due_by={f1: T0 + timedelta(minutes=10),
                                   f2: T0 + timedelta(minutes=10),
                                   f3: T0 + timedelta(minutes=10)})
    states = {s.feed_url: s.next_poll_at for s in await store.list_feed_states()}
    assert states == {f1: T0 + timedelta(minutes=10), f2: T0, f3: T0 + timedelta(hours=6)}


async def test_deliveries_are_claimed_and_recorded_under_a_lease(store: Store) -> None:
    for n in range(3):
        await store.create_article(
            extractor_version=1, canonical_url=f"https://x.example/{n}", url="u", feed_url="f",
            content=content(), event=event(endpoints=(HOOK_A, HOOK_B)), seen_at=T0,
            next_check_at=None)
    mine = await store.claim_due_deliveries(A, T0, limit=2, lease_seconds=LEASE,
                                            endpoints=[HOOK_A])
    assert len(mine) == 2 and {d.endpoint_url for d in mine} == {HOOK_A}
    assert len(await store.claim_due_deliveries(B, T0, limit=10, lease_seconds=LEASE,
                                                endpoints=[HOOK_A])) == 1
    assert await store.claim_due_deliveries(B, T0, limit=10, lease_seconds=LEASE,
                                            endpoints=[]) == []
    # All of HOOK_A's are leased: the earliest it could be attempted is when a lease expires.
    assert await store.next_delivery_due(endpoints=[HOOK_A]) == T0 + timedelta(seconds=LEASE)
    assert await store.next_delivery_due(endpoints=[HOOK_B]) == T0
    assert await store.next_delivery_due() == T0
    with pytest.raises(LeaseLostError):
        await store.record_delivery_attempt(
            mine[0].delivery_id, attempted_at=T0, status_code=200, error=None, duration_ms=1,
            outcome="delivered", next_attempt_at=None, lease_owner=B)
    [attempted] = [d for d in await store.list_deliveries(("pending",))
                   if d.delivery_id == mine[0].delivery_id]
    assert attempted.attempts == 0  # the refused attempt stored nothing
    await store.record_delivery_attempt(
        mine[0].delivery_id, attempted_at=T0, status_code=500, error="HTTP 500",
        duration_ms=1, outcome="retry", next_attempt_at=T0 + timedelta(seconds=5),
        lease_owner=A)
    [again] = await store.claim_due_deliveries(B, T0 + timedelta(seconds=5), limit=10,
                                               lease_seconds=LEASE, endpoints=[HOOK_A])
    assert again.delivery_id == mine[0].delivery_id and again.attempts == 1
    with pytest.raises(KeyError):
        await store.record_delivery_attempt(
            99999, attempted_at=T0, status_code=200, error=None, duration_ms=1,
            outcome="delivered", next_attempt_at=None, lease_owner=A)


async def claims(store: Store, owner: str, now: datetime) -> list[int]:
    """Twelve claims of up to three re-checks each, yielding in between."""
    got: list[int] = []
    for _ in range(12):
        got += [a.article_id for a in await store.claim_due_articles(
            owner, now, limit=3, lease_seconds=LEASE)]
        await asyncio.sleep(0)
    return got


async def test_two_stores_never_claim_the_same_row(backend: Backend, store: Store) -> None:
    """Two store objects (on PostgreSQL two pools) race their claims, round after round."""
    other = backend.store()
    await other.open()
    try:
        for round_ in range(8):
            now = T0 + timedelta(minutes=round_)
            ids = {await article_at(store, round_ * 100 + n, due_in_s=60 * round_)
                   for n in range(30)}

            a, b, c = await asyncio.gather(claims(store, A, now), claims(other, B, now),
                                           claims(other, "host-c:3:cccc", now))
            everything = a + b + c
            assert len(everything) == len(set(everything)) == 30  # none twice, none left
            assert set(everything) == ids
            # Done by their owners, so the next round finds only its own articles due.
            for owner, got in ((A, a), (B, b), ("host-c:3:cccc", c)):
                for aid in got:
                    await store.mark_checked(aid, checked_at=now, next_check_at=None,
                                             lease_owner=owner)
    finally:
        await other.close()


async def test_racing_capped_claims_never_exceed_the_host_cap(
        backend: Backend, store: Store) -> None:
    hosts = ["a.example", "b.example", "c.example"]
    for n in range(36):
        await article_at(store, n, due_in_s=0, host=hosts[n % 3])
    other = backend.store()
    await other.open()
    try:
        for round_ in range(6):
            now = T0 + timedelta(seconds=round_)
            results = await asyncio.gather(*(
                s.claim_due_articles(owner, now, limit=10, lease_seconds=LEASE, per_host=2)
                for s, owner in ((store, A), (other, B), (store, "c:3:c"), (other, "d:4:d"))))
            claimed = [a for got in results for a in got]
            per_host = Counter(a.url.split("/")[2] for a in claimed)
            assert all(n <= 2 for n in per_host.values()), per_host
            assert len({a.article_id for a in claimed}) == len(claimed)
            if round_ == 0:
                assert sum(per_host.values()) == 6  # two per host, whoever got them
            for a in claimed:
                assert a.claimed_by is not None
                await store.mark_checked(a.article_id, checked_at=now, next_check_at=None,
                                         lease_owner=a.claimed_by)
    finally:
        await other.close()
