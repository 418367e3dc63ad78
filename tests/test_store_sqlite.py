"""SQLiteStore: every method of the Store protocol, against a real file in tmp_path."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.models import Content, EventRecord
from crawler.store.base import ArticleExistsError, Store
from crawler.store.migrations import MIGRATIONS, SchemaTooNewError, split_statements
from crawler.store.sqlite import SQLiteStore, StoreClosedError
from crawler.store.sqlite_rows import decode_text, encode_text

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOOK_A = "http://127.0.0.1:9/a"
HOOK_B = "http://127.0.0.1:9/b"


def content(text: str = "Body text.", title: str = "Title") -> Content:
    return Content(title=title, text=text, content_hash=f"sha256:{hash((title, text)):x}")


def event(
    event_type: str = "article.new",
    endpoints: tuple[str, ...] = (HOOK_A,),
    event_id: str | None = None,
    at: datetime = T0,
) -> EventRecord:
    return EventRecord(
        event_id=event_id or f"evt_{uuid.uuid4().hex}",
        event_type=event_type,
        created_at=at,
        payload=f'{{"type": "{event_type}"}}',
        endpoints=endpoints,
    )


async def new_article(store: SQLiteStore, n: int = 1, **kw: object) -> int:
    article = await store.create_article(
        extractor_version=1, canonical_url=f"https://news.example/a/{n}",
        url=f"https://news.example/a/{n}?utm=feed",
        feed_url="https://news.example/rss",
        content=content(f"text {n}"),
        event=kw.pop("event", None) or event(),  # type: ignore[arg-type]
        seen_at=T0,
        next_check_at=T0 + timedelta(minutes=10),
    )
    return article.article_id


def test_sqlite_store_satisfies_protocol(tmp_path: Path) -> None:
    s: Store = SQLiteStore(tmp_path / "x.db")  # mypy checks the structural match
    assert s is not None


async def test_open_is_idempotent_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "crawler.db"
    s = SQLiteStore(path)
    await s.migrate()
    await s.open()
    await s.open()
    assert await s.ping()
    await s.close()
    await s.close()
    assert not await s.ping()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    # Reopening an up-to-date database applies nothing and keeps the data.
    s2 = SQLiteStore(path)
    await s2.open()
    assert await s2.count_articles() == 0
    await s2.close()


async def test_methods_before_open_raise(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "x.db")
    with pytest.raises(StoreClosedError):
        await s.count_articles()
    with pytest.raises(StoreClosedError):
        await s.mark_checked(1, checked_at=T0, next_check_at=None)


async def test_schema_newer_than_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNewError):
        await SQLiteStore(path).open()


def test_split_statements_respects_strings() -> None:
    script = "CREATE TABLE t (x TEXT DEFAULT ';');\nINSERT INTO t VALUES ('a;\nb');\n"
    assert len(split_statements(script)) == 2
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE t (x")


@pytest.mark.parametrize("text", ["", "short", "long paragraph 汉字 " * 200])
def test_text_encoding_round_trips(text: str) -> None:
    assert decode_text(encode_text(text)) == text
    if len(text) > 1000:
        assert len(encode_text(text)) < len(text.encode()) / 4


async def test_feed_state_round_trip_and_error_counting(store: SQLiteStore) -> None:
    url = "https://news.example/rss"
    assert await store.get_feed_state(url) is None
    await store.record_feed_poll(url, polled_at=T0, status="ok", error=None, etag='"v1"',
                                 last_modified="Wed, 25 Nov 2026 10:00:00 GMT",
                                 next_poll_at=T0 + timedelta(minutes=10))
    for i in range(2):
        await store.record_feed_poll(url, polled_at=T0 + timedelta(minutes=i + 1),
                                     status="error", error="timeout", etag=None,
                                     last_modified=None, next_poll_at=None)
    state = await store.get_feed_state(url)
    assert state is not None
    assert state.consecutive_errors == 2
    assert state.etag == '"v1"'  # kept through errors, for the next conditional GET
    assert state.last_modified == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert state.last_status == "error"
    assert state.last_error == "timeout"
    assert state.last_polled_at == T0 + timedelta(minutes=2)
    assert state.next_poll_at is None
    await store.record_feed_poll(url, polled_at=T0, status="not_modified", error=None,
                                 etag='"v2"', last_modified=None, next_poll_at=T0)
    state = await store.get_feed_state(url)
    assert state is not None
    assert (state.consecutive_errors, state.etag, state.last_modified) == (0, '"v2"', None)
    assert state.next_poll_at == T0
    assert state.next_poll_at.tzinfo is not None
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


async def test_create_article_writes_aliases_version_event_deliveries(store: SQLiteStore) -> None:
    ev = event(endpoints=(HOOK_A, HOOK_B, HOOK_A))
    article = await store.create_article(
        extractor_version=1, canonical_url="https://news.example/a/1", url="https://news.example/a/1?utm=x",
        feed_url="https://news.example/rss", content=content("Hello", "Head"), event=ev,
        seen_at=T0, next_check_at=T0 + timedelta(minutes=10),
    )
    assert article.current_version == 1
    assert not article.deleted
    assert article.check_count == 0
    assert article.title == "Head"
    for url in ("https://news.example/a/1", "https://news.example/a/1?utm=x"):
        assert await store.find_article_by_url(url) == article
    assert await store.find_article_by_url("https://news.example/other") is None
    versions = await store.get_versions(article.article_id)
    assert [(v.number, v.title, v.text) for v in versions] == [(1, "Head", "Hello")]
    assert versions[0].fetched_at == T0
    pending = await store.due_deliveries(T0, 10)
    assert sorted(d.endpoint_url for d in pending) == [HOOK_A, HOOK_B]  # duplicates collapsed
    assert all(d.event_id == ev.event_id and d.payload == ev.payload for d in pending)
    assert all(d.event_type == "article.new" and d.attempts == 0 for d in pending)
    assert await store.count_pending_deliveries() == 2
    assert await store.count_articles() == 1
    with pytest.raises(ArticleExistsError):
        await store.create_article(
            extractor_version=1, canonical_url="https://news.example/a/1", url="https://news.example/x",
            feed_url="f", content=content(), event=event(), seen_at=T0, next_check_at=T0,
        )
    assert await store.count_articles() == 1
    assert await store.find_article_by_url("https://news.example/x") is None


async def test_add_url_alias(store: SQLiteStore) -> None:
    a1 = await new_article(store, 1)
    a2 = await new_article(store, 2)
    await store.add_url_alias(a1, "https://m.news.example/a/1")
    await store.add_url_alias(a1, "https://m.news.example/a/1")  # no-op
    await store.add_url_alias(a2, "https://m.news.example/a/1")  # already leads to a1
    found = await store.find_article_by_url("https://m.news.example/a/1")
    assert found is not None
    assert found.article_id == a1


async def test_add_version_and_silent_version(store: SQLiteStore) -> None:
    aid = await new_article(store)
    n = await store.add_version(aid, extractor_version=1, content=content("v2 text", "New title"),
                                event=lambda _: event("article.edited", (HOOK_A,)),
                                fetched_at=T0 + timedelta(hours=1), next_check_at=None)
    assert n == 2
    n3 = await store.add_version(aid, extractor_version=1, content=content("text 1"), event=None,
                                 fetched_at=T0 + timedelta(hours=2),
                                 next_check_at=T0 + timedelta(hours=3))
    assert n3 == 3
    versions = await store.get_versions(aid)
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[1].text == "v2 text"
    assert versions[1].title == "New title"
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None
    assert article.current_version == 3
    assert article.current_hash == content("text 1").content_hash
    assert article.check_count == 2
    assert article.next_check_at == T0 + timedelta(hours=3)
    assert await store.count_pending_deliveries() == 2  # new + edited; the silent one adds none
    with pytest.raises(KeyError):
        await store.add_version(999, extractor_version=1, content=content(), event=None, fetched_at=T0,
                                next_check_at=None)


async def test_mark_checked_and_due_articles(store: SQLiteStore) -> None:
    ids = [await new_article(store, i) for i in range(3)]
    # Article 2 is due first, article 0 later, article 1 never again.
    await store.mark_checked(ids[2], checked_at=T0, next_check_at=T0 + timedelta(minutes=1))
    await store.mark_checked(ids[1], checked_at=T0, next_check_at=None)
    due = await store.due_articles(T0 + timedelta(minutes=10), 10)
    assert [a.article_id for a in due] == [ids[2], ids[0]]
    assert due[0].check_count == 1
    assert [a.article_id for a in await store.due_articles(T0 + timedelta(minutes=5), 10)] == [
        ids[2]
    ]
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


async def test_extractor_version_of_versions_and_articles(store: SQLiteStore) -> None:
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


async def test_due_articles_uses_partial_index(store: SQLiteStore) -> None:
    with sqlite3.connect(store.path) as raw:
        plan = raw.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM articles a WHERE a.next_check_at IS NOT NULL"
            " AND a.next_check_at <= ? ORDER BY a.next_check_at, a.id LIMIT 5", ("x",)
        ).fetchall()
    assert "articles_due" in " ".join(str(row) for row in plan)


async def test_mark_deleted_then_reappearing(store: SQLiteStore) -> None:
    aid = await new_article(store)
    await store.mark_deleted(aid, event=event("article.deleted", (HOOK_B,)),
                             checked_at=T0 + timedelta(hours=1), next_check_at=None)
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None
    assert article.deleted
    assert article.next_check_at is None
    kinds = sorted(d.event_type for d in await store.due_deliveries(T0, 10))
    assert kinds == ["article.deleted", "article.new"]
    await store.add_version(aid, extractor_version=1, content=content("back"), event=None, fetched_at=T0,
                            next_check_at=None)
    article = await store.find_article_by_url("https://news.example/a/1")
    assert article is not None
    assert not article.deleted
    with pytest.raises(KeyError):
        await store.mark_deleted(999, event=event(), checked_at=T0, next_check_at=None)


async def test_delivery_lifecycle(store: SQLiteStore) -> None:
    await new_article(store, 1, event=event(endpoints=(HOOK_A, HOOK_B), at=T0))
    await new_article(store, 2, event=event(endpoints=(HOOK_A,), at=T0 + timedelta(seconds=1)))
    due = await store.due_deliveries(T0 + timedelta(seconds=5), 10)
    assert [d.endpoint_url for d in due] == [HOOK_A, HOOK_B, HOOK_A]  # oldest first
    assert await store.due_deliveries(T0 - timedelta(seconds=1), 10) == []
    assert [d.endpoint_url for d in await store.due_deliveries(T0 + timedelta(1), 10,
                                                               endpoints=[HOOK_B])] == [HOOK_B]
    assert await store.due_deliveries(T0 + timedelta(1), 10, endpoints=[]) == []
    assert await store.next_delivery_due() == T0
    assert await store.next_delivery_due(endpoints=[HOOK_B]) == T0

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
    with sqlite3.connect(store.path) as raw:
        attempts = raw.execute(
            "SELECT count(*) FROM delivery_attempts WHERE delivery_id = ?", (first.delivery_id,)
        ).fetchone()[0]
    assert attempts == 2
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


async def test_requeue_deliveries(store: SQLiteStore) -> None:
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
    # Replaying one event resends even what was delivered.
    assert await store.requeue_deliveries(event_id=ev1.event_id, failed=False,
                                          endpoint_url=HOOK_A, now=later) == 1
    assert await store.count_pending_deliveries() == 3
    assert await store.list_deliveries(("delivered", "failed")) == []


async def test_returned_times_are_aware_utc(store: SQLiteStore) -> None:
    plus5 = timezone(timedelta(hours=5))
    article = await store.create_article(
        extractor_version=1, canonical_url="https://x.example/1", url="https://x.example/1", feed_url="f",
        content=content(), event=event(), seen_at=T0.astimezone(plus5),
        next_check_at=T0.astimezone(plus5),
    )
    assert article.first_seen_at == T0
    assert article.first_seen_at.tzinfo == UTC
    assert article == await store.find_article_by_url("https://x.example/1")
