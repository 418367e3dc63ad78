# ruff: noqa: F811
"""Writes made only while the article is as the check saw it (`as_seen=`), asserted on both
stores (like test_store_contract.py): a feed poll that compared a feed-sourced article with
one feed's entry must not record its check once another poll moved the article to another
feed, or stored another version, meanwhile. Refused, nothing at all is written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from crawler.models import Article, AsSeen
from crawler.store.base import LeaseLostError, StaleArticleError, Store
from tests.store_backends import (
    HOOK_A,
    LEASE,
    T0,
    A,
    Backend,
    content,
    event,
    new_article,
)

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

URL = "https://news.example/a/1"
FEED = "https://news.example/rss"
OTHER_FEED = "https://news.example/full.xml"
LATER = T0 + timedelta(hours=1)
TABLES = ("versions", "events", "deliveries")


async def article(store: Store) -> Article:
    found = await store.find_article_by_url(URL)
    assert found is not None
    return found


def rows(backend: Backend) -> dict[str, int]:
    return {table: backend.count(table) for table in TABLES}


# Every write that records a check of a compared article, given what the check saw.
Write = Callable[[Store, int, AsSeen], Awaitable[object]]


async def _new_version(store: Store, aid: int, seen: AsSeen) -> object:
    return await store.add_version(aid, content=content("edited"), event=lambda _: event(
        "article.edited"), fetched_at=LATER, next_check_at=None, extractor_version=1,
        as_seen=seen)


async def _unchanged(store: Store, aid: int, seen: AsSeen) -> object:
    await store.mark_checked(aid, checked_at=LATER, next_check_at=None, present=True,
                             as_seen=seen)
    return None


async def _collapsed(store: Store, aid: int, seen: AsSeen) -> object:
    return await store.mark_collapsed(aid, checked_at=LATER, next_check_at=None,
                                      as_seen=seen)


async def _missing(store: Store, aid: int, seen: AsSeen) -> object:
    return await store.mark_missing(aid, checked_at=LATER, next_check_at=None, as_seen=seen)


async def _announced(store: Store, aid: int, seen: AsSeen) -> object:
    await store.mark_announced(aid, event=event("article.edited"), checked_at=LATER,
                               next_check_at=None, extractor_version=1, as_seen=seen)
    return None


async def _restored(store: Store, aid: int, seen: AsSeen) -> object:
    await store.mark_restored(aid, event=event("article.restored"), checked_at=LATER,
                              next_check_at=None, extractor_version=1, as_seen=seen)
    return None


async def _deleted(store: Store, aid: int, seen: AsSeen) -> object:
    await store.mark_deleted(aid, event=event("article.deleted"), checked_at=LATER,
                             next_check_at=None, as_seen=seen)
    return None


async def _moved(store: Store, aid: int, seen: AsSeen) -> object:
    await store.move_to_feed(aid, "https://news.example/third.xml", as_seen=seen)
    return None


WRITES = [_new_version, _unchanged, _collapsed, _missing, _announced, _restored, _deleted,
          _moved]


async def moved_away(store: Store, aid: int) -> None:
    """What another poll does meanwhile: a fuller entry in another feed re-baselines it."""
    await store.add_version(aid, content=content("the fuller text"), event=None,
                            fetched_at=T0, next_check_at=None, extractor_version=1,
                            announces=True, feed_url=OTHER_FEED)


async def moved_only(store: Store, aid: int) -> None:
    """Another poll moves it to a feed whose entry has the same text."""
    await store.move_to_feed(aid, OTHER_FEED)


async def edited(store: Store, aid: int) -> None:
    """Another check stores a version (the feed it is tracked by stays)."""
    await store.add_version(aid, content=content("another text"), event=lambda _: event(
        "article.edited"), fetched_at=T0, next_check_at=None, extractor_version=1)


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.__name__.strip("_"))
@pytest.mark.parametrize("meanwhile", [moved_away, moved_only, edited],
                         ids=lambda m: m.__name__)
async def test_a_check_of_an_article_changed_meanwhile_writes_nothing(
        backend: Backend, store: Store, write: Write,
        meanwhile: Callable[[Store, int], Awaitable[None]]) -> None:
    aid = await new_article(store, event=event(endpoints=(HOOK_A,)))
    seen = (await article(store)).as_seen
    await meanwhile(store, aid)
    before, stored = rows(backend), await article(store)
    with pytest.raises(StaleArticleError) as refused:
        await write(store, aid, seen)
    assert refused.value.article_id == aid
    assert refused.value.seen == seen
    assert refused.value.now == stored.as_seen
    assert rows(backend) == before
    assert await article(store) == stored


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.__name__.strip("_"))
async def test_a_check_of_the_article_as_seen_is_written(
        backend: Backend, store: Store, write: Write) -> None:
    aid = await new_article(store)
    before = await article(store)
    await write(store, aid, before.as_seen)
    after = await article(store)
    assert after != before
    if write is _moved:
        assert after.tracked_feed == "https://news.example/third.xml"
    else:
        assert after.check_count == before.check_count + 1


async def test_the_move_that_came_first_is_what_a_later_check_is_compared_with(
        store: Store) -> None:
    aid = await new_article(store)
    seen = (await article(store)).as_seen
    assert seen == AsSeen(tracked_feed=FEED, current_version=1,
                          current_hash=content("text 1").content_hash)
    await store.move_to_feed(aid, OTHER_FEED, as_seen=seen)
    # A second move decided on the same sight is refused: the first one stands.
    with pytest.raises(StaleArticleError):
        await store.move_to_feed(aid, "https://news.example/third.xml", as_seen=seen)
    moved = await article(store)
    assert moved.tracked_feed == OTHER_FEED
    # Seen afresh, the article is written again.
    await store.add_version(aid, content=content("edited"), event=None, fetched_at=LATER,
                            next_check_at=None, extractor_version=1, as_seen=moved.as_seen)
    assert (await article(store)).current_version == 2


async def test_a_lost_lease_and_an_unknown_article_are_told_before_a_stale_sight(
        store: Store) -> None:
    aid = await new_article(store)
    seen = (await article(store)).as_seen
    [claimed] = await store.claim_due_articles(A, T0 + timedelta(hours=1), limit=1,
                                                lease_seconds=LEASE)
    await store.release_leases("article", A, [aid])
    await edited(store, aid)
    with pytest.raises(LeaseLostError):
        await store.mark_checked(aid, checked_at=LATER, next_check_at=None,
                                 lease_owner=claimed.claimed_by, as_seen=seen)
    with pytest.raises(KeyError):
        await store.add_version(999, content=content("x"), event=None, fetched_at=LATER,
                                next_check_at=None, extractor_version=1, as_seen=seen)
    with pytest.raises(KeyError):
        await store.move_to_feed(999, OTHER_FEED, as_seen=seen)
