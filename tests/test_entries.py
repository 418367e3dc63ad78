"""Following a feed's entries (`crawler.entries`): the pure rule choosing the article an entry
stands for, and, through `App.run_pass` against a local site with a feed of a few hundred big
pages, how many first sights a poll has in flight at once."""

from __future__ import annotations

import inspect
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from crawler.config import Settings, load_config
from crawler.entries import entry_article
from crawler.fetch import Fetcher
from crawler.models import Article
from crawler.pipeline import Pipeline
from crawler.store import EntryMatch
from crawler.store.sqlite import SQLiteStore
from tests.conftest import FakeClock
from tests.e2e_support import run_pass

KEY, LINK = "entry:https://news.example/rss guid-1", "https://news.example/a/1"


def _article(article_id: int) -> Article:
    return Article(article_id=article_id, canonical_url=f"https://news.example/c/{article_id}",
                   url=LINK, feed_url="https://news.example/rss", first_seen_at=FakeClock().now,
                   current_version=1, current_hash="sha256:x", title="T", deleted=False,
                   check_count=0, next_check_at=None)


A, B = _article(1), _article(2)


@pytest.mark.parametrize(("match", "known", "remember"), [
    (EntryMatch(by_key=None, by_link=None), None, []),  # a first sight
    (EntryMatch(by_key=A, by_link=A), A, []),  # both keys lead there already
    (EntryMatch(by_key=None, by_link=A), A, [KEY]),  # the guid is remembered
    (EntryMatch(by_key=A, by_link=None), A, [LINK]),  # a new link (a retitled slug)
    # A reused guid: the link's article wins, and the guid keeps leading to its first one.
    (EntryMatch(by_key=B, by_link=A), A, []),
])
def test_entry_article(match: EntryMatch, known: Article | None, remember: list[str]) -> None:
    assert entry_article(match, KEY, LINK) == (known, remember)


AT_ONCE = 4  # [fetch] global_concurrency below: the most first sights a poll follows at once
ENTRIES = 160
PARAGRAPH = ("The council met on Tuesday to discuss the budget for the harbour, the railway "
             "station and the museum, and voted after a long debate that lasted until late. ")


class BigFeedSite:
    """One feed of `entries` entries, each an article page of `paragraphs` paragraphs (300:
    ~60 KB). Each page request notes how many first sights are in flight: pages asked for so
    far (this one included) less the articles stored by then (read from the crawler's
    database file)."""

    def __init__(self, db: Path, entries: int = ENTRIES, paragraphs: int = 300) -> None:
        self.db, self.entries, self.paragraphs = db, entries, paragraphs
        self.requested = 0
        self.most_in_flight = 0
        self.server: TestServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def app(self) -> web.Application:
        async def rss(_: web.Request) -> web.Response:
            items = "".join(
                f"<item><title>Story {n}</title><link>{self.url(f'/a/{n}')}</link>"
                f"<guid isPermaLink=\"false\">story-{n}</guid><description>Story {n}.</description></item>"
                for n in range(self.entries))
            return web.Response(
                text=f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
                     f"<link>{self.url('/')}</link><description>d</description>{items}"
                     "</channel></rss>", content_type="application/rss+xml")

        async def page(request: web.Request) -> web.Response:
            self.requested += 1
            with sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True) as conn:
                stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            self.most_in_flight = max(self.most_in_flight, self.requested - stored)
            n = request.match_info["n"]
            body = "".join(f"<p>Story {n}, part {i}. {PARAGRAPH}</p>" for i in range(self.paragraphs))
            return web.Response(
                text=f"<html><head><title>Story {n}</title></head><body><article>"
                     f"<h1>Story {n}</h1>{body}</article></body></html>",
                content_type="text/html")

        app = web.Application()
        app.router.add_get("/rss.xml", rss)
        app.router.add_get("/a/{n}", page)
        return app


