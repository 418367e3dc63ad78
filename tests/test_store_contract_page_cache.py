# ruff: noqa: F811
"""The page cache of the `Store` protocol (`crawler.store.page_cache`), asserted on both
stores (like test_store_contract.py): an entry is stored by the unchanged check's own write,
renewed by the next one, and ended by any other check recorded, under the article's lease;
and a database of schema 11 migrates to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from crawler.store.base import LeaseLostError, Store
from crawler.store.migrations import MIGRATIONS
from crawler.store.page_cache import PageCache
from tests.store_backends import LEASE, T0, Backend, content, event, new_article

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

URL = "https://news.example/a/1"
LATER = T0 + timedelta(hours=1)
ENTRY = PageCache(final_url=URL, digest="sha256:abc", reader="3:-", full_at=LATER,
                  etag='W/"v1"', last_modified="Thu, 26 Nov 2026 12:00:00 GMT")


async def cached(store: Store) -> int:
    """An article whose unchanged check left `ENTRY`."""
    aid = await new_article(store)
    await store.mark_checked(aid, checked_at=LATER, next_check_at=None, present=True,
                             extractor_version=3, page=ENTRY)
    return aid


async def test_an_unchanged_check_stores_the_entry_and_the_next_renews_it(
        store: Store) -> None:
    aid = await new_article(store)
    assert await store.get_page_cache(aid) is None
    await store.mark_checked(aid, checked_at=LATER, next_check_at=None, present=True,
                             extractor_version=3, page=ENTRY)
    assert await store.get_page_cache(aid) == ENTRY
    article = await store.find_article_by_url(URL)
    assert article is not None and (article.check_count, article.extractor_version) == (1, 3)
    renewed = replace(ENTRY, etag=None, skipped=1)
    await store.mark_checked(aid, checked_at=LATER, next_check_at=None, present=True,
                             page=renewed)
    assert await store.get_page_cache(aid) == renewed
    assert await store.get_page_cache(999) is None


WRITES: dict[str, Callable[[Store, int], Awaitable[object]]] = {
    "an unchanged check without an entry": lambda s, aid: s.mark_checked(
        aid, checked_at=LATER, next_check_at=None, present=True),
    "a failed check": lambda s, aid: s.mark_checked(aid, checked_at=LATER, next_check_at=None),
    "a new version": lambda s, aid: s.add_version(
        aid, content=content("edited"), event=None, fetched_at=LATER, next_check_at=None,
        extractor_version=3),
    "a collapse": lambda s, aid: s.mark_collapsed(aid, checked_at=LATER, next_check_at=None),
    "a 404 of a streak": lambda s, aid: s.mark_missing(aid, checked_at=LATER,
                                                       next_check_at=None),
    "a deletion": lambda s, aid: s.mark_deleted(aid, event=event("article.deleted", ()),
                                                checked_at=LATER, next_check_at=None),
    "an announcement": lambda s, aid: s.mark_announced(
        aid, event=event("article.edited", ()), checked_at=LATER, next_check_at=None,
        extractor_version=3),
}


@pytest.mark.parametrize("write", list(WRITES))
async def test_any_other_check_recorded_ends_the_entry(store: Store, write: str) -> None:
    aid = await cached(store)
    await WRITES[write](store, aid)
    assert await store.get_page_cache(aid) is None


async def test_a_restoration_does_not_bring_back_the_entry_of_before_the_deletion(
        store: Store) -> None:
    aid = await cached(store)
    await store.mark_deleted(aid, event=event("article.deleted", ()), checked_at=LATER,
                             next_check_at=None)
    await store.mark_restored(aid, event=event("article.restored", ()), checked_at=LATER,
                              next_check_at=None, extractor_version=3)
    assert await store.get_page_cache(aid) is None


async def test_writes_that_record_no_check_leave_the_entry(store: Store) -> None:
    aid = await cached(store)
    await store.postpone_check(aid, next_check_at=LATER + timedelta(hours=1))
    await store.add_url_alias(aid, "https://news.example/other")
    await store.note_site_text(aid, text_hash="t", seen_at=LATER, since=T0)
    assert await store.get_page_cache(aid) == ENTRY


async def test_an_entry_only_with_a_check_that_found_the_page(store: Store) -> None:
    aid = await new_article(store)
    with pytest.raises(ValueError, match="found the page"):
        await store.mark_checked(aid, checked_at=LATER, next_check_at=None, page=ENTRY)
    with pytest.raises(KeyError):
        await store.mark_checked(999, checked_at=LATER, next_check_at=None, present=True,
                                 page=ENTRY)
    article = await store.find_article_by_url(URL)
    assert article is not None and article.check_count == 0
    assert await store.get_page_cache(aid) is None


async def test_the_entry_is_written_under_the_lease_or_not_at_all(store: Store) -> None:
    aid = await new_article(store)
    due = T0 + timedelta(hours=1)
    [claimed] = await store.claim_due_articles("daemon-a", due, limit=5, lease_seconds=LEASE)
    assert claimed.article_id == aid
    with pytest.raises(LeaseLostError):
        await store.mark_checked(aid, checked_at=due, next_check_at=None, present=True,
                                 page=ENTRY, lease_owner="daemon-b")
    assert await store.get_page_cache(aid) is None
    await store.mark_checked(aid, checked_at=due, next_check_at=None, present=True,
                             page=ENTRY, lease_owner="daemon-a")
    assert await store.get_page_cache(aid) == ENTRY


@pytest.mark.parametrize("per_host", [None, 4])
async def test_a_claim_reads_each_article_s_valid_entry_with_it(
        store: Store, per_host: int | None) -> None:
    due = LATER + timedelta(hours=1)
    cached_id = await new_article(store, 1)
    plain_id = await new_article(store, 2)
    ended_id = await new_article(store, 3)
    deleted_id = await new_article(store, 4)
    for aid in (cached_id, ended_id, deleted_id):
        await store.mark_checked(aid, checked_at=LATER, next_check_at=due, present=True,
                                 page=ENTRY)
    await store.mark_checked(ended_id, checked_at=LATER, next_check_at=due)  # a failed check
    await store.mark_deleted(deleted_id, event=event("article.deleted", ()), checked_at=LATER,
                             next_check_at=due)
    await store.mark_checked(plain_id, checked_at=LATER, next_check_at=due, present=True)
    claimed = await store.claim_due_articles("daemon-a", due, limit=10, lease_seconds=LEASE,
                                             per_host=per_host)
    entries = {a.article_id: a.page_cache for a in claimed}
    assert entries == {cached_id: ENTRY, plain_id: None, ended_id: None, deleted_id: None}
    # Any other read leaves the entry to `get_page_cache`.
    article = await store.find_article_by_url(URL)
    assert article is not None and article.page_cache is None
    assert all(a.page_cache is None for a in await store.due_articles(due, 10))
    assert await store.get_page_cache(cached_id) == ENTRY


async def test_schema_11_migrates_to_the_page_cache(backend: Backend) -> None:
    backend.at_schema(11)
    s = backend.store()
    assert await s.migrate() == (11, len(MIGRATIONS))
    await s.open()
    try:
        aid = await cached(s)
        assert await s.get_page_cache(aid) == ENTRY
    finally:
        await s.close()
    assert backend.count("page_cache") == 1
