"""Leases on a real SQLite file, what only SQLite has: migration 7 derives the host of the
articles stored before it. The protocol's leases are asserted on both stores in
test_store_contract_leases.py."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
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


async def test_a_daemon_restarted_after_a_crash_takes_over_its_own_leases_at_once(
        tmp_path: Path) -> None:
    """One daemon per SQLite file: leases found by the next daemon were left by a dead one, so
    its feeds and re-checks are claimable at once, not after the lease time."""
    path = tmp_path / "x.db"
    now = datetime.now(UTC)
    crashed = SQLiteStore(path, exclusive=True)
    await crashed.migrate()
    await crashed.open()
    try:
        await crashed.sync_feeds({"https://e.org/rss": now})
        await article_at(crashed, 1, due_in_s=-1)
        assert len(await crashed.claim_due_feeds("dead", now, limit=5, lease_seconds=600)) == 1
        assert len(await crashed.claim_due_articles("dead", now, limit=5,
                                                    lease_seconds=600)) == 1
    finally:
        await crashed.close()  # the process dies: its leases stay in the file
    # Not exclusive (an operator command beside a daemon): the leases are respected.
    operator = SQLiteStore(path)
    await operator.open()
    try:
        assert await operator.claim_due_feeds("x", now, limit=5, lease_seconds=60) == []
    finally:
        await operator.close()
    restarted = SQLiteStore(path, exclusive=True)
    await restarted.open()
    try:
        feeds = await restarted.claim_due_feeds("new", now, limit=5, lease_seconds=60)
        articles = await restarted.claim_due_articles("new", now, limit=5, lease_seconds=60)
        assert [f.feed_url for f in feeds] == ["https://e.org/rss"]
        assert len(articles) == 1
    finally:
        await restarted.close()
