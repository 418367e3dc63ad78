"""Whether a store's writes are getting through: the streak of failed writes and its cause,
for `/healthz` and the watchdog (a full disk or a lost database must not look healthy while
nothing is stored). Only storage faults count (I/O, a full disk, a damaged file, a lost
connection); a write refused by the rules (a lost lease, an article that exists) is the store
working."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

import psycopg

# What a failing disk, file or database server raises under the stores.
STORAGE_FAULTS: tuple[type[BaseException], ...] = (
    sqlite3.OperationalError, sqlite3.DatabaseError, OSError, psycopg.OperationalError)


class WriteHealth:
    """The current streak of failed writes, timed on the monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        """Seconds, monotonic (a test may set another)."""
        self._failing_since: float | None = None
        self._last_error = ""

    def succeeded(self) -> None:
        self._failing_since = None

    def failed(self, exc: BaseException) -> None:
        if self._failing_since is None:
            self._failing_since = self.clock()
        self._last_error = f"{type(exc).__name__}: {exc}"

    def note(self, exc: BaseException | None) -> None:
        """Record a write's outcome: None for success, else what it raised."""
        if exc is None:
            self.succeeded()
        elif is_storage_fault(exc):
            self.failed(exc)
        else:
            self.succeeded()  # refused by the rules: the store itself answered

    def failing(self) -> tuple[float, str] | None:
        """(seconds since the first failure of the streak, the last error), or None."""
        if self._failing_since is None:
            return None
        return self.clock() - self._failing_since, self._last_error


def is_storage_fault(exc: BaseException) -> bool:
    """`exc`, or what it was raised from, is a fault of the storage itself."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, STORAGE_FAULTS) and not isinstance(seen, sqlite3.IntegrityError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
