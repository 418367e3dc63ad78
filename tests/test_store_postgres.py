"""PostgresStore: what only the PostgreSQL store has: read-only sessions, lost connections
and the pool's reconnection, cancelled callers, texts as stored, and schema upgrades that keep
rows. The protocol's behaviour is in test_store_contract.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import timedelta

import psycopg
import pytest

from crawler.store.base import DatabaseConnectionError, StaleArticleError, Store
from crawler.store.migrations import MIGRATIONS
from crawler.store.postgres import PostgresStore
from crawler.testing.postgres import PgCluster
from tests.store_backends import T0, PostgresBackend, content, event, new_article


def database_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def opened(url: str, **kw: object) -> PostgresStore:
    store = PostgresStore(url, **kw)  # type: ignore[arg-type]
    await store.open()
    return store


def test_postgres_store_satisfies_protocol() -> None:
    s: Store = PostgresStore("postgresql://u@h/db")  # mypy checks the structural match
    assert s.describe() == "PostgreSQL database postgresql://u@h/db"


async def test_readonly_sessions_cannot_write_even_past_the_store(pg_url: str) -> None:
    store = await opened(pg_url, readonly=True)
    try:
        pool = store._require()
        async with pool.connection() as conn:
            cur = await conn.execute("SHOW default_transaction_read_only")
            assert (await cur.fetchone()) == {"default_transaction_read_only": "on"}
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                await conn.execute("INSERT INTO feeds (url) VALUES ('x')")
    finally:
        await store.close()


async def test_texts_and_payloads_are_stored_compressed(
        pg_cluster: PgCluster, pg_url: str) -> None:
    store = await opened(pg_url)
    try:
        long_text = "A long paragraph of the article, told at length. " * 80
        await store.create_article(
            canonical_url="https://e.org/a", url="https://e.org/a", feed_url="f",
            content=content(long_text), event=event(payload=json.dumps({"text": long_text})),
            seen_at=T0, next_check_at=None, extractor_version=1)
        [delivery] = await store.due_deliveries(T0, 10)
        assert json.loads(delivery.payload) == {"text": long_text}
        assert (await store.get_versions(1))[0].text == long_text
    finally:
        await store.close()
    database = database_of(pg_url)
    [(marker, size)] = pg_cluster.execute(
        database, "SELECT get_byte(text, 0), octet_length(text) FROM versions")
    assert marker == ord("z") and isinstance(size, int) and size < len(long_text) / 4
    [(marker,)] = pg_cluster.execute(database, "SELECT get_byte(payload, 0) FROM events")
    assert marker == ord("z")


async def test_sessions_killed_by_the_server_are_replaced_unseen(
        pg_cluster: PgCluster, pg_url: str) -> None:
    """As when the server restarts: every pooled connection is dead, some were used a moment
    ago (lent without a check); reads and writes go on, each exactly once."""
    store = await opened(pg_url)
    kill = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{database_of(pg_url)}'")
    try:
        aid = await new_article(store)
        await asyncio.gather(*(store.count_articles() for _ in range(8)))  # the pool grows
        pg_cluster.execute("postgres", kill)
        await store.mark_checked(aid, checked_at=T0, next_check_at=None)
        pg_cluster.execute("postgres", kill)
        assert await store.count_articles() == 1
        pg_cluster.execute("postgres", kill)
        numbers = await asyncio.gather(*(store.add_version(
            aid, content=content(f"edit {n}"), event=None, fetched_at=T0, next_check_at=None,
            extractor_version=1) for n in range(4)))
        assert sorted(numbers) == [2, 3, 4, 5]
        article = await store.find_article_by_url("https://news.example/a/1")
        assert article is not None and article.check_count == 5
        assert await store.ping()
    finally:
        await store.close()


async def test_a_database_that_stops_answering_is_a_store_error_until_it_is_back(
        pg_cluster: PgCluster, pg_url: str) -> None:
    database = database_of(pg_url)
    store = await opened(pg_url, timeout=1.0)
    try:
        aid = await new_article(store)
        pg_cluster.execute("postgres", f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        pg_cluster.execute("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           f" WHERE datname = '{database}'")
        with pytest.raises(DatabaseConnectionError) as caught:
            await store.count_articles()
        message = str(caught.value)
        assert message.startswith(f"lost PostgreSQL database postgresql://postgres@127.0.0.1:"
                                  f"{pg_cluster.port}/{database}: no connection within 1 s")
        assert "is not currently accepting connections" in message  # the server's reason
        with pytest.raises(DatabaseConnectionError):
            await store.mark_checked(aid, checked_at=T0, next_check_at=None)
        assert not await store.ping()
        pg_cluster.execute("postgres", f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        deadline = time.monotonic() + 20
        while not await store.ping():
            assert time.monotonic() < deadline, "the pool did not reconnect"
            await asyncio.sleep(0.2)
        await store.mark_checked(aid, checked_at=T0, next_check_at=None)
        article = await store.find_article_by_url("https://news.example/a/1")
        assert article is not None and article.check_count == 1
    finally:
        pg_cluster.execute("postgres", f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        await store.close()


async def test_host_turns_do_not_wait_behind_the_stores_other_statements(
        pg_url: str) -> None:
    # Every connection of the main pool busy (a feed's entries all looked up at once): a turn,
    # which comes before every request, must still be answered on connections of its own.
    store = await opened(pg_url, pool_size=4)
    try:
        busy = [asyncio.ensure_future(store._read("SELECT pg_sleep(3)")) for _ in range(4)]
        await asyncio.sleep(0.3)  # the sleeps hold every main connection now
        turn = await store.take_host_turn("e.org", "owner-1", concurrency=2, spacing=0.0,
                                          hold=30.0)
        assert turn.token is not None
        await store.end_host_turn(turn.token)
        assert not any(task.done() for task in busy)  # answered while the pool was full
        await asyncio.gather(*busy)
    finally:
        await store.close()


async def test_opening_an_unreachable_server_names_it_and_the_reason() -> None:
    store = PostgresStore("postgresql://crawler:secret@127.0.0.1:9/crawler")
    with pytest.raises(DatabaseConnectionError) as caught:
        await store.open()
    message = str(caught.value)
    assert message.startswith(
        "cannot connect to PostgreSQL database postgresql://crawler@127.0.0.1:9/crawler: ")
    assert "secret" not in message
    with pytest.raises(DatabaseConnectionError):
        await store.migrate()


async def test_a_cancelled_caller_leaves_its_write_whole(pg_url: str) -> None:
    store = await opened(pg_url)
    aid = await new_article(store)
    task = asyncio.create_task(store.add_version(
        aid, content=content("edited"), event=lambda n: event("article.edited"),
        fetched_at=T0, next_check_at=None, extractor_version=1))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await store.close()  # waits for the shielded transaction
    store = await opened(pg_url)
    try:
        assert [v.number for v in await store.get_versions(aid)] == [1, 2]
        kinds = sorted(d.event_type for d in await store.due_deliveries(T0, 10))
        assert kinds == ["article.edited", "article.new"]
    finally:
        await store.close()


async def _waiting_on_a_lock(url: str) -> None:
    """Until a session of the database waits for a row lock (what the server says, asked
    again until then: no sleep stands for it)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
        for _ in range(2000):
            cur = await watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'")
            row = await cur.fetchone()
            if row is not None and row[0]:
                return
            await asyncio.sleep(0.005)
    raise AssertionError("the write never waited for the row lock")


