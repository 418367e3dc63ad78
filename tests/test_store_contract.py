# ruff: noqa: F811
"""The `Store` protocol's contract, asserted on both stores: SQLite (a file in tmp_path) and
PostgreSQL (a database of the test's own on the session's server). What only one store has
(SQLite's WAL and pragmas, its lock file; PostgreSQL's sessions) is tested in its own file."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.clockstep import DueCaps
from crawler.kinds import EndpointState
from crawler.models import Content
from crawler.store.base import (
    ArticleExistsError,
    DatabaseMissingError,
    LeaseLostError,
    SchemaOutdatedError,
    SchemaTooNewError,
    Store,
    StoreClosedError,
    StoreError,
)
from crawler.store.migrations import MIGRATIONS
from crawler.store.postgres_schema import MIGRATIONS as PG_MIGRATIONS
from tests.store_backends import (
    HOOK_A,
    HOOK_B,
    T0,
    Backend,
    content,
    event,
    new_article,
)

# The suite's fixtures, used by name as test parameters (hence F811 on every test).
from tests.store_contract_fixtures import backend, store  # noqa: F401

CURRENT = len(MIGRATIONS)




def test_both_stores_number_their_schemas_alike() -> None:
    assert len(PG_MIGRATIONS) == len(MIGRATIONS)


# --- lifecycle and schema ----------------------------------------------------------------------

async def test_open_is_idempotent_and_ping_follows_it(backend: Backend) -> None:
    s = backend.store()
    assert not await s.ping()
    await s.migrate()
    await s.open()
    await s.open()
    assert await s.ping()
    await s.close()
    await s.close()
    assert not await s.ping()


async def test_methods_before_open_or_after_close_raise(backend: Backend) -> None:
    s = backend.store()
    with pytest.raises(StoreClosedError):
        await s.count_articles()
    with pytest.raises(StoreClosedError):
        await s.mark_checked(1, checked_at=T0, next_check_at=None)
    await s.migrate()
    await s.open()
    await s.close()
    with pytest.raises(StoreClosedError):
        await s.count_articles()


async def test_migrate_creates_the_schema_and_is_idempotent(backend: Backend) -> None:
    backend.at_schema(0)
    s = backend.store()
    assert await s.migrate() == (0, CURRENT)
    assert await s.migrate() == (CURRENT, CURRENT)
    await s.open()
    try:
        assert await s.count_articles() == 0
    finally:
        await s.close()


async def test_racing_migrations_migrate_once(backend: Backend) -> None:
    backend.at_schema(0)
    # Each migration is applied once (twice would fail on its CREATE TABLE) and every racer
    # ends on the current schema.
    results = await asyncio.gather(*(backend.store().migrate() for _ in range(3)))
    assert {after for _, after in results} == {CURRENT}
    assert (0, CURRENT) in results


async def test_an_empty_database_is_missing_for_every_open(backend: Backend) -> None:
    backend.at_schema(0)
    for readonly in (True, False):
        s = backend.store(readonly=readonly)
        with pytest.raises(DatabaseMissingError, match="crawler migrate"):
            await s.open()
        await s.close()


async def test_an_older_schema_is_refused_until_migrated(backend: Backend) -> None:
    backend.at_schema(2)
    for readonly in (True, False):
        s = backend.store(readonly=readonly)
        with pytest.raises(SchemaOutdatedError, match="run `crawler migrate`") as caught:
            await s.open()
        await s.close()
        assert (caught.value.database, caught.value.program) == (2, CURRENT)
    s = backend.store()
    assert await s.migrate() == (2, CURRENT)
    await s.open()
    await s.close()


async def test_a_newer_schema_is_refused_by_open_and_migrate(backend: Backend) -> None:
    s = backend.store()
    await s.migrate()
    backend.set_schema_version(CURRENT + 1)
    for readonly in (True, False):
        reader = backend.store(readonly=readonly)
        with pytest.raises(SchemaTooNewError, match="too old") as caught:
            await reader.open()
        await reader.close()
        assert (caught.value.database, caught.value.program) == (CURRENT + 1, CURRENT)
    with pytest.raises(SchemaTooNewError):
        await backend.store().migrate()


async def test_readonly_store_reads_and_refuses_to_write_or_migrate(
        backend: Backend, store: Store) -> None:
    aid = await new_article(store)
    reader = backend.store(readonly=True)
    await reader.open()
    try:
        found = await reader.find_article_by_url("https://news.example/a/1")
        assert found is not None and found.article_id == aid
        assert await reader.ping()
        with pytest.raises(StoreError, match="read-only"):
            await reader.migrate()
        with pytest.raises(StoreClosedError):
            await reader.mark_checked(aid, checked_at=T0, next_check_at=None)
        with pytest.raises(StoreClosedError):
            await reader.record_feed_poll("https://e.org/rss", polled_at=T0, status="ok",
                                          error=None, etag=None, last_modified=None,
                                          next_poll_at=None)
    finally:
        await reader.close()
    assert await store.get_feed_state("https://e.org/rss") is None


# --- feeds -------------------------------------------------------------------------------------

async def test_feed_state_round_trip_and_error_counting(store: Store) -> None:
    url = "https://news.example/rss"
    assert await store.get_feed_state(url) is None
    await store.record_feed_poll(url, polled_at=T0, status="ok", error=None, etag='"v1"',
                                 last_modified="Wed, 25 Nov 2026 10:00:00 GMT",
                                 next_poll_at=T0 + timedelta(minutes=10), entries=12)
    for i in range(2):
        await store.record_feed_poll(url, polled_at=T0 + timedelta(minutes=i + 1),
                                     status="error", error="timeout", etag=None,
                                     last_modified=None, next_poll_at=None)
    state = await store.get_feed_state(url)
    assert state is not None
    assert state.consecutive_errors == 2
    assert state.etag == '"v1"'  # kept through errors, for the next conditional GET
    assert state.last_modified == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert (state.last_status, state.last_error, state.entries) == ("error", "timeout", 12)
    assert state.last_polled_at == T0 + timedelta(minutes=2)
    assert state.next_poll_at is None
    await store.record_feed_poll(url, polled_at=T0, status="not_modified", error=None,
                                 etag='"v2"', last_modified=None, next_poll_at=T0)
    state = await store.get_feed_state(url)
    assert state is not None
    assert (state.consecutive_errors, state.etag, state.last_modified) == (0, '"v2"', None)
    assert state.entries == 12  # None keeps the last count
    assert state.next_poll_at == T0
    assert state.next_poll_at.tzinfo == UTC
    # An error on a feed never polled before creates its row.
    await store.record_feed_poll("https://a.example/feed", polled_at=T0, status="error",
                                 error="dns", etag="x", last_modified=None, next_poll_at=None)
    states = await store.list_feed_states()
    assert [s.feed_url for s in states] == ["https://a.example/feed", url]
    assert states[0].consecutive_errors == 1
    assert states[0].etag is None
    with pytest.raises(ValueError, match="status"):
        await store.record_feed_poll(url, polled_at=T0, status="bogus", error=None, etag=None,
                                     last_modified=None, next_poll_at=None)


async def test_the_gap_a_feed_asked_for_is_kept_until_an_answer_replaces_it(
        store: Store) -> None:
    """`ttl_seconds` as the poll gives it on an answer, kept through errors, with or without a
    lease; a feed that never asked for one has none."""
    url = "https://news.example/rss"
    await store.record_feed_poll(url, polled_at=T0, status="ok", error=None, etag=None,
                                 last_modified=None, next_poll_at=T0, ttl_seconds=1800.0)
    state = await store.get_feed_state(url)
    assert state is not None and state.ttl_seconds == 1800.0
    await store.record_feed_poll(url, polled_at=T0, status="error", error="timeout",
                                 etag=None, last_modified=None, next_poll_at=T0)
    state = await store.get_feed_state(url)
    assert state is not None and state.ttl_seconds == 1800.0
    await store.sync_feeds({url: T0})
    [claimed] = await store.claim_due_feeds("a:1:x", T0, limit=1, lease_seconds=60)
    assert claimed.feed_url == url
    await store.record_feed_poll(url, polled_at=T0, status="not_modified", error=None,
                                 etag=None, last_modified=None, next_poll_at=T0,
                                 lease_owner="a:1:x", ttl_seconds=7200.0)
    state = await store.get_feed_state(url)
    assert state is not None and state.ttl_seconds == 7200.0
    await store.record_feed_poll(url, polled_at=T0, status="ok", error=None, etag=None,
                                 last_modified=None, next_poll_at=T0)
    state = await store.get_feed_state(url)
    assert state is not None and state.ttl_seconds is None


# --- articles ----------------------------------------------------------------------------------

async def test_create_article_writes_aliases_version_event_deliveries(store: Store) -> None:
    ev = event(endpoints=(HOOK_A, HOOK_B, HOOK_A))
    article = await store.create_article(
        extractor_version=1, canonical_url="https://news.example/a/1",
        url="https://news.example/a/1?utm=x", feed_url="https://news.example/rss",
        content=content("Hello " * 40, "Head"), event=ev,
        seen_at=T0, next_check_at=T0 + timedelta(minutes=10), source="feed",
    )
    assert (article.current_version, article.deleted, article.check_count) == (1, False, 0)
    assert (article.title, article.source) == ("Head", "feed")
    for url in ("https://news.example/a/1", "https://news.example/a/1?utm=x"):
        assert await store.find_article_by_url(url) == article
    assert await store.find_article_by_url("https://news.example/other") is None
    versions = await store.get_versions(article.article_id)
    assert [(v.number, v.title, v.text) for v in versions] == [(1, "Head", "Hello " * 40)]
    assert versions[0].fetched_at == T0
    pending = await store.due_deliveries(T0, 10)
    assert sorted(d.endpoint_url for d in pending) == [HOOK_A, HOOK_B]  # duplicates collapsed
    assert all(d.event_id == ev.event_id and d.payload == ev.payload for d in pending)
    assert all(d.event_type == "article.new" and d.attempts == 0 for d in pending)
    assert await store.count_pending_deliveries() == 2
    assert await store.count_articles() == 1
    assert await store.count_versions() == 1
    with pytest.raises(ArticleExistsError):
        await store.create_article(
            extractor_version=1, canonical_url="https://news.example/a/1",
            url="https://news.example/x", feed_url="f", content=content(), event=event(),
            seen_at=T0, next_check_at=T0,
        )
    assert await store.count_articles() == 1
    assert await store.find_article_by_url("https://news.example/x") is None
    assert await store.count_pending_deliveries() == 2  # the refused one's event is not kept


async def test_racing_creates_of_one_canonical_url_make_one_article(store: Store) -> None:
    events = [event(endpoints=(HOOK_A,)) for _ in range(4)]
    results = await asyncio.gather(*(store.create_article(
        extractor_version=1, canonical_url="https://news.example/a/1",
        url=f"https://news.example/a/1?from={n}", feed_url="https://news.example/rss",
        content=content(f"seen by daemon {n}"), event=ev, seen_at=T0, next_check_at=T0,
    ) for n, ev in enumerate(events)), return_exceptions=True)
    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(created) == 1
    assert len(refused) == 3 and all(isinstance(r, ArticleExistsError) for r in refused)
    assert await store.count_articles() == 1
    assert await store.count_versions() == 1
    [delivery] = await store.due_deliveries(T0, 10)  # one article.new, whoever won
    assert delivery.event_id in {e.event_id for e in events}


async def test_add_url_alias(store: Store) -> None:
    a1 = await new_article(store, 1)
    a2 = await new_article(store, 2)
    await store.add_url_alias(a1, "https://m.news.example/a/1")
    await store.add_url_alias(a1, "https://m.news.example/a/1")  # no-op
    await store.add_url_alias(a2, "https://m.news.example/a/1")  # already leads to a1
    found = await store.find_article_by_url("https://m.news.example/a/1")
    assert found is not None
    assert found.article_id == a1


async def test_find_article_by_content_matches_feed_path_and_current_hash(store: Store) -> None:
    feed, page = "https://news.example/rss", content("The same story, whatever the query.")

    async def create(canonical: str, feed_url: str = feed, text: Content = page) -> int:
        article = await store.create_article(
            extractor_version=1, canonical_url=canonical, url=canonical, feed_url=feed_url,
            content=text, event=event(endpoints=()), seen_at=T0, next_check_at=T0)
        return article.article_id

    first = await create("https://news.example/a?v=1")
    await create("https://news.example/a?v=2")  # a later duplicate: the oldest wins
    other_feed = await create("https://news.example/b?v=1", feed_url="https://else.example/rss")
    await create("https://news.example/c", text=content("Another story."))

    async def found(path: str, content_hash: str = page.content_hash,
                    feed_url: str = feed) -> int | None:
        article = await store.find_article_by_content(feed_url, path, content_hash)
        return article.article_id if article else None

    assert await found("https://news.example/a") == first
    assert await found("https://news.example/a", "sha256:other") is None
    assert await found("https://news.example/a?v=1") is None  # a path has no query
    assert await found("https://news.example/b") is None  # another feed's article
    assert await found("https://news.example/b", feed_url="https://else.example/rss") == other_feed
    assert await found("https://news.example/c") is None  # same path, other content
    # the current version counts, not the first
    await store.add_version(first, content=content("Edited."), event=None, fetched_at=T0,
                            next_check_at=T0, extractor_version=1)
    assert await found("https://news.example/a") != first
    assert await found("https://news.example/a", content("Edited.").content_hash) == first

    async def at_path(path: str, limit: int = 5, feed_url: str = feed) -> list[int]:
        return [a.article_id for a in await store.find_articles_at_path(feed_url, path,
                                                                        limit=limit)]

    assert len(await at_path("https://news.example/a")) == 2
    assert await at_path("https://news.example/a", limit=1) == [first]
    assert await at_path("https://news.example/b") == []
    assert await at_path("https://news.example/b", feed_url="https://else.example/rss") == [
        other_feed]


async def test_articles_of_an_older_schema_are_found_by_content(backend: Backend) -> None:
    backend.at_schema(9)  # before articles kept their canonical URL's path
    backend.execute(
        "INSERT INTO articles (canonical_url, url, feed_url, first_seen_at, last_checked_at,"
        " current_version, current_hash, title) VALUES ('https://e.org/a?v=7',"
        " 'https://e.org/a?v=7', 'https://e.org/rss', '2026-11-26T12:00:00.000000Z',"
        " '2026-11-26T12:00:00.000000Z', 1, 'sha256:1', 'Title')")
    s = backend.store()
    await s.migrate()
    await s.open()
    try:
        found = await s.find_article_by_content("https://e.org/rss", "https://e.org/a",
                                                "sha256:1")
        assert found is not None and found.canonical_url == "https://e.org/a?v=7"
    finally:
        await s.close()


async def test_add_version_and_silent_version(store: Store) -> None:
    aid = await new_article(store)
    n = await store.add_version(aid, extractor_version=1,
                                content=content("v2 text", "New title"),
                                event=lambda _: event("article.edited", (HOOK_A,)),
                                fetched_at=T0 + timedelta(hours=1), next_check_at=None)
    assert n == 2
    n3 = await store.add_version(aid, extractor_version=1, content=content("text 1"),
                                 event=None, fetched_at=T0 + timedelta(hours=2),
                                 next_check_at=T0 + timedelta(hours=3))
    assert n3 == 3
    versions = await store.get_versions(aid)
    assert [v.number for v in versions] == [1, 2, 3]
    assert (versions[1].text, versions[1].title) == ("v2 text", "New title")
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None
    assert article.current_version == 3
    assert article.current_hash == content("text 1").content_hash
    assert article.check_count == 2
    assert article.next_check_at == T0 + timedelta(hours=3)
    assert await store.count_pending_deliveries() == 2  # new + edited; the silent one adds none
    with pytest.raises(KeyError):
        await store.add_version(999, extractor_version=1, content=content(), event=None,
                                fetched_at=T0, next_check_at=None)


async def test_racing_versions_get_the_numbers_their_transactions_assigned(
        store: Store) -> None:
    aid = await new_article(store, event=event(endpoints=()))

    def edited(n: int) -> object:
        return lambda number: event("article.edited", (HOOK_A,), event_id=f"evt_{n}",
                                    payload=json.dumps({"version": number, "by": n}))

    numbers = await asyncio.gather(*(store.add_version(
        aid, extractor_version=1, content=content(f"edit {n}"), event=edited(n),  # type: ignore[arg-type]
        fetched_at=T0 + timedelta(minutes=n), next_check_at=None) for n in range(6)))
    assert sorted(numbers) == [2, 3, 4, 5, 6, 7]
    versions = {v.number: v.text for v in await store.get_versions(aid)}
    by_event = {d.event_id: json.loads(d.payload) for d in await store.due_deliveries(
        T0 + timedelta(days=1), 20)}
    for n, number in enumerate(numbers):
        assert versions[number] == f"edit {n}"
        assert by_event[f"evt_{n}"] == {"version": number, "by": n}
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and article.current_version == 7


async def test_mark_checked_and_due_articles(store: Store) -> None:
    ids = [await new_article(store, i) for i in range(3)]
    # Article 2 is due first, article 0 later, article 1 never again.
    await store.mark_checked(ids[2], checked_at=T0, next_check_at=T0 + timedelta(minutes=1))
    await store.mark_checked(ids[1], checked_at=T0, next_check_at=None)
    due = await store.due_articles(T0 + timedelta(minutes=10), 10)
    assert [a.article_id for a in due] == [ids[2], ids[0]]
    assert due[0].check_count == 1
    assert [a.article_id for a in await store.due_articles(T0 + timedelta(minutes=5), 10)] == [
        ids[2]]
    assert len(await store.due_articles(T0 + timedelta(days=1), 1)) == 1
    assert await store.count_due_articles(T0 + timedelta(minutes=5)) == 1
    assert await store.count_due_articles(T0 + timedelta(minutes=10)) == 2
    # Non-UTC input means the same instant.
    plus2 = timezone(timedelta(hours=2))
    assert len(await store.due_articles((T0 + timedelta(minutes=10)).astimezone(plus2), 10)) == 2
    with pytest.raises(KeyError):
        await store.mark_checked(999, checked_at=T0, next_check_at=None)
    with pytest.raises(ValueError, match="naive"):
        await store.due_articles(datetime(2026, 1, 1), 10)


async def test_mark_collapsed_counts_a_streak_that_a_check_ends(store: Store) -> None:
    aid = await new_article(store)
    streak = [await store.mark_collapsed(aid, checked_at=T0, next_check_at=T0) for _ in range(3)]
    assert streak == [1, 2, 3]
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and (article.collapse_count, article.check_count) == (3, 3)
    await store.mark_checked(aid, checked_at=T0, next_check_at=T0)
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and article.collapse_count == 0
    assert await store.mark_collapsed(aid, checked_at=T0, next_check_at=T0) == 1
    with pytest.raises(KeyError):
        await store.mark_collapsed(999, checked_at=T0, next_check_at=None)


async def test_extractor_version_of_versions_and_articles(store: Store) -> None:
    aid = await new_article(store)  # stored by extractor 1
    await store.mark_checked(aid, checked_at=T0, next_check_at=None)  # no extraction: stays
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and article.extractor_version == 1
    # a newer extractor found the same text: the article moves on, the version row does not
    await store.mark_checked(aid, checked_at=T0, next_check_at=None, extractor_version=2)
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and article.extractor_version == 2
    await store.add_version(aid, content=content("v2"), event=None, fetched_at=T0,
                            next_check_at=None, extractor_version=3)
    assert [v.extractor_version for v in await store.get_versions(aid)] == [1, 3]
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and article.extractor_version == 3


async def test_mark_deleted_then_restored(store: Store) -> None:
    aid = await new_article(store)
    await store.mark_deleted(aid, event=event("article.deleted", (HOOK_B,)),
                             checked_at=T0 + timedelta(hours=1), next_check_at=None)
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None
    assert article.deleted and article.next_check_at is None and article.check_count == 1
    kinds = sorted(d.event_type for d in await store.due_deliveries(T0 + timedelta(hours=1), 10))
    assert kinds == ["article.deleted", "article.new"]
    # the page answered with the same article again: present clears the mark
    await store.mark_checked(aid, checked_at=T0, next_check_at=None, present=True)
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and not article.deleted
    # deleted again, then back with a different text: the new version clears the mark
    await store.mark_deleted(aid, event=event("article.deleted", ()), checked_at=T0,
                             next_check_at=None)
    await store.mark_checked(aid, checked_at=T0, next_check_at=None)  # not present: stays
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and article.deleted
    await store.add_version(aid, extractor_version=1, content=content("back"), event=None,
                            fetched_at=T0, next_check_at=None)
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None and not article.deleted and article.current_version == 2
    with pytest.raises(KeyError):
        await store.mark_deleted(999, event=event(), checked_at=T0, next_check_at=None)


async def test_returned_times_are_aware_utc(store: Store) -> None:
    plus5 = timezone(timedelta(hours=5))
    article = await store.create_article(
        extractor_version=1, canonical_url="https://x.example/1", url="https://x.example/1",
        feed_url="f", content=content(), event=event(), seen_at=T0.astimezone(plus5),
        next_check_at=T0.astimezone(plus5),
    )
    assert article.first_seen_at == T0
    assert article.first_seen_at.tzinfo == UTC
    assert article == await store.find_article_by_url("https://x.example/1")
    [delivery] = await store.due_deliveries(T0, 10)
    assert delivery.created_at.tzinfo == UTC and delivery.next_attempt_at == T0


# --- the outbox --------------------------------------------------------------------------------

async def test_delivery_lifecycle(backend: Backend, store: Store) -> None:
    await new_article(store, 1, event=event(endpoints=(HOOK_A, HOOK_B), at=T0))
    await new_article(store, 2, event=event(endpoints=(HOOK_A,), at=T0 + timedelta(seconds=1)))
    due = await store.due_deliveries(T0 + timedelta(seconds=5), 10)
    assert [d.endpoint_url for d in due] == [HOOK_A, HOOK_B, HOOK_A]  # oldest first
    assert await store.due_deliveries(T0 - timedelta(seconds=1), 10) == []
    assert [d.endpoint_url for d in await store.due_deliveries(
        T0 + timedelta(1), 10, endpoints=[HOOK_B])] == [HOOK_B]
    assert await store.due_deliveries(T0 + timedelta(1), 10, endpoints=[]) == []
    assert len(await store.due_deliveries(T0 + timedelta(1), 2)) == 2
    assert await store.next_delivery_due() == T0
    assert await store.next_delivery_due(endpoints=[HOOK_B]) == T0
    assert await store.next_delivery_due(endpoints=[]) is None

    first, second, third = due
    retry_at = T0 + timedelta(minutes=5)
    await store.record_delivery_attempt(first.delivery_id, attempted_at=T0, status_code=500,
                                        error="HTTP 500", duration_ms=12.5, outcome="retry",
                                        next_attempt_at=retry_at)
    await store.record_delivery_attempt(second.delivery_id, attempted_at=T0, status_code=200,
                                        error=None, duration_ms=3, outcome="delivered",
                                        next_attempt_at=None)
    await store.record_delivery_attempt(third.delivery_id, attempted_at=T0, status_code=410,
                                        error="HTTP 410", duration_ms=3, outcome="disabled",
                                        next_attempt_at=None)
    assert await store.due_deliveries(T0 + timedelta(minutes=4), 10) == []
    [again] = await store.due_deliveries(retry_at, 10)
    assert (again.delivery_id, again.attempts, again.last_status) == (first.delivery_id, 1, 500)
    assert again.next_attempt_at == retry_at
    assert again.last_error == "HTTP 500"
    assert await store.next_delivery_due() == retry_at
    assert await store.count_pending_deliveries() == 1
    await store.record_delivery_attempt(first.delivery_id, attempted_at=retry_at,
                                        status_code=None, error="timeout", duration_ms=15000,
                                        outcome="failed", next_attempt_at=None)
    assert await store.next_delivery_due() is None
    by_status = {d.status: d for d in await store.list_deliveries(
        ("delivered", "failed", "disabled"))}
    assert set(by_status) == {"delivered", "failed", "disabled"}
    assert by_status["failed"].attempts == 2
    assert by_status["failed"].last_error == "timeout"
    assert await store.list_deliveries(()) == []
    assert backend.count("delivery_attempts") == 4
    with pytest.raises(ValueError, match="outcome"):
        await store.record_delivery_attempt(first.delivery_id, attempted_at=T0, status_code=None,
                                            error=None, duration_ms=0, outcome="maybe",
                                            next_attempt_at=None)
    with pytest.raises(ValueError, match="next_attempt_at"):
        await store.record_delivery_attempt(first.delivery_id, attempted_at=T0, status_code=None,
                                            error=None, duration_ms=0, outcome="retry",
                                            next_attempt_at=None)
    with pytest.raises(KeyError):
        await store.record_delivery_attempt(999, attempted_at=T0, status_code=None, error=None,
                                            duration_ms=0, outcome="failed",
                                            next_attempt_at=None)
    assert backend.count("delivery_attempts") == 4  # the refused attempt left no row


async def test_requeue_deliveries(store: Store) -> None:
    ev1 = event(endpoints=(HOOK_A, HOOK_B))
    await new_article(store, 1, event=ev1)
    await new_article(store, 2, event=event(endpoints=(HOOK_A,)))
    d = {(x.event_id, x.endpoint_url): x for x in await store.due_deliveries(T0, 10)}
    outcomes = [((ev1.event_id, HOOK_A), "delivered"), ((ev1.event_id, HOOK_B), "failed")]
    for key, outcome in outcomes:
        await store.record_delivery_attempt(d[key].delivery_id, attempted_at=T0,
                                            status_code=200, error=None, duration_ms=1,
                                            outcome=outcome, next_attempt_at=None)
    later = T0 + timedelta(days=4)
    with pytest.raises(ValueError, match="needs"):
        await store.requeue_deliveries(event_id=None, failed=False, endpoint_url=None, now=later)
    assert await store.requeue_deliveries(event_id=None, failed=True, endpoint_url=None,
                                          now=later) == 1
    requeued = [x for x in await store.due_deliveries(later, 10) if x.endpoint_url == HOOK_B]
    assert requeued[0].attempts == 0
    assert requeued[0].next_attempt_at == later
    assert requeued[0].last_status is None
    # Replaying one event resends even what was delivered.
    assert await store.requeue_deliveries(event_id=ev1.event_id, failed=False,
                                          endpoint_url=HOOK_A, now=later) == 1
    assert await store.count_pending_deliveries() == 3
    assert await store.list_deliveries(("delivered", "failed")) == []
    assert await store.requeue_deliveries(event_id="evt_unknown", failed=False,
                                          endpoint_url=None, now=later) == 0


async def test_endpoint_state_updates_and_resume(store: Store) -> None:
    assert await store.list_endpoint_states() == []
    paused = EndpointState(HOOK_A, failing_since=T0, paused_at=T0 + timedelta(hours=1),
                           next_probe_at=T0 + timedelta(hours=2), reason="HTTP 503")
    transition = await store.update_endpoint_state(HOOK_A, lambda _: paused)
    assert transition.before == EndpointState(HOOK_A) and transition.after == paused
    assert await store.list_endpoint_states() == [paused]
    with pytest.raises(ValueError, match="rename"):
        await store.update_endpoint_state(HOOK_A, lambda s: replace(s, url=HOOK_B))
    # a healthy state is no row at all
    await store.update_endpoint_state(HOOK_A, lambda s: EndpointState(s.url))
    assert await store.list_endpoint_states() == []

    await new_article(store, 1, event=event(endpoints=(HOOK_A, HOOK_B)))
    [to_a] = [d for d in await store.due_deliveries(T0, 10) if d.endpoint_url == HOOK_A]
    await store.record_delivery_attempt(to_a.delivery_id, attempted_at=T0, status_code=410,
                                        error="HTTP 410", duration_ms=1, outcome="disabled",
                                        next_attempt_at=None)
    disabled = EndpointState(HOOK_A, disabled_at=T0, reason="HTTP 410")
    await store.update_endpoint_state(HOOK_A, lambda _: disabled)
    now = T0 + timedelta(days=1)
    before, requeued = await store.resume_endpoint(HOOK_A, now=now)
    assert (before, requeued) == (disabled, 1)
    assert await store.list_endpoint_states() == []
    [back] = [d for d in await store.due_deliveries(now, 10) if d.endpoint_url == HOOK_A]
    assert back.status == "pending" and back.next_attempt_at == now


async def test_racing_endpoint_updates_never_lose_one(store: Store) -> None:
    def append(state: EndpointState) -> EndpointState:
        return replace(state, failing_since=T0, reason=(state.reason or "") + "x")

    await asyncio.gather(*(store.update_endpoint_state(HOOK_A, append) for _ in range(8)))
    [state] = await store.list_endpoint_states()
    assert state.reason == "x" * 8


# --- all or nothing ----------------------------------------------------------------------------

TABLES = ("articles", "article_urls", "versions", "events", "deliveries")


def counts(backend: Backend) -> dict[str, int]:
    return {table: backend.count(table) for table in TABLES}


async def test_a_write_that_fails_midway_leaves_nothing_and_the_store_usable(
        backend: Backend, store: Store) -> None:
    first = event(endpoints=(HOOK_A, HOOK_B))
    aid = await new_article(store, 1, event=first)
    before = counts(backend)
    # the same event id again fails on the events table, after the article and version rows
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the database's own error
        await new_article(store, 2, event=event(event_id=first.event_id))
    assert not isinstance(caught.value, ArticleExistsError)
    with pytest.raises(Exception):  # noqa: B017, PT011
        await store.add_version(aid, extractor_version=1, content=content("v2"),
                                event=lambda _: event(event_id=first.event_id),
                                fetched_at=T0, next_check_at=None)
    with pytest.raises(Exception):  # noqa: B017, PT011
        await store.mark_deleted(aid, event=event(event_id=first.event_id), checked_at=T0,
                                 next_check_at=None)
    assert counts(backend) == before
    assert await store.find_article_by_url("https://news.example/a/2") is None
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None
    assert (article.current_version, article.deleted, article.check_count) == (1, False, 0)
    assert await store.add_version(aid, extractor_version=1, content=content("v2"),
                                   event=lambda _: event(), fetched_at=T0,
                                   next_check_at=None) == 2


async def test_many_concurrent_writers_some_failing(backend: Backend, store: Store) -> None:
    dup = event(endpoints=(HOOK_A, HOOK_B))
    await new_article(store, 0, event=dup)
    outcomes = await asyncio.gather(*(new_article(
        store, n, event=event(event_id=dup.event_id) if n % 3 == 0 else event(
            endpoints=(HOOK_A, HOOK_B))) for n in range(1, 31)), return_exceptions=True)
    assert sum(isinstance(r, int) for r in outcomes) == 20
    assert counts(backend) == {"articles": 21, "article_urls": 42, "versions": 21,
                               "events": 21, "deliveries": 42}


async def test_cancelled_callers_never_leave_half_a_transaction(
        backend: Backend, store: Store) -> None:
    aid = await new_article(store, event=event(endpoints=(HOOK_A, HOOK_B)))
    tasks = [asyncio.create_task(store.add_version(
        aid, extractor_version=1, content=content(f"v{i}"),
        event=lambda _: event(endpoints=(HOOK_A, HOOK_B)), fetched_at=T0, next_check_at=None))
        for i in range(20)]
    await asyncio.sleep(0.002)
    for task in tasks[::2]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await store.close()  # waits for the shielded transactions still running
    # Every transaction ran to its end: each version has its event and both deliveries.
    assert backend.count("versions") == backend.count("events") == 21
    assert backend.count("deliveries") == 42
    reopened = backend.store(readonly=True)
    await reopened.open()
    try:
        article = await reopened.find_article_by_url("https://news.example/a/1")
        assert article is not None and article.current_version == 21
    finally:
        await reopened.close()


# --- due times moved from outside their work ---------------------------------------------------

DAY = timedelta(days=1)
CAPS = DueCaps(feed_poll=86400, article_check=3600, delivery_attempt=86400, endpoint_probe=3600)


async def test_clamp_due_times_repairs_a_step_of_the_wall_clock(store: Store) -> None:
    """The clock was two days ahead while these rows were written, and is back at T0: each
    keeps the gap it was given, from now; a due time beyond its kind's cap is capped; rows
    written in the past and due within reach are untouched."""
    ahead = T0 + 2 * DAY
    stepped_feed, normal_feed = "https://news.example/rss", "https://other.example/rss"
    await store.sync_feeds({stepped_feed: T0, normal_feed: T0})
    await store.record_feed_poll(stepped_feed, polled_at=ahead, status="ok", error=None,
                                 etag=None, last_modified=None,
                                 next_poll_at=ahead + timedelta(minutes=10))
    await store.record_feed_poll(normal_feed, polled_at=T0, status="ok", error=None, etag=None,
                                 last_modified=None, next_poll_at=T0 + timedelta(minutes=10))
    stepped = await new_article(store, 1)
    await store.mark_checked(stepped, checked_at=ahead, next_check_at=ahead + 3 * DAY)
    normal = await new_article(store, 2, event=event(endpoints=()))  # due T0 + 10 min
    far = await new_article(store, 3, event=event(endpoints=()))
    await store.mark_checked(far, checked_at=T0, next_check_at=T0 + 30 * DAY)
    [retry] = await store.claim_due_deliveries("o", T0, limit=1, lease_seconds=60)
    await store.record_delivery_attempt(
        retry.delivery_id, attempted_at=ahead, status_code=500, error="HTTP 500",
        duration_ms=1, outcome="retry", next_attempt_at=ahead + timedelta(minutes=5),
        lease_owner="o")
    await store.update_endpoint_state(HOOK_B, lambda s: replace(
        s, failing_since=ahead, paused_at=ahead, next_probe_at=ahead + timedelta(hours=1)))

    assert await store.clamp_due_times(T0, CAPS) == 6  # 1 feed, 2 articles, 1 delivery, 2 endpoint times
    feeds = {f.feed_url: f for f in await store.list_feed_states()}
    assert feeds[stepped_feed].next_poll_at == T0 + timedelta(minutes=10)
    assert feeds[normal_feed].next_poll_at == T0 + timedelta(minutes=10)
    articles = {a.article_id: a for a in await store.due_articles(T0 + 31 * DAY, 10)}
    assert articles[stepped].next_check_at == T0 + timedelta(hours=1)  # 3 days, capped
    assert articles[normal].next_check_at == T0 + timedelta(minutes=10)
    assert articles[far].next_check_at == T0 + timedelta(hours=1)
    assert [d.next_attempt_at for d in await store.due_deliveries(T0 + 31 * DAY, 10)] == [
        T0 + timedelta(minutes=5)]
    [endpoint] = await store.list_endpoint_states()
    assert (endpoint.failing_since, endpoint.next_probe_at) == (T0, T0 + timedelta(hours=1))
    assert await store.clamp_due_times(T0, CAPS) == 0  # nothing left to repair


async def test_postpone_check_moves_the_due_time_and_keeps_the_lease(store: Store) -> None:
    article = await new_article(store, 1)
    [claimed] = await store.claim_due_articles("o", T0 + DAY, limit=1,
                                               lease_seconds=3 * 86400)
    later = T0 + 2 * DAY
    with pytest.raises(LeaseLostError):
        await store.postpone_check(article, next_check_at=later, lease_owner="someone else")
    await store.postpone_check(article, next_check_at=later, lease_owner="o")
    # Still held: nobody else can claim it, and its owner completes it as usual.
    assert await store.claim_due_articles("p", later, limit=1, lease_seconds=60) == []
    assert await store.due_articles(T0 + DAY, 10) == []
    assert [a.article_id for a in await store.due_articles(later, 10)] == [claimed.article_id]
    await store.mark_checked(article, checked_at=T0 + DAY, next_check_at=T0 + 3 * DAY,
                             lease_owner="o")
    with pytest.raises(KeyError):
        await store.postpone_check(999, next_check_at=later)


async def test_deliveries_keep_each_articles_order_and_a_recovery_hastens_them(
        store: Store) -> None:
    """An edit is never claimed while its article's earlier delivery to the same endpoint is
    pending; `hasten_deliveries` makes one endpoint's waiting deliveries due now."""
    first = await store.create_article(
        extractor_version=1, canonical_url="https://news.example/a/1",
        url="https://news.example/a/1", feed_url="https://news.example/rss",
        content=content("one"), event=event(endpoints=(HOOK_A, HOOK_B)), seen_at=T0,
        next_check_at=None)
    [new_a] = await store.claim_due_deliveries("o", T0, limit=1, lease_seconds=60,
                                               endpoints=[HOOK_A])
    retry_at = T0 + timedelta(minutes=5)
    await store.record_delivery_attempt(
        new_a.delivery_id, attempted_at=T0, status_code=503, error="HTTP 503", duration_ms=1,
        outcome="retry", next_attempt_at=retry_at, lease_owner="o")
    at = T0 + timedelta(seconds=10)
    await store.add_version(first.article_id, content=content("one, edited"),
                            event=lambda n: event("article.edited", (HOOK_A, HOOK_B), at=at),
                            fetched_at=at, next_check_at=None, extractor_version=1)
    other = event(endpoints=(HOOK_A,), at=at)
    await new_article(store, 2, event=other)
    # At HOOK_A the edit waits behind its article.new; the other article's does not.
    claimable = await store.due_deliveries(at, 10, endpoints=[HOOK_A])
    assert len(claimable) == 2  # a read: order is the claim's business
    claimed = await store.claim_due_deliveries("o", at, limit=10, lease_seconds=60,
                                               endpoints=[HOOK_A])
    assert [d.event_id for d in claimed] == [other.event_id]
    await store.record_delivery_attempt(
        claimed[0].delivery_id, attempted_at=at, status_code=200, error=None, duration_ms=1,
        outcome="delivered", next_attempt_at=None, lease_owner="o")
    # What is due next at HOOK_A is the article.new's retry (the edit behind it is not "due").
    assert await store.next_delivery_due(endpoints=[HOOK_A]) == retry_at
    # At HOOK_B the article.new goes first, then (once it is done) the edit.
    [b_new] = await store.claim_due_deliveries("o", at, limit=10, lease_seconds=60,
                                               endpoints=[HOOK_B])
    assert b_new.event_type == "article.new"
    await store.record_delivery_attempt(
        b_new.delivery_id, attempted_at=at, status_code=200, error=None, duration_ms=1,
        outcome="delivered", next_attempt_at=None, lease_owner="o")
    [b_edit] = await store.claim_due_deliveries("o", at, limit=10, lease_seconds=60,
                                                endpoints=[HOOK_B])
    assert b_edit.event_type == "article.edited"
    # HOOK_A answers again: its waiting article.new is due now, and goes before the edit.
    assert await store.hasten_deliveries(HOOK_A, now=at) == 1
    assert await store.hasten_deliveries(HOOK_A, now=at) == 0
    [again] = await store.claim_due_deliveries("o", at, limit=10, lease_seconds=60,
                                               endpoints=[HOOK_A])
    assert again.delivery_id == new_a.delivery_id
