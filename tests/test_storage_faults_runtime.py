"""A store that stops taking writes while the daemon runs (a full disk, a file turned
read-only): it is reported, not hidden (`failing_writes`, the daemon's `writes` health check),
its error lines are rate-limited, and a delivery whose receiver answered is recorded again
once the store can write, never sent again."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from io import StringIO
from pathlib import Path

import aiohttp
import pytest
import structlog
from aiohttp import web

from crawler.config import LoggingSettings
from crawler.logging_setup import configure_logging
from crawler.store.base import ArticleExistsError, LeaseLostError, StoreError
from crawler.store.sqlite import SQLiteStore
from crawler.store.write_health import is_storage_fault
from crawler.testing.webhook_receiver import make_secret
from crawler.webhooks import attempts as attempts_module
from crawler.webhooks.deliverer import Deliverer
from tests.hostile_server import serve
from tests.store_backends import new_article
from tests.test_webhooks_delivery import add_event, delivery_settings, hook, whole_second_clock


def _caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(("exc", "fault"), [
    (sqlite3.OperationalError("database or disk is full"), True),
    (sqlite3.OperationalError("attempt to write a readonly database"), True),
    (sqlite3.DatabaseError("database disk image is malformed"), True),
    (OSError(28, "No space left on device"), True),
    (_caused(StoreError("lost"), sqlite3.OperationalError("disk I/O error")), True),
    (sqlite3.IntegrityError("UNIQUE constraint failed"), False),
    (ArticleExistsError("https://e.org/a"), False),
    (LeaseLostError("article", 1, "me"), False),
    (KeyError(1), False),
])
def test_what_counts_as_a_storage_fault(exc: BaseException, fault: bool) -> None:
    assert is_storage_fault(exc) is fault


async def set_writable(store: SQLiteStore, writable: bool) -> None:
    writer = store._writer
    assert writer is not None
    await writer.execute(f"PRAGMA query_only = {'OFF' if writable else 'ON'}")


async def test_failing_writes_are_reported_until_one_gets_through(store: SQLiteStore) -> None:
    now = [100.0]
    store._write_health.clock = lambda: now[0]
    assert store.failing_writes() is None
    await set_writable(store, False)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await new_article(store, 1)
    now[0] += 25
    with pytest.raises(sqlite3.OperationalError):
        await new_article(store, 2)
    failing = store.failing_writes()
    assert failing is not None and failing[0] == 25 and "readonly" in failing[1]
    await set_writable(store, True)
    await new_article(store, 1)
    assert store.failing_writes() is None
    # A write the rules refuse is the store answering, not failing.
    with pytest.raises(ArticleExistsError):
        await new_article(store, 1)
    assert store.failing_writes() is None


async def test_an_answered_delivery_is_recorded_again_not_sent_again(
    store: SQLiteStore, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attempts_module, "RECORD_RETRY_FIRST", 0.05)
    received: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        # The disk fills up while the receiver takes the event.
        received.append(request.headers["webhook-id"])
        await set_writable(store, False)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", receive)
    async with serve(app) as server:
        url = f"http://127.0.0.1:{server.port}/hook"
        clock = whole_second_clock()
        event = await add_event(store, url, at=clock.now)
        deliverer = Deliverer(store, [hook(url, make_secret())], delivery_settings(), session,
                              clock=clock)
        attempt = asyncio.ensure_future(deliverer.run_once())
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert not attempt.done()  # still recording: not given up, not sent again
        await set_writable(store, True)
        assert await asyncio.wait_for(attempt, 10) == 1
        assert await store.count_pending_deliveries() == 0
        assert await deliverer.run_once() == 0
    assert received == [event.event_id]


def test_storage_fault_lines_are_rate_limited() -> None:
    stream = StringIO()
    configure_logging(LoggingSettings(level="info", format="json", file=""), stream=stream)
    log = structlog.get_logger("crawler.test")
    try:
        for _ in range(50):
            try:
                raise sqlite3.OperationalError("database or disk is full")
            except sqlite3.OperationalError:
                log.exception("check_crashed", url="https://e.org/a")
        log.error("delivery_not_recorded", error="disk full")
        log.error("delivery_not_recorded", error="disk full")
        log.warning("page_failed", error="HTTP 500")  # not a storage fault: never limited
        log.warning("page_failed", error="HTTP 500")
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    events = [line["event"] for line in lines]
    assert events == ["check_crashed", "delivery_not_recorded", "page_failed", "page_failed"]
    assert "database or disk is full" in lines[0]["exception"]


async def test_the_daemon_is_unhealthy_while_writes_keep_failing(tmp_path: Path) -> None:
    from crawler.app import App
    from crawler.config import load_config
    from crawler.liveness import WRITES_FAILING_UNHEALTHY
    from crawler.testing.crawler_process import write_config

    settings = load_config(write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"]))
    async with App(settings) as app:
        assert isinstance(app.store, SQLiteStore)
        now = [0.0]
        app.store._write_health.clock = lambda: now[0]
        app.ticker.start()  # no jobs: only so that the ticker counts as running
        liveness = app.liveness
        assert (await liveness.check())["writes"] is True
        assert await liveness.healthy() is True
        await set_writable(app.store, False)
        with pytest.raises(sqlite3.OperationalError):
            await new_article(app.store, 1)
        assert (await liveness.check())["writes"] is True  # a moment: not yet
        now[0] += WRITES_FAILING_UNHEALTHY + 1
        assert (await liveness.check())["writes"] is False
        assert await liveness.healthy() is False  # no watchdog ping for a local store
        await set_writable(app.store, True)
        await new_article(app.store, 1)
        assert (await liveness.check())["writes"] is True
        app.ticker.shutdown()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_write_ahead_log_removed_under_the_daemon_is_seen_and_saved(
        tmp_path: Path, how: str) -> None:
    from crawler.app import App
    from crawler.config import load_config
    from crawler.testing.crawler_process import write_config

    settings = load_config(write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"]))
    db = tmp_path / "crawler.db"
    async with App(settings) as app:
        assert isinstance(app.store, SQLiteStore)
        app.ticker.start()  # no jobs: only so that the ticker counts as running
        liveness = app.liveness
        await new_article(app.store, 1)
        assert app.store.journal_problem() is None
        assert (await liveness.check())["journal"] is True
        assert await liveness.healthy() is True
        wal = Path(f"{db}-wal")
        assert wal.stat().st_size > 0  # the article is in the log, not yet in the file
        wal.unlink()
        if how == "replaced":
            wal.write_bytes(b"")
        problem = app.store.journal_problem()
        assert problem is not None and ("vanished" if how == "deleted" else "replaced") in problem
        assert (await liveness.check())["journal"] is False
        assert await liveness.healthy() is False
        # The commit that was only in the removed log is in the database file now (a copy
        # of the file alone, as a crash would leave it, holds it).
        copy = tmp_path / "as-left-by-a-crash.db"
        copy.write_bytes(db.read_bytes())
        with sqlite3.connect(copy) as conn:
            assert conn.execute("SELECT count(*) FROM articles").fetchone() == (1,)