async def test_a_check_waiting_behind_a_move_is_refused_once_the_move_commits(
        pg_url: str) -> None:
    # Another daemon's poll moves the article in a transaction not yet committed; the check
    # decided on the article as it was waits for the row, then tests what it expects on the
    # row as committed: refused, though it read nothing stale before its UPDATE.
    store = await opened(pg_url)
    try:
        aid = await new_article(store)
        article = await store.find_article_by_url("https://news.example/a/1")
        assert article is not None
        async with await psycopg.AsyncConnection.connect(pg_url) as mover:
            await mover.execute("UPDATE articles SET entry_feed_url = 'https://o.example/f'"
                                " WHERE id = %s", (aid,))
            check = asyncio.create_task(store.add_version(
                aid, content=content("edited"), event=lambda _: event("article.edited"),
                fetched_at=T0, next_check_at=None, extractor_version=1,
                as_seen=article.as_seen))
            await _waiting_on_a_lock(pg_url)
            assert not check.done()
            await mover.commit()
        with pytest.raises(StaleArticleError):
            await check
        assert [v.number for v in await store.get_versions(aid)] == [1]
        assert len(await store.due_deliveries(T0, 10)) == 1  # the article.new's only
    finally:
        await store.close()


async def test_upgrade_from_schema_3_keeps_rows_and_plain_payloads(
        pg_cluster: PgCluster) -> None:
    backend = PostgresBackend(pg_cluster)
    try:
        backend.at_schema(3)
        payload = json.dumps({"type": "article.new", "data": {"version": 1}})
        pg_cluster.execute(backend.database, f"""
            INSERT INTO articles (id, canonical_url, url, feed_url, first_seen_at,
                last_checked_at, next_check_at, current_version, current_hash, title)
                VALUES (1, 'https://e.org/a', 'https://e.org/a', 'https://e.org/rss',
                        '2026-11-26T12:00Z', '2026-11-26T12:00Z', '2026-11-26T12:00Z', 1,
                        'sha256:1', 'Title');
            INSERT INTO article_urls VALUES ('https://e.org/a', 1);
            INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at)
                VALUES (1, 1, 'sha256:1', 'Title', 'uplain text', '2026-11-26T12:00Z');
            INSERT INTO events VALUES ('evt_old', 'article.new', 1, 1, '2026-11-26T12:00Z',
                                       '{payload}');
            INSERT INTO deliveries (event_id, endpoint_url, created_at, next_attempt_at)
                VALUES ('evt_old', 'http://h/x', '2026-11-26T12:00Z', '2026-11-26T12:00Z');
        """)
        store = PostgresStore(backend.url)
        assert await store.migrate() == (3, len(MIGRATIONS))
        await store.open()
        try:
            [delivery] = await store.due_deliveries(T0 + timedelta(days=1), 10)
            assert delivery.payload == payload
            [version] = await store.get_versions(1)
            assert (version.text, version.extractor_version) == ("plain text", 1)
            article = await store.find_article_by_url("https://e.org/a")
            assert article is not None
            assert (article.source, article.collapse_count, article.extractor_version) == (
                "page", 0, 1)
            assert await store.add_version(1, content=content("two"), event=None,
                                           fetched_at=T0, next_check_at=None,
                                           extractor_version=2) == 2
        finally:
            await store.close()
    finally:
        backend.cleanup()


