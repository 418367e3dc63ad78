"""The Pipeline, where a newcomer looks for it: what one feed poll does with each kind of answer
the feed gives, against the local news site and a real SQLite store. Each row names the feed's
path on the site, the poll's outcome and what the store keeps of it (the poll's status, its
error, the validators the next poll sends). What entries and re-checks do is in
test_entries.py, test_e2e_pass.py and test_recorder.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.fetch import Fetcher
from crawler.pipeline import Pipeline
from crawler.store.sqlite import SQLiteStore
from crawler.testing.clock import FakeClock
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import LEAD, PARAS, NewsSite


@dataclass(frozen=True, slots=True)
class Poll:
    path: str
    ok: bool
    status: str
    entries: int
    new_articles: int
    error: str | None
    validators_kept: bool


POLLS = [
    Poll("/rss.xml", True, "ok", 2, 2, None, True),
    Poll("/atom.xml", True, "ok", 2, 2, None, False),  # this feed sends no validators
    Poll("/broken.xml", False, "error", 0, 0, "HTTP 500", False),
    Poll("/news/storm.html", False, "error", 0, 0, "not an RSS or Atom feed", False),
]


@pytest.mark.parametrize("poll", POLLS, ids=[p.path for p in POLLS])
async def test_one_poll_per_kind_of_feed_answer(tmp_path: Path, site: NewsSite,
                                                store: SQLiteStore, clock: FakeClock,
                                                poll: Poll) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", "Unions called off Friday's strike.", PARAS)
    settings = local_settings(tmp_path, [site.url(poll.path)])
    async with Fetcher(settings.fetch) as fetcher:
        pipeline = Pipeline(settings, store, fetcher, clock=clock)
        outcome = await pipeline.poll_feed(settings.feeds[0])
    assert (outcome.ok, outcome.status, outcome.entries, outcome.new_articles) == (
        poll.ok, poll.status, poll.entries, poll.new_articles)
    assert (outcome.error is None) == (poll.error is None)
    if poll.error is not None:
        assert outcome.error is not None and poll.error in outcome.error
    state = await store.get_feed_state(settings.feeds[0].url)
    assert state is not None and state.last_status == poll.status
    assert state.consecutive_errors == (0 if poll.ok else 1)
    assert (state.etag is not None) == poll.validators_kept
    assert state.next_poll_at is not None and state.next_poll_at > clock.now
    assert await store.count_articles() == poll.new_articles


async def test_an_unchanged_feed_is_answered_304_and_follows_nothing(
        tmp_path: Path, site: NewsSite, store: SQLiteStore, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = local_settings(tmp_path, [site.url("/rss.xml")])
    async with Fetcher(settings.fetch) as fetcher:
        pipeline = Pipeline(settings, store, fetcher, clock=clock)
        assert (await pipeline.poll_feed(settings.feeds[0])).new_articles == 1
        pages = sum(1 for r in site.requests if r.startswith("/news/"))
        again = await pipeline.poll_feed(settings.feeds[0])
    assert (again.ok, again.status, again.entries) == (True, "not_modified", 0)
    assert site.feed_headers[-1].get("If-None-Match") is not None
    assert sum(1 for r in site.requests if r.startswith("/news/")) == pages


async def test_a_failed_page_keeps_the_feed_from_answering_304_next_time(
        tmp_path: Path, site: NewsSite, store: SQLiteStore, clock: FakeClock) -> None:
    # The entry whose page failed is followed again by the next poll: with this poll's
    # validators stored, that poll would be a 304 and the entry would wait for a change.
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", "Unions called off Friday's strike.",
             PARAS).status = 500
    settings = local_settings(tmp_path, [site.url("/rss.xml")])
    async with Fetcher(settings.fetch) as fetcher:
        pipeline = Pipeline(settings, store, fetcher, clock=clock)
        first = await pipeline.poll_feed(settings.feeds[0])
        assert (first.ok, first.new_articles, first.failed_pages) == (False, 1, 1)
        site.stories["rail"].status = 200
        second = await pipeline.poll_feed(settings.feeds[0])
    assert site.feed_headers[-1].get("If-None-Match") is None
    assert (second.ok, second.status, second.new_articles) == (True, "ok", 1)


async def test_a_feed_too_slow_to_parse_is_a_failed_poll_that_backs_off(
        tmp_path: Path, site: NewsSite, store: SQLiteStore, clock: FakeClock) -> None:
    from crawler.budget import Budget, Offload
    from crawler.workers import WorkerPool
    from tests.test_workers import big_feed

    hostile = big_feed(2_000, closed=False).decode()  # 3.3 MB feedparser reads for seconds
    site.rss = lambda: hostile  # type: ignore[method-assign]
    settings = local_settings(tmp_path, [site.url("/rss.xml")])
    pool = WorkerPool(size=1)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            offload = Offload(pool, Budget(inline_bytes=100_000, page_seconds=0.05))
            pipeline = Pipeline(settings, store, fetcher, clock=clock, offload=offload)
            outcome = await pipeline.poll_feed(settings.feeds[0])
    finally:
        await pool.close()
    assert (outcome.ok, outcome.status) == (False, "error")
    assert outcome.error is not None and "bytes of feed" in outcome.error
    state = await store.get_feed_state(settings.feeds[0].url)
    assert state is not None and state.consecutive_errors == 1 and state.etag is None
