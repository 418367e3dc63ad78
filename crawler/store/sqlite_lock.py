"""One daemon per SQLite file: an exclusive `flock` on `<database>.lock` beside it.

SQLite itself would let several daemons write one file side by side, each fetching and
announcing the same work (measured: half the page fetches doubled, every edit announced up
to three times). The lock file holds the pid of the process that has it, so the one refused
can say who holds it. The kernel drops the lock when the holder's file is closed, which includes
every way a process can die: a lock file left behind by a SIGKILLed daemon stops nobody.
Reading commands never take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from crawler.store.base import StoreLockedError


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DaemonLock:
    """`acquire()` or raise `StoreLockedError`; `release()` (idempotent) when done."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._path = lock_path(database)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting. Raises `StoreLockedError` naming the holder's pid
        when another process has it, OSError when the lock file cannot be opened."""
        if self._fd is not None:
            return
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder is not None else "another process"
            raise StoreLockedError(
                f"database {self._database} is in use by another crawler daemon ({who}, lock"
                f" file {self._path}): one daemon per SQLite file; stop it first, or use a"
                " PostgreSQL [storage] url for several daemons",
                holder,
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        # Emptied while still held, so a reader never sees our pid once we are gone.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock


def lock_holder(database: Path, *, proc_locks: Path = Path("/proc/locks")) -> int | None:
    """The pid of the process holding `database`'s daemon lock, None when nobody holds it.

    Read from the kernel's lock table, never by trying the lock: even a moment's shared lock
    taken by `crawler status` would refuse a daemon starting in that moment. The pid written
    in the lock file is not enough on its own: a SIGKILLed daemon leaves it behind."""
    try:
        info = os.stat(lock_path(database))
        table = proc_locks.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    for line in table.splitlines():
        # "12: FLOCK  ADVISORY  WRITE 4242 fe:00:2205234 0 EOF"; waiters show "-> FLOCK".
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[3] != "WRITE":
            continue
        if fields[5] == wanted and fields[4].isdigit():
            return int(fields[4])
    return None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