async def test_migration_7_gives_stored_rows_what_sqlite_gives_them(
        pg_cluster: PgCluster) -> None:
    """Schema 6 -> 7 on PostgreSQL: hosts derived from stored URLs exactly as SQLite's
    migration 7 derives them, feeds configured, no leases, the claims' indexes there."""
    urls = ["https://News.Example:8080/a/1", "http://bare.example", "https://q.example?x=a/b",
            "no-scheme/path", "https://UPPER.EXAMPLE/a?b=c"]
    with sqlite3.connect(":memory:") as lite:
        lite.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, url TEXT,"
                     " host TEXT NOT NULL DEFAULT '')")
        lite.executemany("INSERT INTO articles (id, url) VALUES (?, ?)", enumerate(urls, 1))
        lite.execute(next(s for s in MIGRATIONS[6].split(";") if "UPDATE articles" in s))
        expected = [row[0] for row in lite.execute("SELECT host FROM articles ORDER BY id")]
    assert expected[0] == "news.example:8080"
    backend = PostgresBackend(pg_cluster)
    try:
        backend.at_schema(6)
        values = ", ".join(
            f"({n}, 'https://e.org/{n}', '{url}', 'f', '2026-11-26T12:00Z',"
            " '2026-11-26T12:00Z', '2026-11-26T12:00Z', 1, 'sha256:1', 'T')"
            for n, url in enumerate(urls, 1))
        pg_cluster.execute(backend.database, f"""
            INSERT INTO feeds (url, next_poll_at) VALUES ('https://e.org/rss', '2026-11-26T12:00Z');
            INSERT INTO articles (id, canonical_url, url, feed_url, first_seen_at,
                last_checked_at, next_check_at, current_version, current_hash, title)
                VALUES {values};
        """)
        store = PostgresStore(backend.url)
        assert await store.migrate() == (6, len(MIGRATIONS))
        assert [row[0] for row in pg_cluster.execute(
            backend.database, "SELECT host FROM articles ORDER BY id")] == expected
        assert pg_cluster.execute(
            backend.database, "SELECT configured, lease_owner, lease_expires_at FROM feeds"
        ) == [(True, None, None)]
        assert pg_cluster.execute(
            backend.database, "SELECT count(*) FROM articles WHERE lease_owner IS NOT NULL"
            " OR lease_expires_at IS NOT NULL") == [(0,)]
        indexes = {row[0] for row in pg_cluster.execute(
            backend.database, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert {"feeds_due", "articles_leased", "articles_due", "deliveries_due"} <= indexes
        await store.open()
        try:
            state = await store.get_feed_state("https://e.org/rss")
            assert state is not None and state.last_polled_at is None
            # The feed was configured before the migration: it is due work now.
            [claimed] = await store.claim_due_feeds("o:1:x", T0, limit=5, lease_seconds=60)
            assert claimed.feed_url == "https://e.org/rss"
            got = await store.claim_due_articles("o:1:x", T0, limit=10, lease_seconds=60,
                                                 per_host=1)
            assert len(got) == len(set(expected))  # one per distinct host
        finally:
            await store.close()
    finally:
        backend.cleanup()
