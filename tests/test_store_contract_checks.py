# ruff: noqa: F811
"""The `Store` methods a check's decision reads, and restorations, asserted on both stores
(like test_store_contract.py): version marks without texts, the last version, the status of
the deletion in force, and `mark_restored` writing the check, the event and its deliveries in
one transaction, under the article's lease."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from crawler.models import EventRecord, VersionMark
from crawler.store.base import LeaseLostError, Store
from tests.store_backends import (
    HOOK_A,
    HOOK_B,
    LEASE,
    T0,
    content,
    event,
    new_article,
)

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

URL = "https://news.example/a/1"




def deleted(status: int, at: timedelta) -> EventRecord:
    body = {"type": "article.deleted", "data": {"previous_version": 1, "status": status}}
    return event("article.deleted", (HOOK_B,), at=T0 + at, payload=json.dumps(body))


async def test_version_marks_and_last_version(store: Store) -> None:
    aid = await new_article(store)
    await store.add_version(aid, content=content("second"), event=None,
                            fetched_at=T0 + timedelta(hours=1), next_check_at=None,
                            extractor_version=2)
    marks = await store.get_version_marks(aid)
    assert marks == [
        VersionMark(1, content("text 1").content_hash, T0, 1),
        VersionMark(2, content("second").content_hash, T0 + timedelta(hours=1), 2),
    ]
    last = await store.get_last_version(aid)
    assert last is not None and (last.number, last.text) == (2, "second")
    assert await store.get_version_marks(999) == []
    assert await store.get_last_version(999) is None


async def test_deletion_status_is_the_latest_deletion(store: Store) -> None:
    aid = await new_article(store)
    assert await store.get_deletion_status(aid) is None
    await store.mark_deleted(aid, event=deleted(404, timedelta(hours=1)),
                             checked_at=T0 + timedelta(hours=1), next_check_at=None)
    assert await store.get_deletion_status(aid) == 404
    await store.mark_checked(aid, checked_at=T0, next_check_at=None, present=True)
    await store.mark_deleted(aid, event=deleted(410, timedelta(hours=2)),
                             checked_at=T0 + timedelta(hours=2), next_check_at=None)
    assert await store.get_deletion_status(aid) == 410
    assert await store.get_deletion_status(999) is None


async def test_mark_restored_clears_the_mark_and_stores_the_event(store: Store) -> None:
    aid = await new_article(store, event=event(endpoints=()))
    await store.mark_deleted(aid, event=event("article.deleted", ()), checked_at=T0,
                             next_check_at=None)
    later = T0 + timedelta(hours=3)
    await store.mark_restored(aid, event=event("article.restored", (HOOK_A, HOOK_B), at=later),
                              checked_at=later, next_check_at=later + timedelta(hours=1),
                              extractor_version=2)
    article = await store.find_article_by_url(URL)
    assert article is not None and not article.deleted
    assert (article.current_version, article.check_count) == (1, 2)
    assert article.extractor_version == 2
    assert article.next_check_at == later + timedelta(hours=1)
    due = await store.due_deliveries(later, 10)
    assert [(d.event_type, d.endpoint_url) for d in due] == [
        ("article.restored", HOOK_A), ("article.restored", HOOK_B)]
    # a later 404 is news again
    await store.mark_deleted(aid, event=event("article.deleted", ()), checked_at=later,
                             next_check_at=None)
    article = await store.find_article_by_url(URL)
    assert article is not None and article.deleted
    with pytest.raises(KeyError):
        await store.mark_restored(999, event=event("article.restored"), checked_at=T0,
                                  next_check_at=None, extractor_version=1)


async def test_mark_restored_completes_a_claim_only_for_its_owner(store: Store) -> None:
    aid = await new_article(store, event=event(endpoints=()))
    await store.mark_deleted(aid, event=event("article.deleted", ()), checked_at=T0,
                             next_check_at=T0)
    [claimed] = await store.claim_due_articles("daemon-a", T0, limit=5, lease_seconds=LEASE)
    assert claimed.article_id == aid
    with pytest.raises(LeaseLostError):
        await store.mark_restored(aid, event=event("article.restored", (HOOK_A,)),
                                  checked_at=T0, next_check_at=None, extractor_version=1,
                                  lease_owner="daemon-b")
    assert await store.due_deliveries(T0, 10) == []  # nothing of the lost write
    article = await store.find_article_by_url(URL)
    assert article is not None and article.deleted
    await store.mark_restored(aid, event=event("article.restored", (HOOK_A,)), checked_at=T0,
                              next_check_at=None, extractor_version=1, lease_owner="daemon-a")
    assert [d.event_type for d in await store.due_deliveries(T0, 10)] == ["article.restored"]
    # the lease is cleared: another daemon can claim it once it is due again
    article = await store.find_article_by_url(URL)
    assert article is not None and not article.deleted


async def gone_count(store: Store) -> int:
    article = await store.find_article_by_url(URL)
    assert article is not None
    return article.gone_count


async def test_mark_missing_counts_404s_in_a_row_until_the_page_answers(store: Store) -> None:
    aid = await new_article(store)
    soon = T0 + timedelta(minutes=2)
    assert await store.mark_missing(aid, checked_at=T0, next_check_at=soon) == 1
    article = await store.find_article_by_url(URL)
    assert article is not None and not article.deleted and article.next_check_at == soon
    assert article.check_count == 1
    # a failed fetch (nothing answered) neither confirms nor ends the streak
    await store.mark_checked(aid, checked_at=T0, next_check_at=soon)
    assert await store.mark_missing(aid, checked_at=T0, next_check_at=soon) == 2
    # the page answering with the article ends it
    await store.mark_checked(aid, checked_at=T0, next_check_at=soon, present=True)
    assert await gone_count(store) == 0
    for ends_it in (
        store.mark_collapsed(aid, checked_at=T0, next_check_at=soon),
        store.add_version(aid, content=content("second"), event=None, fetched_at=T0,
                          next_check_at=soon, extractor_version=1),
        store.mark_deleted(aid, event=event("article.deleted", ()), checked_at=T0,
                           next_check_at=soon),
        store.mark_restored(aid, event=event("article.restored", ()), checked_at=T0,
                            next_check_at=soon, extractor_version=1),
    ):
        assert await store.mark_missing(aid, checked_at=T0, next_check_at=soon) == 1
        await ends_it
        assert await gone_count(store) == 0
    with pytest.raises(KeyError):
        await store.mark_missing(999, checked_at=T0, next_check_at=None)


async def test_mark_missing_completes_a_claim_only_for_its_owner(store: Store) -> None:
    aid = await new_article(store)
    await store.claim_due_articles("daemon-a", T0 + timedelta(hours=1), limit=5,
                                   lease_seconds=LEASE)
    with pytest.raises(LeaseLostError):
        await store.mark_missing(aid, checked_at=T0, next_check_at=None,
                                 lease_owner="daemon-b")
    assert await gone_count(store) == 0
    assert await store.mark_missing(aid, checked_at=T0, next_check_at=T0,
                                    lease_owner="daemon-a") == 1
    [again] = await store.claim_due_articles("daemon-b", T0, limit=5, lease_seconds=LEASE)
    assert again.article_id == aid and again.gone_count == 1


async def test_note_site_text_counts_other_articles_of_the_host_with_that_text(
        store: Store) -> None:
    first, second, third = [await new_article(store, n) for n in (1, 2, 3)]
    elsewhere = (await store.create_article(
        extractor_version=1, canonical_url="https://other.example/a", url="https://other.example/a",
        feed_url="https://other.example/rss", content=content("x"), event=event(), seen_at=T0,
        next_check_at=None)).article_id
    hour = timedelta(hours=1)

    async def note(aid: int, text: str, at: timedelta) -> int:
        return await store.note_site_text(aid, text_hash=text, seen_at=T0 + at,
                                          since=T0 + at - 24 * hour)

    assert await note(first, "sha256:wall", hour) == 0
    assert await note(elsewhere, "sha256:wall", hour) == 0  # another host: another site
    assert await note(second, "sha256:wall", 2 * hour) == 1
    assert await note(second, "sha256:wall", 3 * hour) == 1  # one article counts once
    assert await note(second, "sha256:other", 3 * hour) == 0
    assert await note(third, "sha256:wall", 4 * hour) == 2
    assert await note(first, "sha256:wall", 5 * hour) == 2
    # what was found more than the window ago is forgotten
    # what was found more than the window ago is forgotten: the second's (3 h), not the
    # first's (5 h)
    assert await note(third, "sha256:wall", 28 * hour) == 1
    assert await note(999, "sha256:wall", 28 * hour) == 0


async def announced(store: Store) -> tuple[int, int]:
    article = await store.find_article_by_url(URL)
    assert article is not None
    return article.current_version, article.announced_version


async def test_the_announced_version_follows_what_receivers_were_told(store: Store) -> None:
    aid = await new_article(store)
    assert await announced(store) == (1, 1)

    async def add(text: str, **kw: object) -> None:
        await store.add_version(aid, content=content(text), fetched_at=T0, next_check_at=None,
                                extractor_version=1, **kw)  # type: ignore[arg-type]

    await add("edited", event=lambda n: event("article.edited", ()))
    assert await announced(store) == (2, 2)
    await add("flap", event=None)  # silent
    assert await announced(store) == (3, 2)
    await add("baseline", event=None, announces=True)  # a re-baseline stands for it
    assert await announced(store) == (4, 4)
    await add("flap again", event=None, announces=False)
    assert await announced(store) == (5, 4)
    told = event("article.edited", (HOOK_A,), at=T0 + timedelta(days=1))
    await store.mark_announced(aid, event=told, checked_at=T0 + timedelta(days=1),
                               next_check_at=None, extractor_version=1)
    assert await announced(store) == (5, 5)
    due = await store.due_deliveries(T0 + timedelta(days=1), 10)
    assert [d.event_id for d in due if d.event_type == "article.edited"] == [told.event_id]
    await add("flap once more", event=None)
    await store.mark_deleted(aid, event=event("article.deleted", ()), checked_at=T0,
                             next_check_at=None)
    await store.mark_restored(aid, event=event("article.restored", ()), checked_at=T0,
                              next_check_at=None, extractor_version=1)
    assert await announced(store) == (6, 6)  # the restoration names the current version
    with pytest.raises(KeyError):
        await store.mark_announced(999, event=event("article.edited"), checked_at=T0,
                                   next_check_at=None, extractor_version=1)


async def test_the_feed_an_article_is_compared_from_moves_the_first_one_stays(
        store: Store) -> None:
    aid = await new_article(store)
    first = await store.find_article_by_url(URL)
    assert first is not None and first.entry_feed_url is None
    assert first.tracked_feed == first.feed_url
    await store.move_to_feed(aid, "https://news.example/full.xml")
    moved = await store.find_article_by_url(URL)
    assert moved is not None and moved.feed_url == first.feed_url
    assert moved.tracked_feed == "https://news.example/full.xml"
    # A re-baseline moves it in the same write as its version; a version alone leaves it.
    await store.add_version(aid, content=content("fuller"), event=None,
                            fetched_at=T0 + timedelta(hours=1), next_check_at=None,
                            extractor_version=2, announces=True,
                            feed_url="https://news.example/other.xml")
    await store.add_version(aid, content=content("edited"), event=None,
                            fetched_at=T0 + timedelta(hours=2),
                            next_check_at=T0 + timedelta(hours=3), extractor_version=2)
    last = await store.find_article_by_url(URL)
    assert last is not None and last.current_version == 3
    assert last.tracked_feed == "https://news.example/other.xml"
    claimed = await store.claim_due_articles("w1", T0 + timedelta(hours=4), limit=5,
                                             lease_seconds=LEASE)
    assert [a.tracked_feed for a in claimed] == ["https://news.example/other.xml"]
    with pytest.raises(KeyError):
        await store.move_to_feed(999, "https://news.example/full.xml")
