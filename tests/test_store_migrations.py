"""Schema upgrades keep every row: a database written by an older schema opens with the new one."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from crawler.models import Content
from crawler.store.migrations import MIGRATIONS, split_statements
from crawler.store.page_cache import PageCache
from crawler.store.records import encode_text
from crawler.store.sqlite import SQLiteStore


def _database_at(path: Path, version: int) -> None:
    """A database migrated by hand to `version`, with one article written the old way."""
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        for statement in split_statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    when = "2026-11-26T12:00:00.000000Z"
    db.execute("""INSERT INTO articles (id, canonical_url, url, feed_url, first_seen_at,
                  last_checked_at, next_check_at, check_count, current_version, current_hash,
                  title, deleted) VALUES (1, 'https://e.org/a', 'https://e.org/a',
                  'https://e.org/rss', ?, ?, ?, 0, 2, 'sha256:2', 'Title two', 0)""",
               (when, when, when))
    db.execute("INSERT INTO article_urls (url, article_id) VALUES ('https://e.org/a', 1)")
    for number, text in ((1, "first text " * 40), (2, "second text " * 40)):
        db.execute("INSERT INTO versions (article_id, number, content_hash, title, text, "
                   "fetched_at) VALUES (1, ?, ?, ?, ?, ?)",
                   (number, f"sha256:{number}", f"Title {number}", encode_text(text), when))
    payload = json.dumps({"type": "article.new", "data": {"version": 1}})
    db.execute("INSERT INTO events (id, type, article_id, version, created_at, payload) "
               "VALUES ('evt_old', 'article.new', 1, 1, ?, ?)", (when, payload))
    db.execute("INSERT INTO deliveries (event_id, endpoint_url, status, attempts, "
               "next_attempt_at, created_at) VALUES ('evt_old', 'http://h/x', 'pending', 0, ?, ?)",
               (when, when))
    db.close()


async def test_upgrade_from_the_first_schema_keeps_versions_and_payloads(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, 1)
    store = SQLiteStore(path)
    await store.migrate()
    await store.open()
    try:
        article = await store.find_article_by_url("https://e.org/a")
        assert article is not None and article.source == "page" and article.collapse_count == 0
        versions = await store.get_versions(1)
        assert [(v.number, v.title, v.text[:11]) for v in versions] == [
            (1, "Title 1", "first text "), (2, "Title 2", "second text")]
        [delivery] = await store.due_deliveries(datetime(2027, 1, 1, tzinfo=UTC), 10)
        assert json.loads(delivery.payload)["type"] == "article.new"  # stored as plain text
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_versions_stored_before_extractor_numbers_read_as_extractor_1(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, 5)  # the schema before versions recorded their extractor
    store = SQLiteStore(path)
    await store.migrate()
    await store.open()
    try:
        article = await store.find_article_by_url("https://e.org/a")
        assert article is not None and article.extractor_version == 1
        assert [v.extractor_version for v in await store.get_versions(1)] == [1, 1]
        when = datetime(2026, 11, 27, tzinfo=UTC)
        number = await store.add_version(
            1, content=Content("Title 3", "third text", "sha256:3"), event=None,
            fetched_at=when, next_check_at=None, extractor_version=2)
        assert [v.extractor_version for v in await store.get_versions(1)] == [1, 1, 2]
        article = await store.find_article_by_url("https://e.org/a")
        assert article is not None and article.extractor_version == 2
        assert article.current_version == number == 3
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)



async def test_articles_of_schema_11_start_without_a_page_cache_entry(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, 11)  # the schema before the page cache
    store = SQLiteStore(path)
    await store.migrate()
    await store.open()
    try:
        assert await store.get_page_cache(1) is None
        entry = PageCache(final_url="https://e.org/a", digest="sha256:d", reader="3:-",
                          full_at=datetime(2026, 11, 27, tzinfo=UTC), etag='"e"')
        await store.mark_checked(1, checked_at=entry.full_at, next_check_at=None,
                                 present=True, page=entry)
        assert await store.get_page_cache(1) == entry
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
