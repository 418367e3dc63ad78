"""One daemon per SQLite file, with real `crawler run` processes: a second daemon (or `crawler
once`, or `crawler migrate`) is refused and names the first one's pid, reading commands keep
working beside it, and a daemon killed with SIGKILL does not block the next start."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

from crawler.store.sqlite_lock import DaemonLock, lock_holder, lock_path
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from tests.e2e_support import running_daemon, stop_daemon


async def crawler(config: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CRAWLER_CMD, *args, "--config", str(config), cwd=config.parent, env=subprocess_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def daemon_started(log: Path, count: int, timeout: float = 30.0) -> None:
    """Until the log holds `count` daemon_started lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
            if sum(1 for line in lines if line.get("event") == "daemon_started") >= count:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} daemon_started in {log}")


async def test_second_daemon_refused_first_keeps_running_and_sigkill_frees_the_file(
        tmp_path: Path) -> None:
    # A closed local port: the daemon's polls fail quickly, which is all it needs to do here.
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    log = tmp_path / "crawler.jsonl"
    async with running_daemon(config, tmp_path) as first:
        await daemon_started(log, 1)
        for command in ("run", "once", "migrate"):
            rc, _, err = await crawler(config, command)
            assert rc == 1, (command, err)
            assert f"pid {first.pid}" in err, (command, err)
            assert "one daemon per SQLite file" in err
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert first.returncode is None  # the first one never noticed

        rc, out, err = await crawler(config, "status")
        assert rc == 0, err
        assert "articles tracked: 0" in out
        assert f"daemon: running (pid {first.pid})" in out
        rc, out, _ = await crawler(config, "status", "--json")
        assert json.loads(out)["daemon"] == {"running": True, "pid": first.pid}
        rc, out, _ = await crawler(config, "deliveries")
        assert rc == 0

        first.kill()  # SIGKILL: no chance to clean up
        await first.wait()
    assert lock_path(tmp_path / "crawler.db").read_text().strip() == str(first.pid)
    # The dead daemon's pid is still in the file; status asks the kernel, not the file.
    rc, out, _ = await crawler(config, "status")
    assert rc == 0 and "daemon: not running" in out

    async with running_daemon(config, tmp_path) as again:
        await daemon_started(log, 2)
        assert lock_path(tmp_path / "crawler.db").read_text().strip() == str(again.pid)
        assert await stop_daemon(again) == 0
    assert lock_path(tmp_path / "crawler.db").read_text() == ""


def test_lock_holder_reads_the_kernels_table_not_the_file(tmp_path: Path) -> None:
    database = tmp_path / "crawler.db"
    assert lock_holder(database) is None  # no lock file at all
    lock = DaemonLock(database)
    lock.acquire()
    try:
        assert lock_holder(database) == os.getpid()
        # Another file's lock in the table, or a waiter's line, is not ours.
        table = tmp_path / "locks"
        table.write_text("1: FLOCK  ADVISORY  WRITE 4242 00:00:1 0 EOF\n"
                         "1: -> FLOCK  ADVISORY  WRITE 4343 00:00:1 0 EOF\n")
        assert lock_holder(database, proc_locks=table) is None
    finally:
        lock.release()
    assert lock_holder(database) is None


async def test_a_taken_http_port_is_one_line_and_frees_the_database(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"],
                              extra=f'[http]\nlisten = "127.0.0.1:{port}"\n')
        rc, _, err = await crawler(config, "run")
    assert rc == 1
    assert err.strip() == (f"crawler: cannot listen on 127.0.0.1:{port} ([http] listen): "
                           "address already in use")
    assert lock_holder(tmp_path / "crawler.db") is None  # the lock went with the process
