"""End to end through `crawler run`: the feeds of one slow site (forty sections of a newspaper
whose feed requests the server holds) take no more than a quarter of the poll slots, so
another site's feed is polled while they wait, and the slow site's other feeds are polled
once its held polls end."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.due_work import FEED_POLLS_PER_HOST
from crawler.store.sqlite import SQLiteStore
from crawler.testing import news_site
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, NewsSite
from tests.e2e_support import GatedSite, running_daemon, stop_daemon, wait_for

SLOW_FEEDS = 40
PER_HOST = 2


def feeds_where(db_path: Path, prefix: str, condition: str) -> int:
    """Feeds whose URL starts with `prefix` and that meet `condition`, read under the
    daemon."""
    with closing(sqlite3.connect(db_path)) as db:
        [(count,)] = db.execute(
            f"SELECT count(*) FROM feeds WHERE url LIKE ? AND {condition}",
            (prefix + "%",)).fetchall()
    return int(count)


def polled(db_path: Path, prefix: str) -> int:
    """Feeds whose URL starts with `prefix` that have a poll recorded."""
    return feeds_where(db_path, prefix, "last_status = 'ok'")


async def test_a_slow_sites_feeds_leave_poll_slots_to_the_others(
        tmp_path: Path, site: NewsSite) -> None:
    slow = await GatedSite(held="/rss.xml").start()
    slow.gate.clear()  # its feeds' requests wait: a host that answers slowly
    try:
        slow.add("slow", "Slow story", LEAD, news_site.PARAS[:1])
        site.add("fast", "Fast story", LEAD, news_site.PARAS[:1])
        slow_feeds = [slow.url(f"/rss.xml?part={n}") for n in range(SLOW_FEEDS)]
        fast_feed = site.url("/rss.xml")
        config = write_config(tmp_path, [*slow_feeds, fast_feed], intervals='["1h"]')
        # The held requests never time out here, and two at a time may run on a host.
        config.write_text(config.read_text().replace(
            "per_host_concurrency = 4", f"per_host_concurrency = {PER_HOST}").replace(
            'timeout = "5s"', 'timeout = "60s"'))
        # Every slow feed falls due before the other site's: claimed earliest due first and
        # uncapped, they would take every poll slot the daemon has (more than it has), and
        # the other site's poll would wait for the slow site to answer.
        db_path = tmp_path / "crawler.db"
        now = datetime.now(UTC)
        store = SQLiteStore(db_path)
        await store.migrate()
        await store.open()
        try:
            await store.sync_feeds({
                **{url: now - timedelta(minutes=10, seconds=-n)
                   for n, url in enumerate(slow_feeds)},
                fast_feed: now - timedelta(minutes=1)})
        finally:
            await store.close()

        async with running_daemon(config, tmp_path) as daemon:
            await wait_for(lambda: polled(db_path, site.base) == 1)
            # The other site's poll (its feed and its new article) is recorded while the
            # slow site holds the requests of two of its polls (the fetcher's limit) and
            # none of them has ended.
            await wait_for(lambda: slow.in_flight == PER_HOST)
            assert slow.held_requests == PER_HOST
            # Claimed: a quarter of the poll slots, not every one of its forty feeds.
            await wait_for(lambda: feeds_where(db_path, slow.base, "lease_owner IS NOT NULL")
                           == FEED_POLLS_PER_HOST)
            assert polled(db_path, slow.base) == 0
            assert "/news/fast.html" in site.requests
            # The slow site answers: its feeds left out are polled as its polls end, two at
            # a time.
            slow.gate.set()
            await wait_for(lambda: polled(db_path, slow.base) >= 3 * PER_HOST)
            assert slow.most_in_flight <= PER_HOST
            assert await stop_daemon(daemon) == 0
    finally:
        slow.gate.set()
        await slow.close()
