"""A throwaway PostgreSQL server for the tests and the benchmarks: Debian's `postgresql`
package, one cluster per test session in a temporary folder, one fresh database per test (the
pytest fixtures are `pg_cluster` and `pg_url`, in tests/conftest.py).

The cluster runs as the `postgres` user when the tests run as root (CI does; initdb refuses
root), on a unix socket in its folder and a free 127.0.0.1 port, with durability off (fsync,
synchronous_commit, full_page_writes): a test database is thrown away anyway. The crawler's
schema is migrated once into a template database; each test gets
`CREATE DATABASE test_N TEMPLATE tmpl` (a file copy, tens of milliseconds) and it is dropped
after the test.

Without PostgreSQL binaries the tests that need them are skipped, saying so; `.ci/run`
installs the package where it is missing, so on CI they always run.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import pwd
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

TEMPLATE = "tmpl"
SUPERUSER = "postgres"


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL's binaries (`$CRAWLER_TEST_PG_BINDIR` first)."""
    forced = os.environ.get("CRAWLER_TEST_PG_BINDIR")
    if forced:
        return Path(forced) if (Path(forced) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


def skip_reason() -> str | None:
    """Why the PostgreSQL tests cannot run here; None when they can."""
    if find_bindir() is None:
        return ("no PostgreSQL binaries (/usr/lib/postgresql/*/bin/initdb): install Debian's"
                " `postgresql` package (.ci/run does)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running server; `new_database()` / `drop_database()` per test."""

    bindir: Path
    root: Path
    port: int = 0
    started_in: float = 0.0
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _admin: psycopg.Connection[tuple[object, ...]] | None = None
    _drops: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _dropper: threading.Thread | None = None

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, database: str) -> str:
        """A libpq URL to `database` over TCP (what a config's `[storage] url` holds)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        data, log = self.root / "data", self.root / "server.log"
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam(SUPERUSER)
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        self.port = _free_port()
        options = " ".join([
            f"-p {self.port}", "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.socket_dir}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=200", "-c shared_buffers=32MB", "-c log_min_messages=warning",
        ])
        self._run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30",
                  "start")
        self._admin = psycopg.connect(self.url("postgres"), autocommit=True)

    def make_template(self) -> None:
        """The template every test database copies: the crawler's schema, migrated once."""
        from crawler.store.postgres import PostgresStore

        assert self._admin is not None
        self._admin.execute(f"CREATE DATABASE {TEMPLATE}")
        asyncio.run(PostgresStore(self.url(TEMPLATE)).migrate())

    def new_database(self, *, template: str = TEMPLATE) -> str:
        """A fresh database's name: a copy of `template` (`template0` for an empty one)."""
        assert self._admin is not None
        name = f"test_{next(self._counter)}"
        self._admin.execute(
            f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        """Drop `name` in the background: the server takes ~0.1 s to let the sessions of a
        store just closed go, and no test needs to wait for that."""
        if self._dropper is None:
            self._dropper = threading.Thread(target=self._drop_loop, name="pg-drop",
                                             daemon=True)
            self._dropper.start()
        self._drops.put(name)

    def _drop_loop(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            while (name := self._drops.get()) is not None:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())

    def execute(self, database: str, sql: str) -> list[tuple[object, ...]]:
        """Run one statement as the superuser in `database` (outside the store, for tests)."""
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cur = conn.execute(sql.encode())
            return list(cur.fetchall()) if cur.description else []

    def stop(self) -> None:
        if self._dropper is not None:
            self._drops.put(None)
            self._dropper.join(timeout=30)
            self._dropper = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if (self.root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w",
                          "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PgCluster:
    """initdb, start, template. Raises when any of it fails (the server log is kept in the
    message)."""
    bindir = find_bindir()
    assert bindir is not None
    cluster = PgCluster(bindir, Path(tempfile.mkdtemp(prefix="crawler-pg-")))
    began = time.monotonic()
    try:
        cluster.start()
        cluster.make_template()
    except BaseException as exc:
        log = cluster.root / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        stderr = getattr(exc, "stderr", b"") or b""
        cluster.stop()
        raise RuntimeError(f"the test PostgreSQL did not start: {exc}\n"
                           f"{stderr.decode(errors='replace')}\n{detail}") from exc
    cluster.started_in = time.monotonic() - began
    return cluster