@asynccontextmanager
async def serving(site: BigFeedSite, tmp_path: Path) -> AsyncIterator[Settings]:
    """The site started, and the settings of a crawler following its feed."""
    site.server = TestServer(site.app(), host="127.0.0.1")
    await site.server.start_server()
    try:
        config = tmp_path / "crawler.toml"
        config.write_text(f"""
[storage]
database = "{site.db}"
[fetch]
per_host_delay = "0s"
per_host_concurrency = 16
global_concurrency = {AT_ONCE}
allow_private_addresses = true
respect_robots_txt = false
[logging]
level = "warning"
[[feeds]]
url = "{site.url('/rss.xml')}"
""", encoding="utf-8")
        yield load_config(config)
    finally:
        await site.server.close()


async def test_a_poll_has_a_bounded_number_of_first_sights_in_flight(
        tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "crawler.db"
    site = BigFeedSite(db)
    async with serving(site, tmp_path) as settings:
        assert await run_pass(settings, clock) is False
    assert site.requested == ENTRIES
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == ENTRIES
    # Every entry gathered at once would keep far more pages waiting for the store.
    assert 1 <= site.most_in_flight <= AT_ONCE


class CountingStore:
    """A store whose method calls are counted by name (each is a statement or a transaction
    on the database)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await method(*args, **kwargs)

        return counted if inspect.iscoroutinefunction(method) else method


async def test_an_entry_costs_one_store_read_and_a_first_sight_one_more_and_one_write(
        tmp_path: Path, store: SQLiteStore, clock: FakeClock) -> None:
    entries = 12
    site = BigFeedSite(tmp_path / "crawler.db", entries=entries, paragraphs=20)
    counting = CountingStore(store)
    async with serving(site, tmp_path) as settings, Fetcher(settings.fetch) as fetcher:
        pipeline = Pipeline(settings, counting, fetcher, clock=clock)
        outcome = await pipeline.poll_feed(settings.feeds[0])
        assert outcome.new_articles == entries
        poll = Counter({"get_feed_state": 1, "record_feed_poll": 1})
        assert counting.calls == poll + Counter(
            {"find_entry": entries, "find_sighting": entries, "create_article": entries})
        counting.calls.clear()
        clock.advance(60)
        assert (await pipeline.poll_feed(settings.feeds[0])).new_articles == 0
        assert counting.calls == poll + Counter({"find_entry": entries})
        # ... as each entry's id key was stored with its article.
        for n in range(entries):
            found = await store.find_entry(f"entry:{settings.feeds[0].url} story-{n}",
                                           site.url(f"/a/{n}"))
            assert found.by_key is not None and found.by_key == found.by_link
    assert await store.count_articles() == entries


class FailingStore(CountingStore):
    """The store lost after `good` entry lookups: every later one raises."""

    def __init__(self, store: SQLiteStore, good: int) -> None:
        super().__init__(store)
        self._good = good

    def __getattr__(self, name: str) -> Any:
        counted = super().__getattr__(name)
        if name != "find_entry":
            return counted

        async def find_entry(*args: Any) -> Any:
            if self.calls[name] >= self._good:
                self.calls[name] += 1
                raise ConnectionError("the database went away")
            return await counted(*args)

        return find_entry


async def test_a_poll_whose_store_fails_starts_no_more_entries(
        tmp_path: Path, store: SQLiteStore, clock: FakeClock) -> None:
    site = BigFeedSite(tmp_path / "crawler.db", entries=40, paragraphs=20)
    failing = FailingStore(store, good=6)
    async with serving(site, tmp_path) as settings, Fetcher(settings.fetch) as fetcher:
        pipeline = Pipeline(settings, failing, fetcher, clock=clock)
        with pytest.raises(ConnectionError):
            await pipeline.poll_feed(settings.feeds[0])
    # The entries being followed when it failed finished first; none was started after.
    assert failing.calls["find_entry"] <= 6 + AT_ONCE
    assert site.requested == await store.count_articles() == 6
