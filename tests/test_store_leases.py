"""Leases on a real SQLite file, what only SQLite has: migration 7 derives the host of the
articles stored before it. The protocol's leases are asserted on both stores in
test_store_contract_leases.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crawler.store.migrations import MIGRATIONS
from crawler.store.sqlite import SQLiteStore
from tests.store_backends import article_at


async def test_migration_7_gives_stored_articles_their_host(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.db")
    await store.migrate()
    await store.open()
    try:
        await article_at(store, 1, due_in_s=0, host="News.Example:8080")
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "x.db") as db:
        db.execute("UPDATE articles SET host = ''")
        update = next(s for s in MIGRATIONS[6].split(";") if "UPDATE articles" in s)
        db.execute(update)
        assert db.execute("SELECT host FROM articles").fetchone() == ("news.example:8080",)
