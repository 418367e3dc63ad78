"""Files that are not what the store expects: the daemon refuses, with a message saying what
is wrong, and changes nothing. An empty file (a truncated database) is not taken as a new
one, another program's database is not moved into, a damaged one is found at start, and a
backup never lands on the live database's companion files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config


def crawler(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRAWLER_CMD, *args, "--config", str(config)], cwd=config.parent,
                          env=subprocess_env(), capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])


def test_an_empty_file_is_not_taken_for_a_new_database(config: Path) -> None:
    db = config.parent / "crawler.db"
    db.touch()
    result = crawler(config, "once")
    assert result.returncode == 1
    assert "is an empty file, not a crawler database" in result.stderr
    assert db.stat().st_size == 0  # nothing created in it


def test_another_programs_database_is_left_alone(config: Path) -> None:
    db = config.parent / "crawler.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    result = crawler(config, "once")
    assert result.returncode == 1
    assert "holds tables of something else (notes)" in result.stderr
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"notes"}


def test_a_damaged_database_stops_the_daemon_at_start(config: Path) -> None:
    assert crawler(config, "migrate").returncode == 0
    db = config.parent / "crawler.db"
    with sqlite3.connect(db) as conn:  # enough rows for pages beyond the schema's
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.executemany("INSERT INTO feeds (url, consecutive_errors) VALUES (?, 0)",
                         [(f"https://e.org/{'x' * 400}/{n}",) for n in range(400)])
    page = 16384
    size = db.stat().st_size
    assert size >= 8 * page
    with db.open("r+b") as f:  # the last page, a leaf of the feeds table or its index
        f.seek(size - page)
        f.write(os.urandom(page))
    result = crawler(config, "once")
    assert result.returncode == 1
    assert "is damaged (quick_check:" in result.stderr
    assert "restore it from a backup" in result.stderr


@pytest.mark.parametrize("suffix", ["", "-journal", "-wal", "-shm", ".lock"])
def test_a_backup_never_lands_on_the_databases_own_files(config: Path, suffix: str) -> None:
    assert crawler(config, "migrate").returncode == 0
    db = config.parent / "crawler.db"
    target = config.parent / f"crawler.db{suffix}"
    existed = target.exists()
    result = crawler(config, "backup", str(target))
    assert result.returncode == 1
    assert "companion file of the database" in result.stderr or (
        suffix == "" and "already exists" in result.stderr)
    assert target.exists() == existed
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
