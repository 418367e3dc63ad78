"""The store seam as the commands use it: `open_store`, read-only opens that never migrate or
create, `crawler migrate`, `[storage] url`, the one-daemon lock, maintenance only where the
store offers it, and version numbers assigned inside the writing transaction."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from crawler.config import StorageSettings, parse_config
from crawler.daemon import Daemon
from crawler.extract.version import EXTRACTOR_VERSION
from crawler.metrics import Metrics
from crawler.models import EventRecord
from crawler.recorder import Recorder
from crawler.store import (
    DatabaseMissingError,
    SchemaOutdatedError,
    SchemaTooNewError,
    StoreError,
    StoreLockedError,
    describe_storage,
    maintenance_of,
    open_store,
)
from crawler.store.migrations import MIGRATIONS
from crawler.store.postgres import PostgresStore
from crawler.store.sqlite import SQLiteStore, StoreClosedError
from crawler.store.sqlite_lock import lock_path
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.textnorm import make_content
from tests.conftest import FakeClock
from tests.store_backends import T0, new_article
from tests.test_store_migrations import _database_at

CURRENT = len(MIGRATIONS)


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def crawler(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRAWLER_CMD, *args, "--config", str(config)], cwd=config.parent,
                          env=subprocess_env(), capture_output=True, text=True, timeout=60,
                          check=False)


def storage(path: Path) -> StorageSettings:
    return StorageSettings(database=str(path))


# --- read-only opens ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["status"], ["history", "https://e.org/a"],
                                     ["diff", "https://e.org/a"], ["deliveries"]])
def test_reading_commands_never_migrate_an_older_database(
        tmp_path: Path, command: list[str]) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    db = tmp_path / "crawler.db"
    _database_at(db, 1)
    result = crawler(config, *command)
    assert result.returncode == 2, result.stderr
    assert "run `crawler migrate`" in result.stderr
    assert f"version 1, older than this crawler's {CURRENT}" in result.stderr
    assert user_version(db) == 1


def test_reading_commands_refuse_a_newer_database_naming_both_versions(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    db = tmp_path / "crawler.db"
    _database_at(db, CURRENT)
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version = {CURRENT + 3}")
    result = crawler(config, "status")
    assert result.returncode == 2
    assert f"version {CURRENT + 3}, newer than this crawler's {CURRENT}" in result.stderr
    assert "too old" in result.stderr
    assert user_version(db) == CURRENT + 3


def test_status_without_a_database_creates_none(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    result = crawler(config, "status")
    assert result.returncode == 1
    assert "no database at" in result.stderr
    assert list(tmp_path.glob("crawler.db*")) == []


async def test_readonly_open_of_a_missing_file_raises_and_creates_nothing(
        tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    for readonly in (True, False):
        store = open_store(storage(db), readonly=readonly)
        with pytest.raises(DatabaseMissingError, match="crawler migrate"):
            await store.open()
        await store.close()
    assert not db.exists()
    db.touch()  # an empty file is no database either
    store = open_store(storage(db), readonly=True)
    with pytest.raises(DatabaseMissingError):
        await store.open()
    assert db.stat().st_size == 0


async def test_readonly_store_reads_and_cannot_write_or_migrate(tmp_path: Path) -> None:
    db = tmp_path / "crawler.db"
    writer = SQLiteStore(db)
    await writer.migrate()
    await writer.open()
    aid = await new_article(writer)
    reader = open_store(storage(db), readonly=True)
    await reader.open()
    try:
        found = await reader.find_article_by_url("https://news.example/a/1")
        assert found is not None and found.article_id == aid
        with pytest.raises(StoreError, match="read-only"):
            await reader.migrate()
        with pytest.raises(StoreClosedError):  # a read-only store has no writer at all
            await reader.mark_checked(aid, checked_at=T0, next_check_at=None)
        assert await reader.ping()
    finally:
        await reader.close()
        await writer.close()


async def test_operator_store_does_not_migrate_either(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _database_at(db, 2)
    store = open_store(storage(db), readonly=False)
    with pytest.raises(SchemaOutdatedError) as caught:
        await store.open()
    await store.close()
    assert (caught.value.database, caught.value.program) == (2, CURRENT)
    assert user_version(db) == 2


async def test_daemon_store_migrates_before_opening(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _database_at(db, 1)
    store = open_store(storage(db), readonly=False, daemon=True)
    try:
        assert await store.migrate() == (1, CURRENT)
        await store.open()
        assert await store.count_articles() == 1
    finally:
        await store.close()
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version = {CURRENT + 1}")
    store = open_store(storage(db), readonly=False, daemon=True)
    with pytest.raises(SchemaTooNewError):
        await store.migrate()
    await store.close()


# --- crawler migrate ---------------------------------------------------------------------------

def test_migrate_command_migrates_and_is_idempotent(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    db = tmp_path / "crawler.db"
    _database_at(db, 1)
    first = crawler(config, "migrate")
    assert first.returncode == 0, first.stderr
    assert f"schema version {CURRENT} (migrated from 1)" in first.stdout
    assert user_version(db) == CURRENT
    again = crawler(config, "migrate")
    assert again.returncode == 0
    assert f"schema version {CURRENT}, up to date" in again.stdout
    status = crawler(config, "status")
    assert status.returncode == 0, status.stderr
    assert "articles tracked: 1, versions stored: 2" in status.stdout


def test_migrate_command_creates_a_new_database_and_fails_with_1(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    db = tmp_path / "crawler.db"
    created = crawler(config, "migrate")
    assert created.returncode == 0, created.stderr
    assert f"schema version {CURRENT} (migrated from 0)" in created.stdout
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version = {CURRENT + 1}")
    refused = crawler(config, "migrate")
    assert refused.returncode == 1
    assert "newer than this crawler's" in refused.stderr


# --- [storage] url -----------------------------------------------------------------------------

FEED = '[[feeds]]\nurl = "https://e.org/rss"\n'


def test_storage_url_is_parsed_and_shown_without_its_password() -> None:
    settings = parse_config('[storage]\nurl = "postgresql://crawler:s3cret@db.example.org:5432/'
                            'crawler"\n' + FEED)
    assert settings.storage.url.startswith("postgresql://")
    shown = describe_storage(settings.storage)
    assert shown == "PostgreSQL database postgresql://crawler@db.example.org:5432/crawler"
    store = open_store(settings.storage, readonly=True)
    assert isinstance(store, PostgresStore)
    assert store.describe() == shown
    assert maintenance_of(store) is None  # the server checkpoints; pg_dump backs it up


@pytest.mark.parametrize(("table", "problem"), [
    ('url = "mysql://db/x"', "storage.url: must be a postgresql:// URL"),
    ('url = "postgresql://db/x"\ndatabase = "x.db"', "either `database`"),
])
def test_storage_url_errors(table: str, problem: str) -> None:
    from crawler.config import ConfigError

    with pytest.raises(ConfigError, match=problem.replace("(", r"\(")):
        parse_config(f"[storage]\n{table}\n" + FEED)


def test_commands_on_an_unreachable_postgresql_say_so_without_the_password(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    text = config.read_text().replace(f'database = "{tmp_path / "crawler.db"}"',
                                      'url = "postgresql://crawler:pw@127.0.0.1:9/crawler"')
    config.write_text(text)
    for command in ("status", "once", "migrate"):
        result = crawler(config, command)
        assert result.returncode == 1, result.stderr
        assert ("cannot connect to PostgreSQL database postgresql://crawler@127.0.0.1:9/crawler"
                in result.stderr)
        assert "pw" not in result.stderr.replace("crawler@", "")
    backup = crawler(config, "backup", str(tmp_path / "copy"))
    assert backup.returncode == 1
    assert "pg_dump" in backup.stderr
    checked = crawler(config, "check-config")
    assert checked.returncode == 0
    assert "storage: PostgreSQL database postgresql://crawler@127.0.0.1:9/crawler" in (
        checked.stdout)


# --- one daemon per SQLite file ----------------------------------------------------------------

async def test_exclusive_store_admits_one_holder_and_names_its_pid(tmp_path: Path) -> None:
    db = tmp_path / "crawler.db"
    first = open_store(storage(db), readonly=False, daemon=True)
    await first.migrate()
    await first.open()
    second = open_store(storage(db), readonly=False, daemon=True)
    try:
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}") as caught:
            await second.migrate()
        assert caught.value.pid == os.getpid()
        assert lock_path(db).read_text().strip() == str(os.getpid())
        reader = open_store(storage(db), readonly=True)  # readers never take the lock
        await reader.open()
        assert await reader.count_articles() == 0
        await reader.close()
    finally:
        await first.close()
    assert lock_path(db).read_text() == ""
    await second.migrate()
    await second.open()
    await second.close()


def test_a_lock_left_by_a_killed_process_stops_nobody(tmp_path: Path) -> None:
    db = tmp_path / "crawler.db"
    holder = subprocess.Popen(
        [*CRAWLER_CMD[:1], "-c", (
            "import sys, time\n"
            "from pathlib import Path\n"
            "from crawler.store.sqlite_lock import DaemonLock\n"
            "DaemonLock(Path(sys.argv[1])).acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n"), str(db)],
        env=subprocess_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = SQLiteStore(db, exclusive=True)
        with pytest.raises(StoreLockedError, match=f"pid {holder.pid}"):
            asyncio.run(store.migrate())
    finally:
        holder.kill()
        holder.wait()
    assert lock_path(db).read_text().strip() == str(holder.pid)  # stale, and harmless
    store = SQLiteStore(db, exclusive=True)
    asyncio.run(store.migrate())
    asyncio.run(store.close())


# --- maintenance -------------------------------------------------------------------------------

async def test_sqlite_store_offers_maintenance(tmp_path: Path) -> None:
    db = tmp_path / "crawler.db"
    store = open_store(storage(db), readonly=False, daemon=True)
    await store.migrate()
    await store.open()
    try:
        maintenance = maintenance_of(store)
        assert maintenance is not None
        assert await maintenance.checkpoint()
        assert maintenance.size_bytes() >= db.stat().st_size > 0
        await maintenance.backup(tmp_path / "copy.db")
        assert user_version(tmp_path / "copy.db") == CURRENT
    finally:
        await store.close()


class _StoreWithoutMaintenance:
    """What a server database's store looks like to the daemon: no checkpoint to schedule."""


