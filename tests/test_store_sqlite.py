"""SQLiteStore: what only the SQLite store has (WAL and pragmas, statement splitting for its
migrations, the text encoding it shares with PostgreSQL, its query plans). The protocol's
behaviour, asserted on both stores, is in test_store_contract.py."""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.store.base import Store
from crawler.store.migrations import MIGRATIONS, split_statements
from crawler.store.records import IN_ARTICLE_ORDER, decode_text, encode_text
from crawler.store.sqlite import SQLiteStore
from crawler.store.sqlite_rows import decode_time, encode_time
from tests.store_backends import new_article


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
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    # Reopening an up-to-date database applies nothing and keeps the data.
    s2 = SQLiteStore(path)
    await s2.open()
    assert await s2.count_articles() == 0
    await s2.close()


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
    # Texts stored at another zlib level (6, before the fastest was chosen) read back alike.
    for level in (1, 6, 9):
        assert decode_text(b"z" + zlib.compress(text.encode(), level)) == text


async def test_due_articles_uses_partial_index(store: SQLiteStore) -> None:
    await new_article(store)
    with sqlite3.connect(store.path) as raw:
        plan = raw.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM articles a WHERE a.next_check_at IS NOT NULL"
            " AND a.next_check_at <= ? ORDER BY a.next_check_at, a.id LIMIT 5", ("x",)
        ).fetchall()
    assert "articles_due" in " ".join(str(row) for row in plan)


async def test_deliveries_wait_for_their_article_by_index_lookups_only(
        store: SQLiteStore) -> None:
    # Left to itself SQLite scanned each endpoint's earlier pending deliveries for every
    # pending one: `next_delivery_due` took 7.4 s with 6,400 pending (a receiver outage).
    with sqlite3.connect(store.path) as raw:
        plan = [row[3] for row in raw.execute(
            "EXPLAIN QUERY PLAN SELECT min(next_attempt_at) FROM deliveries"
            f" WHERE status = 'pending' AND {IN_ARTICLE_ORDER}")]
    inner = plan[plan.index("CORRELATED SCALAR SUBQUERY 1") + 1:]
    assert [step.split()[1] for step in inner] == ["me", "pe", "p"]
    assert all(step.startswith("SEARCH") for step in inner), plan


@pytest.mark.parametrize(("stored", "expected"), [
    ("2026-12-01T16:46:14.123456Z", datetime(2026, 12, 1, 16, 46, 14, 123456, tzinfo=UTC)),
    ("1970-01-01T00:00:00.000000Z", datetime(1970, 1, 1, tzinfo=UTC)),
])
def test_stored_times_decode_to_aware_utc(stored: str, expected: datetime) -> None:
    decoded = decode_time(stored)
    assert decoded == expected and decoded.tzinfo is UTC
    assert encode_time(decoded) == stored


@pytest.mark.parametrize("stored", ["2026-12-01T16:46:14.123456", "2026-12-01T17:46:14+01:00",
                                    "yesterday"])
def test_a_time_not_written_by_the_store_is_refused(stored: str) -> None:
    with pytest.raises(ValueError, match=r"isoformat|not a stored UTC time"):
        decode_time(stored)


def test_a_shared_statement_reads_alike_in_both_dialects() -> None:
    from crawler.store.postgres_queries import POSTGRES
    from crawler.store.sqlite_queries import SQLITE

    text = "SELECT 1 FROM articles WHERE id = ? AND url = ?"
    assert SQLITE.sql(text) == text
    assert POSTGRES.sql(text) == "SELECT 1 FROM articles WHERE id = %s AND url = %s"
    assert SQLITE.one_of("u.url", ["a", "b"]) == ("u.url IN (?, ?)", ["a", "b"])
    assert POSTGRES.one_of("u.url", ["a", "b"]) == ("u.url = ANY(?)", [["a", "b"]])
    with pytest.raises(ValueError, match="literal %"):
        POSTGRES.sql("SELECT 1 WHERE title LIKE '%x'")


def test_an_array_of_keys_takes_the_key_columns_type_and_a_list_of_marks_ignores_it() -> None:
    from crawler.store.postgres_queries import POSTGRES
    from crawler.store.sqlite_queries import SQLITE

    assert POSTGRES.one_of("id", [1, 2], "bigint") == ("id = ANY(?::bigint[])", [[1, 2]])
    assert POSTGRES.sql("id = ANY(?::bigint[])") == "id = ANY(%s::bigint[])"
    assert SQLITE.one_of("id", [1, 2], "bigint") == ("id IN (?, ?)", [1, 2])
    assert SQLITE.write_time_opt(None) is None
    assert SQLITE.write_time_opt(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00.000000Z"


async def test_migrating_waits_for_another_process_writing_the_file(tmp_path: Path) -> None:
    # Switching to WAL needs the file to itself, and SQLite does not wait for that by its busy
    # timeout: a migration racing another process's write failed with "database is locked".
    path = tmp_path / "crawler.db"
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        store = SQLiteStore(path)
        assert await store.migrate() == (0, len(MIGRATIONS))
        await store.close()
    finally:
        other.close()
