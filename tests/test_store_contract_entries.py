# ruff: noqa: F811
"""The `Store` contract of following feed entries (`crawler.store.entries.EntryStore`), on
both stores: an entry's two keys looked up in one read, the aliases a new article is created
with, aliases added in one write, and a first sight's three lookups in one read."""

from __future__ import annotations

import pytest

from crawler.models import Article, Content
from crawler.store.base import ArticleExistsError, Store, url_path
from crawler.store.entries import EntryMatch
from tests.store_backends import HOOK_A, HOOK_B, T0, content, event, new_article

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

FEED = "https://news.example/rss"
KEY = f"entry:{FEED} guid-1"
LINK = "https://news.example/a/1?utm=feed"  # what `new_article(store, 1)` stores as its url


async def article(store: Store, url: str) -> Article:
    found = await store.find_article_by_url(url)
    assert found is not None
    return found


async def test_find_entry_tells_what_each_key_leads_to(store: Store) -> None:
    assert await store.find_entry(KEY, LINK) == EntryMatch(by_key=None, by_link=None)
    await new_article(store, 1)
    first = await article(store, LINK)
    assert await store.find_entry(KEY, LINK) == EntryMatch(by_key=None, by_link=first)
    assert await store.find_entry(KEY, "https://news.example/new") == EntryMatch(None, None)

    second_id = await new_article(store, 2)
    await store.add_url_alias(second_id, KEY)  # the guid leads to the second, the link not
    second = await article(store, "https://news.example/a/2")
    assert await store.find_entry(KEY, LINK) == EntryMatch(by_key=second, by_link=first)
    assert await store.find_entry(KEY, "https://news.example/a/2") == EntryMatch(second, second)
    assert await store.find_entry(KEY, "https://news.example/new") == EntryMatch(second, None)


async def test_create_article_stores_the_aliases_it_is_given(store: Store) -> None:
    created = await store.create_article(
        extractor_version=1, canonical_url="https://news.example/a/1", url=LINK, feed_url=FEED,
        content=content("First sight."), event=event(), seen_at=T0, next_check_at=T0,
        aliases=(KEY, LINK, "https://news.example/a/1"),  # repeats are harmless
    )
    assert await store.find_entry(KEY, LINK) == EntryMatch(by_key=created, by_link=created)
    other_key = f"entry:{FEED} guid-2"
    # An alias already leading to an article keeps leading there.
    second = await store.create_article(
        extractor_version=1, canonical_url="https://news.example/a/2",
        url="https://news.example/a/2", feed_url=FEED, content=content("Second."),
        event=event(), seen_at=T0, next_check_at=T0, aliases=(KEY, other_key),
    )
    assert await store.find_entry(KEY, "https://news.example/a/2") == EntryMatch(created, second)
    assert (await article(store, other_key)).article_id == second.article_id
    # A refused create stores none of its aliases.
    with pytest.raises(ArticleExistsError):
        await store.create_article(
            extractor_version=1, canonical_url="https://news.example/a/2",
            url="https://news.example/x", feed_url=FEED, content=content(), event=event(),
            seen_at=T0, next_check_at=T0, aliases=(f"entry:{FEED} guid-3",),
        )
    assert await store.find_article_by_url(f"entry:{FEED} guid-3") is None
    assert await store.find_article_by_url("https://news.example/x") is None
    assert await store.count_articles() == 2


async def test_create_article_queues_deliveries_in_the_event_endpoint_order(
        store: Store) -> None:
    await store.create_article(
        extractor_version=1, canonical_url="https://news.example/a/1", url=LINK, feed_url=FEED,
        content=content(), event=event(endpoints=(HOOK_B, HOOK_A, HOOK_B)), seen_at=T0,
        next_check_at=T0,
    )
    assert [d.endpoint_url for d in await store.due_deliveries(T0, 10)] == [HOOK_B, HOOK_A]


async def test_add_url_aliases_adds_several_in_one_write(store: Store) -> None:
    first, second = await new_article(store, 1), await new_article(store, 2)
    await store.add_url_aliases(first, [])  # nothing to write
    await store.add_url_aliases(first, [KEY, "https://m.news.example/a/1", KEY])
    await store.add_url_aliases(second, [KEY, "https://m.news.example/a/2"])
    assert (await article(store, KEY)).article_id == first  # kept leading to the first
    assert (await article(store, "https://m.news.example/a/1")).article_id == first
    assert (await article(store, "https://m.news.example/a/2")).article_id == second


async def test_find_sighting_is_the_three_lookups_of_a_first_sight(store: Store) -> None:
    page = content("The same story, whatever the query.")

    async def create(canonical: str, text: Content = page, feed_url: str = FEED) -> Article:
        return await store.create_article(
            extractor_version=1, canonical_url=canonical, url=canonical, feed_url=feed_url,
            content=text, event=event(endpoints=()), seen_at=T0, next_check_at=T0)

    async def separately(canonical: str, text: Content = page,
                         feed_url: str = FEED) -> tuple[object, ...]:
        path = url_path(canonical)
        return (await store.find_article_by_url(canonical),
                await store.find_article_by_content(feed_url, path, text.content_hash),
                tuple(await store.find_articles_at_path(feed_url, path, limit=2)))

    async def at_once(canonical: str, text: Content = page,
                      feed_url: str = FEED) -> tuple[object, ...]:
        found = await store.find_sighting(canonical, feed_url, text.content_hash)
        return found.tracked, found.same_content, found.at_path

    nothing = (None, None, ())
    assert await at_once("https://news.example/a?v=1") == nothing
    first = await create("https://news.example/a?v=1")
    assert await at_once("https://news.example/a?v=2") == (None, first, (first,))
    second = await create("https://news.example/a?v=2", content("Edited since."))
    third = await create("https://news.example/a?v=3")
    await create("https://news.example/a?v=4", feed_url="https://else.example/rss")
    cases = [
        ("https://news.example/a?v=1", page, FEED),  # tracked
        ("https://news.example/a?v=9", page, FEED),  # the oldest with that text, two at path
        ("https://news.example/a?v=9", content("Edited since."), FEED),
        ("https://news.example/a?v=9", content("Never seen."), FEED),
        ("https://news.example/a?v=9", page, "https://else.example/rss"),  # the other feed
        ("https://news.example/b", page, FEED),  # another path
    ]
    for case in cases:
        assert await at_once(*case) == await separately(*case), case
    assert await at_once("https://news.example/a?v=9") == (None, first, (first, second))
    assert await at_once("https://news.example/a?v=3") == (third, first, (first, second))
