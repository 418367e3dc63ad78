"""Online backup of a database another process keeps writing to (RELIABILITY case 17)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.store.sqlite_backup import BackupError, backup_sqlite

# Commits one row at a time as fast as it can, like a busy daemon; prints once it is going.
WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("PRAGMA busy_timeout = 10000")
first = True
while True:
    db.execute("INSERT INTO item (body) VALUES (randomblob(300))")
    if first:
        print("writing", flush=True)
        first = False
"""


def make_db(path: Path, rows: int, journal_mode: str = "wal") -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA journal_mode = {journal_mode}")
    db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    db.execute("CREATE INDEX item_body ON item (body)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO item (body) VALUES (randomblob(300))", [()] * rows)
    db.execute("COMMIT")
    db.close()


def count(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM item").fetchone()[0])
    finally:
        db.close()


def test_backup_while_another_process_writes(tmp_path: Path) -> None:
    source, dest = tmp_path / "crawler.db", tmp_path / "backup.db"
    make_db(source, 20_000)  # ~10 MB: several steps' worth if it were copied in steps
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(source)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        committed_before = count(source)
        started = time.monotonic()
        backup_sqlite(source, dest)
        elapsed = time.monotonic() - started
        time.sleep(0.1)
        assert writer.poll() is None, "the writer must not be blocked out or killed"
        written_during = count(source)
    finally:
        writer.kill()
        writer.wait(timeout=5)

    assert elapsed < 10
    copy = sqlite3.connect(dest)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        copied = int(copy.execute("SELECT count(*) FROM item").fetchone()[0])
        ids = {row[0] for row in copy.execute("SELECT id FROM item WHERE id <= ?",
                                               (committed_before,))}
    finally:
        copy.close()
    # Every row committed before the backup started is there, and the copy is one consistent
    # state between "before" and "after" (rowids are dense: one writer, no deletes).
    assert ids == set(range(1, committed_before + 1))
    assert committed_before <= copied <= written_during
    assert written_during > committed_before
    assert not (tmp_path / "backup.db-wal").exists()


def test_backup_of_a_rollback_journal_database_in_small_steps(tmp_path: Path) -> None:
    source, dest = tmp_path / "crawler.db", tmp_path / "backup.db"
    make_db(source, 2_000, journal_mode="delete")
    backup_sqlite(source, dest, pages=16, sleep=0)
    assert count(dest) == 2_000


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    source, dest = tmp_path / "crawler.db", tmp_path / "backup.db"
    make_db(source, 10)
    dest.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupError, match="already exists"):
        backup_sqlite(source, dest)
    assert dest.read_bytes() == b"yesterday's backup"


def test_missing_source_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="does not exist"):
        backup_sqlite(tmp_path / "typo.db", tmp_path / "backup.db")
    assert list(tmp_path.iterdir()) == []


def test_missing_dest_directory(tmp_path: Path) -> None:
    source = tmp_path / "crawler.db"
    make_db(source, 10)
    with pytest.raises(BackupError, match="directory"):
        backup_sqlite(source, tmp_path / "no" / "backup.db")


def test_not_a_database(tmp_path: Path) -> None:
    source, dest = tmp_path / "notes.txt", tmp_path / "backup.db"
    source.write_bytes(b"not sqlite at all" * 300)
    with pytest.raises(BackupError, match="backup failed"):
        backup_sqlite(source, dest)
    assert not dest.exists()


def test_damaged_page_is_reported_and_removed(tmp_path: Path) -> None:
    source, dest = tmp_path / "crawler.db", tmp_path / "backup.db"
    make_db(source, 2_000, journal_mode="delete")
    # Scribble over a page in the middle of the file: the copy is page-for-page, so it
    # inherits the damage and must not be left behind as if it were a backup.
    data = bytearray(source.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle : middle + page] = b"\xff" * page
    source.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"malformed|integrity"):
        backup_sqlite(source, dest)
    assert not dest.exists()


def test_failed_integrity_check_is_reported_and_removed(tmp_path: Path) -> None:
    source, dest = tmp_path / "crawler.db", tmp_path / "backup.db"
    db = sqlite3.connect(source, isolation_level=None)
    db.execute("CREATE TABLE t (x, y)")
    db.execute("CREATE INDEX i ON t (x)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, -i) for i in range(100)])
    # Make the index disagree with its table: readable, but integrity_check lists the rows.
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_schema SET sql = 'CREATE INDEX i ON t (y)' WHERE name = 'i'")
    db.close()
    with pytest.raises(BackupError, match=r"failed integrity_check: row .* missing from index i"):
        backup_sqlite(source, dest)
    assert not dest.exists()
