"""SQLiteStore durability and isolation: RELIABILITY cases 13-17."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from crawler.models import Content, EventRecord
from crawler.store.sqlite import SQLiteStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOOK = "http://127.0.0.1:9/hook"
REPO = Path(__file__).resolve().parent.parent


def content(text: str, title: str = "T") -> Content:
    digest = uuid.uuid5(uuid.NAMESPACE_URL, title + text)
    return Content(title=title, text=text, content_hash=f"sha256:{digest}")


def event(event_id: str | None = None, event_type: str = "article.new") -> EventRecord:
    return EventRecord(
        event_id=event_id or f"evt_{uuid.uuid4().hex}",
        event_type=event_type,
        created_at=T0,
        payload="{}",
        endpoints=(HOOK, HOOK + "2"),
    )


def table_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as raw:
        return {
            table: raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("articles", "article_urls", "versions", "events", "deliveries")
        }


async def create(store: SQLiteStore, n: int, ev: EventRecord) -> int:
    article = await store.create_article(
        extractor_version=1, canonical_url=f"https://news.example/{n}", url=f"https://news.example/{n}?f",
        feed_url="https://news.example/rss", content=content(f"text {n}"), event=ev,
        seen_at=T0, next_check_at=T0,
    )
    return article.article_id


# --- 15: version, event and deliveries: all or nothing ------------------------------------------

async def test_create_article_with_duplicate_event_id_writes_nothing(store: SQLiteStore) -> None:
    ev = event()
    await create(store, 1, ev)
    before = table_counts(store.path)
    with pytest.raises(sqlite3.IntegrityError):
        await create(store, 2, event(ev.event_id))  # fails after article and version rows
    assert table_counts(store.path) == before
    assert await store.find_article_by_url("https://news.example/2") is None


async def test_add_version_and_mark_deleted_all_or_nothing(store: SQLiteStore) -> None:
    ev = event()
    aid = await create(store, 1, ev)
    before = table_counts(store.path)
    with pytest.raises(sqlite3.IntegrityError):
        await store.add_version(aid, extractor_version=1, content=content("v2"), event=lambda _: event(ev.event_id),
                                fetched_at=T0, next_check_at=None)
    with pytest.raises(sqlite3.IntegrityError):
        await store.mark_deleted(aid, event=event(ev.event_id), checked_at=T0,
                                 next_check_at=None)
    assert table_counts(store.path) == before
    article = await store.find_article_by_url("https://news.example/1")
    assert article is not None
    assert (article.current_version, article.deleted, article.check_count) == (1, False, 0)
    assert article.next_check_at == T0
    # And the store still works afterwards: no transaction left open.
    assert await store.add_version(aid, extractor_version=1, content=content("v2"), event=lambda _: event(), fetched_at=T0,
                                   next_check_at=None) == 2


# --- 14: two writers at once, one rolls back ----------------------------------------------------

async def test_concurrent_writer_failure_rolls_back_only_its_own_rows(store: SQLiteStore) -> None:
    aid = await create(store, 0, event())
    started = asyncio.Event()

    async def failing_tx(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO article_urls (url, article_id) VALUES ('doomed', ?)",
                           (aid,))
        started.set()
        await asyncio.sleep(0.05)  # the other task runs meanwhile and must not share this txn
        raise RuntimeError("boom")

    async def failing() -> None:
        await store._write(failing_tx)

    async def good_writes() -> None:
        await started.wait()
        await store.add_url_alias(aid, "kept")
        await store.add_version(aid, extractor_version=1, content=content("v2"), event=lambda _: event(), fetched_at=T0,
                                next_check_at=None)

    results = await asyncio.gather(failing(), good_writes(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert results[1] is None
    assert await store.find_article_by_url("doomed") is None
    assert await store.find_article_by_url("kept") is not None
    assert [v.number for v in await store.get_versions(aid)] == [1, 2]


async def test_many_concurrent_writers_some_failing(store: SQLiteStore) -> None:
    dup = event()
    await create(store, 0, dup)
    outcomes = await asyncio.gather(
        *(create(store, n, event(dup.event_id) if n % 3 == 0 else event())
          for n in range(1, 31)),
        return_exceptions=True,
    )
    ok = [n for n, r in zip(range(1, 31), outcomes, strict=True) if isinstance(r, int)]
    assert len(ok) == 20
    counts = table_counts(store.path)
    assert counts["articles"] == counts["versions"] == counts["events"] == 21
    assert counts["article_urls"] == 42
    assert counts["deliveries"] == 42


async def test_cancelled_caller_never_leaves_a_half_transaction(store: SQLiteStore) -> None:
    aid = await create(store, 0, event())
    tasks = [
        asyncio.create_task(store.add_version(aid, extractor_version=1, content=content(f"v{i}"), event=lambda _: event(),
                                              fetched_at=T0, next_check_at=None))
        for i in range(20)
    ]
    await asyncio.sleep(0.002)
    for task in tasks[::2]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await store.close()  # waits for the shielded transactions still running
    with sqlite3.connect(store.path) as raw:
        versions = raw.execute("SELECT count(*) FROM versions").fetchone()[0]
        events = raw.execute("SELECT count(*) FROM events").fetchone()[0]
        deliveries = raw.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        current = raw.execute("SELECT current_version FROM articles").fetchone()[0]
    # Every transaction ran to its end: each version has its event and both deliveries.
    assert versions == events == current
    assert deliveries == 2 * events


# --- 16: the WAL stays bounded ------------------------------------------------------------------

async def test_wal_is_checkpointed_and_bounded(store: SQLiteStore) -> None:
    wal = store.path.with_name(store.path.name + "-wal")
    aid = await create(store, 0, event())
    rng = random.Random(1)
    largest = 0
    for i in range(600):
        # Incompressible text, about 4 KB per version: ~2.4 MB written in all.
        text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(4000))
        await store.add_version(aid, extractor_version=1, content=content(text + str(i)), event=lambda _: event(),
                                fetched_at=T0, next_check_at=None)
        if i % 50 == 0:
            largest = max(largest, wal.stat().st_size)
            if i % 200 == 0:
                await store.checkpoint()
    largest = max(largest, wal.stat().st_size)
    assert largest < 8 * 1024 * 1024
    assert await store.checkpoint()  # finished: no reader held it back
    assert wal.stat().st_size == 0  # TRUNCATE empties it
    assert len(await store.get_versions(aid)) == 601
    await store.close()
    assert not wal.exists() or wal.stat().st_size == 0


# --- 17: online backup of a database being written ----------------------------------------------

async def test_online_backup_while_writing_passes_integrity_check(
    store: SQLiteStore, tmp_path: Path
) -> None:
    aid = await create(store, 0, event())
    stop = asyncio.Event()

    async def writer() -> int:
        n = 0
        while not stop.is_set():
            await store.add_version(aid, extractor_version=1, content=content(f"v{n} " * 50), event=lambda _: event(),
                                    fetched_at=T0, next_check_at=None)
            n += 1
        return n

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.1)
    dests = [tmp_path / f"backup{i}.db" for i in range(3)]
    for dest in dests:
        await store.backup(dest)
        await asyncio.sleep(0.05)
    stop.set()
    written = await task
    assert written > 0
    for dest in dests:
        with sqlite3.connect(dest) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
            versions = raw.execute("SELECT count(*) FROM versions").fetchone()[0]
            current = raw.execute("SELECT current_version FROM articles").fetchone()[0]
            events = raw.execute("SELECT count(*) FROM events").fetchone()[0]
        assert versions == current == events  # a consistent snapshot, not a torn one
    assert not list(tmp_path.glob("*.partial"))


# --- 13: SIGKILL loop ---------------------------------------------------------------------------

WRITER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from datetime import UTC, datetime
    from crawler.models import Content, EventRecord
    from crawler.store.sqlite import SQLiteStore

    def ev():
        return EventRecord(event_id=uuid.uuid4().hex, event_type="article.edited",
                           created_at=datetime.now(UTC), payload="{}", endpoints=("http://h/",))

    async def main(path):
        store = SQLiteStore(path)
        await store.migrate()
        await store.open()
        now = datetime.now(UTC)
        article = await store.find_article_by_url("https://k.example/a")
        if article is None:
            c = Content(title="t", text="first", content_hash="h-first")
            article = await store.create_article(
                extractor_version=1, canonical_url="https://k.example/a", url="https://k.example/a",
                feed_url="f", content=c, event=ev(), seen_at=now, next_check_at=now)
            print("ACK", article.article_id, 1, "h-first", flush=True)
        while True:
            tag = uuid.uuid4().hex
            c = Content(title="t", text=tag * 40, content_hash="h-" + tag)
            n = await store.add_version(article.article_id, extractor_version=1, content=c, event=lambda _: ev(),
                                        fetched_at=datetime.now(UTC), next_check_at=now)
            print("ACK", article.article_id, n, c.content_hash, flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


async def _run_and_kill(script: Path, db: Path, rng: random.Random) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(db), stdout=asyncio.subprocess.PIPE, env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("ACK "):  # skip log lines before the first
        lines.append((await asyncio.wait_for(proc.stdout.readline(), timeout=10)).decode())
    await asyncio.sleep(rng.uniform(0.05, 0.6))
    proc.send_signal(signal.SIGKILL)
    # Whatever was printed before the kill was acknowledged by the store: read it all.
    rest = await asyncio.wait_for(proc.stdout.read(), timeout=10)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    lines.extend(rest.decode().splitlines(keepends=True))
    # A line cut by the kill has no newline: it was not acknowledged in full, ignore it.
    return [line[4:].strip() for line in lines if line.startswith("ACK ") and line.endswith("\n")]


@pytest.mark.timeout(60)
async def test_sigkill_loop_loses_no_acknowledged_version(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    db = tmp_path / "killed.db"
    rng = random.Random(13)
    acknowledged: list[str] = []
    for _ in range(5):
        acknowledged.extend(await _run_and_kill(script, db, rng))
    assert len(acknowledged) > 20, acknowledged
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {
            (str(a), str(n), h)
            for a, n, h in raw.execute("SELECT article_id, number, content_hash FROM versions")
        }
        orphans = raw.execute(
            "SELECT count(*) FROM versions v WHERE v.number > 1 AND NOT EXISTS ("
            " SELECT 1 FROM events e JOIN deliveries d ON d.event_id = e.id"
            " WHERE e.article_id = v.article_id AND e.version = v.number)"
        ).fetchone()[0]
    for line in acknowledged:
        a, n, h = line.split()
        assert (a, n, h) in stored, f"acknowledged version {line} is missing"
    assert orphans == 0  # no version without its event and delivery (case 15 across crashes)
    # The store opens cleanly after all that.
    s = SQLiteStore(db)
    await s.open()
    assert await s.count_articles() == 1
    await s.close()
