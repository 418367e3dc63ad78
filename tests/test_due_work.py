"""Due work in one process: claims renewed while the work runs, a check whose claim was
taken over records nothing, work given up is released."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from crawler.app import App
from crawler.config import load_config
from crawler.due_work import BUSY_LAG, FEED_CLAIM_BATCH, FEED_POLLS_PER_HOST, feed_polls_per_host
from crawler.leases import LeaseKeeper, LeaseTiming, new_owner
from crawler.models import FeedState
from crawler.store.sqlite import SQLiteStore
from crawler.testing import news_site
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.conftest import FakeClock
from tests.e2e_support import GatedSite
from tests.log_capture import capture_logs
from tests.store_backends import T0, A, B, article_at

PARAS = news_site.PARAS[:1]


def one_host_of(config: Path, per_host: int) -> Path:
    """`config` allowing `per_host` requests at once to a host, and so as many of its feeds'
    polls under lease: for the tests of claims whose feeds are all on the one test site."""
    config.write_text(config.read_text().replace(
        "per_host_concurrency = 4", f"per_host_concurrency = {per_host}"))
    return config


async def test_a_keeper_renews_its_claims_while_the_work_runs(store: SQLiteStore) -> None:
    aid = await article_at(store, 1, due_in_s=0)
    clock = FakeClock(T0)
    keeper = LeaseKeeper(store, "article", A, clock=clock, timing=LeaseTiming(10.0, 0.05))
    [claimed] = await store.claim_due_articles(A, clock.now, limit=1, lease_seconds=10.0)
    keeper.hold([claimed.article_id])
    async with keeper.renewing():
        for _ in range(5):  # 40 s of work: four leases' worth
            clock.advance(8)
            await asyncio.sleep(0.2)  # renewals run
            assert await store.claim_due_articles(B, clock.now, limit=1,
                                                  lease_seconds=10.0) == []
    clock.advance(10.5)  # no longer renewed: it expires, and another owner takes it
    [taken] = await store.claim_due_articles(B, clock.now, limit=1, lease_seconds=10.0)
    assert taken.article_id == aid
    await keeper.renew()
    assert keeper.count == 1  # not renewed once: perhaps a unit that is just ending
    await keeper.renew()
    assert keeper.count == 0  # not renewed twice: lost, and known to be


async def test_a_unit_ending_while_its_lease_is_renewed_is_not_called_lost(
        store: SQLiteStore) -> None:
    aid = await article_at(store, 1, due_in_s=0)
    clock = FakeClock(T0)
    keeper = LeaseKeeper(store, "article", A, clock=clock, timing=LeaseTiming(10.0, 1.0))
    [claimed] = await store.claim_due_articles(A, clock.now, limit=1, lease_seconds=10.0)
    keeper.hold([claimed.article_id])
    # The completing write clears the lease; the unit has not ended yet when a renewal runs.
    await store.mark_checked(aid, checked_at=clock.now, next_check_at=None, lease_owner=A)
    with capture_logs() as logs:
        await keeper.renew()
        keeper.done(aid)
        await keeper.renew()
    assert keeper.count == 0
    assert not [entry for entry in logs if entry["event"] == "lease_lost"]


def test_every_process_start_is_a_new_owner() -> None:
    owners = {new_owner() for _ in range(100)}
    assert len(owners) == 100
    assert all(o.count(":") >= 2 for o in owners)


async def test_a_check_whose_claim_was_taken_over_records_nothing(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    path = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                        intervals='["1m"]')
    settings = load_config(path)
    async with App(settings, clock=clock) as app:
        await app.run_pass()
        story.title = "Storm batters coast"
        clock.advance(60)
        [mine] = await app.due.claim_checks()
        assert mine.claimed_by == app.owner
        # This process stalls past its lease; another daemon claims the article.
        later = clock.now + timedelta(seconds=app.article_leases.timing.seconds)
        [theirs] = await app.store.claim_due_articles("other:1:x", later, limit=1,
                                                      lease_seconds=60)
        outcome = await app.due.check(mine)
        assert outcome.result == "lease_lost"
        assert len(await app.store.get_versions(mine.article_id)) == 1
        assert await app.store.count_pending_deliveries() == 0
        assert app.article_leases.count == 0
        # The one holding the claim records the edit.
        await app.store.mark_checked(theirs.article_id, checked_at=later, next_check_at=None,
                                     lease_owner="other:1:x")
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new"]


async def test_work_claimed_and_not_finished_is_given_back_at_exit(
        tmp_path: Path, site: NewsSite, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = load_config(write_config(tmp_path, [site.url("/rss.xml")], intervals='["1m"]'))
    async with App(settings, clock=clock) as app:
        await app.run_pass()
        clock.advance(60)
        await app.store.sync_feeds({settings.feeds[0].url: clock.now})
        assert len(await app.due.claim_checks()) == 1
        assert len(await app.due.claim_feeds()) == 1
    async with App(settings, clock=clock) as app:  # the next process: nothing to wait for
        assert len(await app.due.claim_checks()) == 1
        assert len(await app.due.claim_feeds()) == 1


async def test_polls_are_claimed_a_few_at_a_time_and_not_while_busy(
        tmp_path: Path, site: NewsSite, clock: FakeClock) -> None:
    """So that in a fleet the members take turns at what falls due, and one busy with new
    articles leaves the next polls to the others."""
    feeds = [site.url(f"/rss.xml?part={n}") for n in range(10)]
    settings = load_config(one_host_of(write_config(tmp_path, feeds, intervals='["1m"]'), 16))
    async with App(settings, clock=clock) as app:
        await app.store.sync_feeds({url: clock.now for url in feeds})
        first = await app.due.claim_feeds()
        assert len(first) == FEED_CLAIM_BATCH
        # A loop saturated with work (as extracting a burst of new articles makes it).
        loop = asyncio.get_running_loop()
        for _ in range(5):
            loop.call_soon(time.sleep, BUSY_LAG)
        assert await app.due.claim_feeds() == []  # busy: left for the others
        # Caught up, with polls still running: one more at a time, so that members of a fleet
        # take turns at the large units of work a feed's new articles are.
        assert len(await app.due.claim_feeds()) == 1
        await app.feed_leases.release([s.feed_url for s in first])


async def test_a_host_that_stops_answering_holds_up_only_its_own_checks(
        tmp_path: Path, site: NewsSite, clock: FakeClock) -> None:
    slow = await GatedSite(held="/news/").start()
    try:
        for n in range(4):
            slow.add(f"slow{n}", f"Slow story {n}", LEAD, PARAS)
        for n in range(24):
            site.add(f"fast{n}", f"Fast story {n}", LEAD, PARAS)
        config = write_config(tmp_path, [slow.url("/rss.xml"), site.url("/rss.xml")],
                              intervals='["1m"]')
        # Two checks at a time per host, and the silent host's requests never time out here.
        config.write_text(config.read_text().replace(
            "per_host_concurrency = 4", "per_host_concurrency = 2").replace(
            'timeout = "5s"', 'timeout = "60s"'))
        async with App(load_config(config), clock=clock) as app:
            await app.run_pass()  # first sight of all 28
            clock.advance(60)
            slow.gate.clear()
            before = sum(1 for r in site.requests if r.startswith("/news/"))
            checks = asyncio.ensure_future(app.due.check_all_due())
            deadline = time.monotonic() + 20
            while (sum(1 for r in site.requests if r.startswith("/news/")) - before < 24
                   and time.monotonic() < deadline):
                await asyncio.sleep(0.05)
            # Every check of the answering site was made while the other held its two.
            assert sum(1 for r in site.requests if r.startswith("/news/")) - before == 24
            assert not checks.done()
            slow.gate.set()
            outcomes = await checks
        assert len(outcomes) == 28 and all(o.ok for o in outcomes)
    finally:
        await slow.close()


async def test_one_claim_tick_starts_every_due_poll_a_lone_daemon_has_room_for(
        tmp_path: Path, site: NewsSite, clock: FakeClock) -> None:
    # One at a time once polls run must not mean one a tick: a daemon of 1,000 feeds polled
    # every ten minutes starts almost two a second.
    from crawler.daemon import Daemon

    site.add("storm", "Storm hits coast", LEAD, news_site.PARAS)
    site.page_delay = 3.0  # the polls stay busy with their entry while the claims go on
    feeds = [site.url(f"/rss.xml?part={n}") for n in range(7)]
    settings = load_config(one_host_of(write_config(tmp_path, feeds, intervals='["1m"]'), 8))
    async with App(settings, clock=clock) as runtime:
        await runtime.store.sync_feeds({url: clock.now for url in feeds})
        daemon = Daemon(runtime, None)
        await daemon._claim_feeds()
        assert await runtime.store.claim_due_feeds(  # none left for the next tick
            "other:1:x", clock.now, limit=10, lease_seconds=60) == []
        await asyncio.gather(*daemon._inflight, return_exceptions=True)


@pytest.mark.parametrize(("per_host", "cap"), [(2, FEED_POLLS_PER_HOST), (10, 10)])
async def test_polls_of_one_host_take_at_most_a_quarter_of_the_poll_slots(
        tmp_path: Path, site: NewsSite, clock: FakeClock, per_host: int, cap: int) -> None:
    """A quarter of the poll slots for one host's feeds (or the fetcher's per-host
    concurrency, if higher): the rest of its feeds would wait for a turn at it, each
    holding a poll slot every other site's feeds need."""
    feeds = [site.url(f"/rss.xml?part={n}") for n in range(cap + 4)]
    settings = load_config(one_host_of(write_config(tmp_path, feeds, intervals='["1m"]'),
                                       per_host))
    assert feed_polls_per_host(settings) == cap
    async with App(settings, clock=clock) as app:
        await app.store.sync_feeds({url: clock.now for url in feeds})
        claimed: list[FeedState] = []
        while batch := await app.due.claim_feeds():
            claimed += batch
        assert len(claimed) == cap
        await app.feed_leases.release([claimed[0].feed_url])  # one poll of the host ends
        [then] = await app.due.claim_feeds()
        assert then.feed_url == claimed[0].feed_url  # given back with its due time: first again
        await app.feed_leases.release([s.feed_url for s in (*claimed[1:], then)])
