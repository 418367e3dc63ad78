"""One crawler of the throughput benchmark as a whole process, measured: ours (`crawler once`
on a SQLite store of its own) or a plain crawler (`benchmarks/plain_crawler.py`), with the
syscall-counting shim preloaded (`benchmarks/syscount.py`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.newsroom import Site
from benchmarks.syscount import read_counts, shim_env
from crawler.store.sqlite_rows import encode_time

REPO = Path(__file__).resolve().parent.parent
PER_HOST = 4
OVERALL = 16
CRAWLERS = ("ours", "trafilatura", "floor")


@dataclass(frozen=True, slots=True)
class Run:
    """One crawler process, measured."""

    wall: float
    cpu: float
    rss_mb: float
    fsyncs: int
    wal_bytes: int
    served: int
    """Page requests the newsroom answered during the run (200 and 304)."""
    not_modified: int
    stored: int
    """Texts stored or changed in the run (ours: versions written; the floor stores none)."""
    fetched: int
    """Pages the crawler says it fetched (ours: the page requests served)."""
    started: float
    ended: float
    """`time.monotonic()` when the process was started and when it had exited."""


@dataclass(frozen=True, slots=True)
class Crawler:
    name: str
    workdir: Path
    feeds: list[str]

    def argv(self) -> list[str]:
        if self.name == "ours":
            return [sys.executable, "-m", "crawler", "once", "--config", str(self.config())]
        db = ["--db", str(self.workdir / "plain.db")] if self.name == "trafilatura" else []
        return [sys.executable, "-m", "benchmarks.plain_crawler", self.name, *self.feeds, *db,
                "--per-host", str(PER_HOST), "--global", str(OVERALL)]

    def config(self) -> Path:
        path = self.workdir / "crawler.toml"
        if not path.exists():
            feeds = "".join(f'[[feeds]]\nurl = "{url}"\ninterval = "10m"\n\n'
                            for url in self.feeds)
            path.write_text(f"""[storage]
database = "{self.workdir / 'crawler.db'}"

[fetch]
timeout = "20s"
per_host_delay = "0s"
per_host_concurrency = {PER_HOST}
global_concurrency = {OVERALL}
allow_private_addresses = true

[recheck]
intervals = ["1h"]
max_age = "7d"

[logging]
level = "info"
format = "json"
file = "{self.workdir / 'crawler.jsonl'}"

{feeds}""", encoding="utf-8")
        return path

    def make_due(self) -> None:
        """Ours: every article due now (at a random moment of the last ten minutes)."""
        if self.name != "ours":
            return
        now = datetime.now(UTC)
        with sqlite3.connect(self.workdir / "crawler.db") as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM articles")]
            conn.executemany("UPDATE articles SET next_check_at = ? WHERE id = ?", [
                (encode_time(now - timedelta(seconds=random.Random(i).uniform(1, 600))), i)
                for i in ids])

    def versions(self) -> int:
        """Ours: the versions stored so far."""
        path = self.workdir / "crawler.db"
        if self.name != "ours" or not path.exists():
            return 0
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT count(*) FROM versions").fetchone()[0])

    def reported(self, stdout: str, versions_before: int) -> tuple[int, int]:
        """(texts stored or changed, pages fetched) in the run; fetched -1: not reported."""
        if self.name == "ours":
            return self.versions() - versions_before, -1
        counts = json.loads(stdout.strip().splitlines()[-1])
        return int(counts["stored"]), int(counts["pages"])


def wait_child(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, Any, int]:
    """Run argv to its end: (wall seconds, its rusage, exit code)."""
    with (cwd / "stdout").open("wb") as out, (cwd / "stderr").open("ab") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage, proc.returncode


async def measure(crawler: Crawler, sites: list[Site], shim: Path,
                  fsync_delay_ms: float = 0.0) -> Run:
    crawler.workdir.mkdir(parents=True, exist_ok=True)
    counts = crawler.workdir / f"syscount-{time.monotonic_ns()}"
    env = dict(os.environ, PYTHONPATH=str(REPO), **shim_env(shim, counts, fsync_delay_ms))
    env.pop("NOTIFY_SOCKET", None)
    before = crawler.versions()
    started = time.monotonic()
    wall, usage, code = await asyncio.to_thread(wait_child, crawler.argv(), crawler.workdir, env)
    ended = time.monotonic()
    if code != 0:
        raise RuntimeError(f"{crawler.name} exited {code}: see {crawler.workdir}/stderr "
                           f"(and crawler.jsonl)")
    pages = [r for site in sites for r in site.page_requests(started)]
    stored, fetched = crawler.reported((crawler.workdir / "stdout").read_text(), before)
    syscalls = read_counts(counts)
    if not syscalls.processes:
        raise RuntimeError(f"{crawler.name}: the counting shim did not report (LD_PRELOAD?)")
    return Run(wall, usage.ru_utime + usage.ru_stime, syscalls.peak_rss_kb / 1024, syscalls.fsyncs,
               syscalls.wal_bytes, len(pages), sum(1 for r in pages if r[2] == 304), stored,
               len(pages) if fetched < 0 else fetched, started, ended)