def _jobs(maintenance_store: object) -> list[str]:
    from crawler.clock import utc_now
    from crawler.ticker import Ticker

    # Scheduling reads only the runtime's ticker and clock.
    ticker = Ticker()
    daemon = Daemon(SimpleNamespace(ticker=ticker, clock=utc_now))  # type: ignore[arg-type]
    daemon._schedule_all(maintenance_of(maintenance_store))  # type: ignore[arg-type]
    return ticker.names


def test_daemon_schedules_a_checkpoint_only_for_a_store_that_offers_it(tmp_path: Path) -> None:
    with_it = _jobs(SQLiteStore(tmp_path / "crawler.db"))
    without = _jobs(_StoreWithoutMaintenance())
    assert "checkpoint" in with_it
    assert "checkpoint" not in without
    assert set(with_it) - set(without) == {"checkpoint"}
    # A few periodic jobs claim what is due, watch the clock and report: none per feed.
    assert set(without) == {"feeds", "recheck", "status", "clock", "clamp"}


# --- version numbers -------------------------------------------------------------------------

async def test_racing_edits_of_one_article_get_the_numbers_their_transactions_assigned(
        store: SQLiteStore, clock: FakeClock) -> None:
    """Two checks that both started from version 1: each event carries the number its own
    transaction stored (2 and 3), never both 2."""
    original = make_content("Storm hits coast", "Twelve homes were damaged in Westport. " * 8)
    event = EventRecord(event_id="evt_first", event_type="article.new", created_at=T0,
                        payload="{}", endpoints=())
    article = await store.create_article(
        canonical_url="https://e.org/a", url="https://e.org/a", feed_url="https://e.org/rss",
        content=original, event=event, seen_at=T0, next_check_at=T0,
        extractor_version=EXTRACTOR_VERSION)
    settings = parse_config(FEED)
    recorder = Recorder(store, lambda: settings, clock=clock,
                        metrics=Metrics(process_metrics=False), on_event=lambda: None)
    edits = [make_content("Storm hits coast", "Twelve homes were damaged in Westport. " * 8
                          + f"Update {n}: the road reopened.") for n in (1, 2)]
    results = await asyncio.gather(*(recorder.compare(article, c) for c in edits))
    assert [r.result for r in results] == ["edited", "edited"]
    with sqlite3.connect(store.path) as raw:
        rows = raw.execute("SELECT version, payload FROM events WHERE type = 'article.edited'"
                           " ORDER BY version").fetchall()
    from crawler.store.records import decode_payload

    payloads = [json.loads(decode_payload(p))["data"] for _, p in rows]
    assert [v for v, _ in rows] == [2, 3]
    assert [(d["version"], d["previous_version"]) for d in payloads] == [(2, 1), (3, 2)]
    assert [v.number for v in await store.get_versions(article.article_id)] == [1, 2, 3]
