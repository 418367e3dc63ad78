"""Housekeeping only a store kept in local files needs: a separate, small interface that only
the SQLite store implements (`crawler.store.maintenance_of` finds it)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Maintenance(Protocol):
    """Housekeeping that only a store kept in local files needs (SQLite). A store offers it
    when `crawler.store.maintenance_of` returns it; the daemon then schedules `checkpoint`."""

    async def checkpoint(self) -> bool:
        """Fold the write-ahead log back into the database so it does not grow without bound.
        False when a reader kept it from finishing (try again later)."""

    async def backup(self, dest: Path) -> None:
        """A consistent online copy at `dest`, verified, while writes go on; works whether the
        store is open or not. Raises `BackupError` (`dest` exists, no database, bad copy)."""

    def size_bytes(self) -> int:
        """Bytes the database takes on disk, its write-ahead log included."""

    def daemon_pid(self) -> int | None:
        """The pid of the daemon that has the database open, None when none runs (read
        without taking the daemon's lock)."""

    def journal_problem(self) -> str | None:
        """What is wrong with the write-ahead log under the running daemon (deleted or
        replaced by hand), or None."""
