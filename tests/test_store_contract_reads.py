# ruff: noqa: F811
"""The read queries of the `Store` seam (`crawler.store.reads`), asserted on both stores:
resolving an article, the article and event lists with their filters and keyset pages."""

from __future__ import annotations

from datetime import timedelta

from crawler.store.base import Store
from tests.store_backends import T0, Backend, content, event

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

FEED_A = "https://news.example/rss"
FEED_B = "https://other.example/feed"




async def add(store: Store, n: int, *, minutes: int, title: str = "", feed: str = FEED_A,
              done: bool = False) -> int:
    """Article n, first seen `minutes` after T0, announced by an `article.new` at that time."""
    seen = T0 + timedelta(minutes=minutes)
    article = await store.create_article(
        extractor_version=1, canonical_url=f"https://news.example/a/{n}",
        url=f"https://news.example/a/{n}?from=rss", feed_url=feed,
        content=content(f"text {n}", title or f"Story {n}"),
        event=event("article.new", endpoints=(), at=seen, payload=f'{{"n": {n}}}'),
        seen_at=seen, next_check_at=None if done else seen + timedelta(minutes=10))
    return article.article_id


async def test_an_article_is_found_by_id_and_by_the_first_known_of_several_urls(
        store: Store) -> None:
    one, two = await add(store, 1, minutes=0), await add(store, 2, minutes=1)
    got = await store.get_article(two)
    assert got is not None and got.canonical_url == "https://news.example/a/2"
    assert await store.get_article(two + 100) is None
    by_alias = await store.find_article_by_urls(
        ["https://unknown.example/", "https://news.example/a/1?from=rss",
         "https://news.example/a/2"])
    assert by_alias is not None and by_alias.article_id == one
    assert await store.find_article_by_urls(["https://unknown.example/"]) is None
    assert await store.find_article_by_urls([]) is None


async def test_articles_are_listed_newest_first_and_paged_by_keyset(store: Store) -> None:
    ids = [await add(store, n, minutes=n % 3) for n in range(7)]  # ties in first sight
    everything = await store.list_articles(limit=100)
    assert len(everything) == 7
    keys = [(a.article.first_seen_at, a.article.article_id) for a in everything]
    assert keys == sorted(keys, reverse=True)
    paged: list[int] = []
    cursor = None
    while True:
        page = await store.list_articles(limit=3, before=cursor)
        paged += [a.article.article_id for a in page]
        if len(page) < 3:
            break
        cursor = page[-1].cursor
    assert paged == [a.article.article_id for a in everything]
    assert sorted(paged) == sorted(ids)


async def test_articles_filter_by_feed_and_search_titles_in_any_case(
        store: Store) -> None:
    await add(store, 1, minutes=0, title="Storm hits the COAST")
    await add(store, 2, minutes=1, title="Election results", feed=FEED_B)
    await add(store, 3, minutes=2, title="北约峰会在布鲁塞尔举行")
    await add(store, 4, minutes=3, title="Élection à Paris")
    assert [a.article.title for a in await store.list_articles(search="coast")] == [
        "Storm hits the COAST"]
    assert [a.article.title for a in await store.list_articles(search="Storm HITS")] == [
        "Storm hits the COAST"]
    assert [a.article.title for a in await store.list_articles(search="峰会")] == [
        "北约峰会在布鲁塞尔举行"]
    assert await store.list_articles(search="/a/2") == []  # titles only, not URLs
    assert [a.article.feed_url for a in await store.list_articles(feed_url=FEED_B)] == [FEED_B]
    # Only A-Z fold, on both stores whatever the database's locale.
    assert [a.article.title for a in await store.list_articles(search="ÉLECTION À PARIS")] \
        == [] and len(await store.list_articles(search="Élection à PARIS")) == 1
    assert await store.list_articles(search="100%") == []
    assert await store.list_articles(search="_") == []


