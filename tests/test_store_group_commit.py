"""Group commit on SQLite: writes that wait for the writer share one transaction and one
COMMIT (one fsync), each in its own savepoint, so each keeps exactly the outcome it would have
had alone: a write that fails rolls back only its own rows, and a transaction that breaks
under the group is run again one write at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import structlog

from crawler.log_context import unit
from crawler.store.base import ArticleExistsError
from crawler.store.sqlite import SQLiteStore
from tests.log_capture import capture_logs
from tests.store_backends import new_article

log = structlog.get_logger(__name__)


@pytest.fixture
async def traced(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, list[str]]]:
    store = SQLiteStore(tmp_path / "crawler.db")
    await store.migrate()
    await store.open()
    statements: list[str] = []
    writer = store._writer
    assert writer is not None
    await writer.set_trace_callback(statements.append)
    try:
        yield store, statements
    finally:
        await store.close()


def feed_insert(url: str, *, fail: str = "") -> Callable[[aiosqlite.Connection], Awaitable[str]]:
    async def tx(conn: aiosqlite.Connection) -> str:
        await conn.execute("INSERT INTO feeds (url, consecutive_errors) VALUES (?, 0)", (url,))
        if fail == "raise":
            raise ValueError(f"refused {url}")
        if fail == "break":  # what a full disk does: SQLite rolls the whole transaction back
            await conn.execute("ROLLBACK")
            raise OSError("disk full")
        return url
    return tx


async def feeds(store: SQLiteStore) -> list[str]:
    return sorted(str(r[0]) for r in await store._read("SELECT url FROM feeds"))


async def test_waiting_writes_share_one_commit(traced: tuple[SQLiteStore, list[str]]) -> None:
    store, statements = traced
    statements.clear()
    results = await asyncio.gather(*(store._write(feed_insert(f"https://e.org/{n}"))
                                     for n in range(40)))
    assert results == [f"https://e.org/{n}" for n in range(40)]
    commits = sum(s == "COMMIT" for s in statements)
    assert 1 <= commits <= 3  # the first alone, the rest waiting behind it together
    assert len(await feeds(store)) == 40


async def test_a_failing_write_rolls_back_only_itself(
        traced: tuple[SQLiteStore, list[str]]) -> None:
    store, _ = traced
    outcomes = await asyncio.gather(
        *(store._write(feed_insert(f"https://e.org/{n}", fail="raise" if n == 5 else ""))
          for n in range(10)), return_exceptions=True)
    assert isinstance(outcomes[5], ValueError)
    assert [o for n, o in enumerate(outcomes) if n != 5] == [
        f"https://e.org/{n}" for n in range(10) if n != 5]
    assert await feeds(store) == sorted(f"https://e.org/{n}" for n in range(10) if n != 5)


async def test_a_broken_group_is_run_again_one_write_at_a_time(
        traced: tuple[SQLiteStore, list[str]]) -> None:
    store, _ = traced
    outcomes = await asyncio.gather(
        *(store._write(feed_insert(f"https://e.org/{n}", fail="break" if n == 3 else ""))
          for n in range(8)), return_exceptions=True)
    assert isinstance(outcomes[3], OSError)
    assert await feeds(store) == sorted(f"https://e.org/{n}" for n in range(8) if n != 3)


async def test_a_duplicate_article_in_a_group_is_refused_alone(
        traced: tuple[SQLiteStore, list[str]]) -> None:
    store, _ = traced
    outcomes = await asyncio.gather(*(new_article(store, n) for n in (1, 2, 2, 3)),
                                    return_exceptions=True)
    assert sum(isinstance(o, ArticleExistsError) for o in outcomes) == 1
    assert await store.count_articles() == 3


async def test_a_group_s_lines_carry_no_one_unit_s_keys(
        traced: tuple[SQLiteStore, list[str]]) -> None:
    # The committer task runs every waiting unit's write: started from the first unit's
    # context, its lines (a broken group, a failed rollback) would name that unit's page.
    store, _ = traced

    def logged_insert(url: str) -> Callable[[aiosqlite.Connection], Awaitable[str]]:
        insert = feed_insert(url)

        async def tx(conn: aiosqlite.Connection) -> str:
            # Awaiting more than its statements: run on the loop, in the committer's task.
            await asyncio.sleep(0)
            log.info("in_group", inserted=url)
            return await insert(conn)
        return tx

    async def one(n: int) -> str:
        with unit(url=f"https://e.org/page-{n}"):
            return await store._write(logged_insert(f"https://e.org/{n}"))

    with capture_logs() as logs:
        await asyncio.gather(*(one(n) for n in range(5)))
    lines = [line for line in logs if line["event"] == "in_group"]
    assert len(lines) == 5
    assert all("url" not in line for line in lines)


def feed_insert_pausing(url: str) -> Callable[[aiosqlite.Connection], Awaitable[str]]:
    """A write that awaits more than its statements: it cannot run on the writer's thread."""
    async def tx(conn: aiosqlite.Connection) -> str:
        await conn.execute("INSERT INTO feeds (url, consecutive_errors) VALUES (?, 0)", (url,))
        await asyncio.sleep(0)
        await conn.execute("UPDATE feeds SET consecutive_errors = 1 WHERE url = ?", (url,))
        return url
    return tx


async def test_a_write_awaiting_more_than_its_statements_is_run_once_on_the_loop(
        traced: tuple[SQLiteStore, list[str]]) -> None:
    store, _ = traced
    assert await store._write(feed_insert_pausing("https://e.org/alone")) == "https://e.org/alone"
    writes = [feed_insert_pausing(f"https://e.org/{n}") if n % 3 == 0
              else feed_insert(f"https://e.org/{n}") for n in range(12)]
    assert await asyncio.gather(*(store._write(w) for w in writes)) == [
        f"https://e.org/{n}" for n in range(12)]
    rows = await store._read("SELECT url, consecutive_errors FROM feeds")
    assert sorted((str(r[0]), int(r[1])) for r in rows) == sorted(
        [("https://e.org/alone", 1)]
        + [(f"https://e.org/{n}", 1 if n % 3 == 0 else 0) for n in range(12)])


async def test_a_group_takes_a_few_hops_to_the_writer_thread_whatever_its_size(
        traced: tuple[SQLiteStore, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hop wakes two threads: a group's writes run on the writer's thread together."""
    store, statements = traced
    writer = store._writer
    assert writer is not None
    hops = 0
    real: Any = writer._execute

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal hops
        hops += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(writer, "_execute", counted)
    statements.clear()
    await asyncio.gather(*(store._write(feed_insert(f"https://e.org/{n}")) for n in range(40)))
    commits = sum(s == "COMMIT" for s in statements)
    assert len(await feeds(store)) == 40
    assert hops == commits  # BEGIN, the writes and COMMIT in one: not one per statement


async def test_writes_made_while_the_loop_is_busy_share_a_commit(
        traced: tuple[SQLiteStore, list[str]]) -> None:
    """First sights are extracted on the loop, one page at a time: the writes made a few
    pages apart still join one group (a group runs in one hop, which alone took the one
    write waiting at the time)."""
    store, statements = traced

    async def extracted_then_written(n: int) -> str:
        for _ in range(n):
            await asyncio.sleep(0)
        time.sleep(0.003)  # a page extracted on the loop, holding it
        return await store._write(feed_insert(f"https://e.org/{n}"))

    statements.clear()
    await asyncio.gather(*(extracted_then_written(n) for n in range(12)))
    assert len(await feeds(store)) == 12
    assert sum(s == "COMMIT" for s in statements) <= 4