async def test_an_article_listing_says_its_state_versions_and_last_change(store: Store) -> None:
    tracking = await add(store, 1, minutes=0)
    done = await add(store, 2, minutes=1, done=True)
    gone = await add(store, 3, minutes=2)
    edited_at = T0 + timedelta(hours=2)
    await store.add_version(tracking, content=content("text 1, edited"), event=None,
                            fetched_at=edited_at, next_check_at=edited_at, extractor_version=1)
    deleted_at = T0 + timedelta(hours=3)
    await store.mark_deleted(gone, event=event("article.deleted", endpoints=(), at=deleted_at),
                             checked_at=deleted_at, next_check_at=None)
    rows = {a.article.article_id: a for a in await store.list_articles()}
    assert rows[tracking].state == "tracking" and rows[tracking].article.current_version == 2
    assert rows[tracking].changed_at == edited_at
    assert rows[done].state == "done" and rows[done].changed_at == T0 + timedelta(minutes=1)
    assert rows[gone].state == "deleted" and rows[gone].changed_at == deleted_at
    assert rows[gone].deleted_at == deleted_at


async def test_events_are_listed_newest_first_with_filters_and_keyset_pages(
        store: Store) -> None:
    first = await add(store, 1, minutes=0)
    await add(store, 2, minutes=5, feed=FEED_B)
    gone_at = T0 + timedelta(minutes=9)
    await store.mark_deleted(first, event=event("article.deleted", endpoints=(), at=gone_at,
                                                payload='{"status": 404}'),
                             checked_at=gone_at, next_check_at=None)
    events = await store.list_events()
    assert [(e.event_type, e.article_id) for e in events] == [
        ("article.deleted", first), ("article.new", first + 1), ("article.new", first)]
    assert events[0].payload == '{"status": 404}' and events[0].version == 1
    assert events[0].created_at == gone_at and events[0].title == "Story 1"
    assert events[0].canonical_url == "https://news.example/a/1"
    assert events[0].url == "https://news.example/a/1?from=rss"
    assert [e.event_type for e in await store.list_events(event_type="article.new")] == [
        "article.new"] * 2
    assert [e.article_id for e in await store.list_events(feed_url=FEED_B)] == [first + 1]
    since = await store.list_events(since=T0 + timedelta(minutes=5))
    assert [e.event_type for e in since] == ["article.deleted", "article.new"]
    page = await store.list_events(limit=2)
    rest = await store.list_events(limit=2, before=page[-1].cursor)
    assert [e.event_id for e in page + rest] == [e.event_id for e in events]


async def test_events_of_equal_time_page_by_event_id(store: Store) -> None:
    for n in range(5):
        await add(store, n, minutes=0)
    everything = await store.list_events(limit=10)
    assert [e.event_id for e in everything] == sorted((e.event_id for e in everything),
                                                      reverse=True)
    page = await store.list_events(limit=3)
    rest = await store.list_events(limit=3, before=page[-1].cursor)
    assert [e.event_id for e in page + rest] == [e.event_id for e in everything]


async def test_an_articles_events_come_oldest_first_and_a_read_only_store_reads_them(
        backend: Backend, store: Store) -> None:
    article = await add(store, 1, minutes=0)
    await add(store, 2, minutes=1)
    gone_at = T0 + timedelta(hours=1)
    await store.mark_deleted(article, event=event("article.deleted", endpoints=(), at=gone_at),
                             checked_at=gone_at, next_check_at=None)
    back_at = T0 + timedelta(hours=2)
    await store.add_version(article, content=content("text 1, back"),
                            event=lambda n: event("article.restored", endpoints=(), at=back_at),
                            fetched_at=back_at, next_check_at=None, extractor_version=1)
    reader = backend.store(readonly=True)
    await reader.open()
    try:
        events = await reader.article_events(article)
        assert [(e.event_type, e.version) for e in events] == [
            ("article.new", 1), ("article.deleted", 1), ("article.restored", 2)]
        assert len(await reader.list_articles()) == 2
        assert (await reader.get_article(article)) is not None
    finally:
        await reader.close()


async def test_database_bytes_counts_what_is_stored(store: Store) -> None:
    empty = await store.database_bytes()
    assert empty > 0  # the schema itself takes room
    for n in range(200):
        await add(store, n, minutes=n, title="A long enough title " * 20)
    assert await store.database_bytes() > empty
