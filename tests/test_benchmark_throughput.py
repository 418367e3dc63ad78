"""The throughput benchmark's pieces on a tiny newsroom, so that it cannot rot: every crawler
runs its cold and warm passes as a whole process under the counting shim, and what the
benchmark reports adds up. No figure of speed is asserted."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks.newsroom import Site, start_newsroom
from benchmarks.syscount import build_shim, missing_compiler, read_counts, shim_env
from benchmarks.throughput import (
    compare,
    comparison_rows,
    fsync_delay,
    fsync_rows,
    slow_host,
    slow_rows,
    target_rows,
)

pytestmark = pytest.mark.skipif(missing_compiler() is not None,
                                reason=missing_compiler() or "")

PAGES = 5


@pytest.fixture
async def newsroom() -> AsyncIterator[list[Site]]:
    """Two sites of 3 and 2 pages, and a slow one of 2 pages answering after 50 ms."""
    sites = await start_newsroom(2, PAGES, slow_pages=2, slow_delay=0.05)
    try:
        yield sites
    finally:
        for site in sites:
            await site.close()


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    return build_shim(tmp_path)


async def test_every_crawler_reads_every_page_cold_then_warm(
        newsroom: list[Site], shim: Path, tmp_path: Path) -> None:
    sites = newsroom[:-1]
    results = await compare(sites, shim, tmp_path, rounds=1)
    ours, traf, floor = (results[name][0] for name in ("ours", "trafilatura", "floor"))
    for passes in (ours, traf, floor):
        for run in (passes.cold, passes.warm, passes.again):
            assert run.fetched == run.served == PAGES
            assert run.cpu > 0 and run.rss_mb > 10
    assert ours.cold.stored == traf.cold.stored == PAGES  # every article new
    assert ours.warm.stored == traf.warm.stored == 0  # the pages did not change
    assert floor.cold.stored == floor.cold.fsyncs == floor.cold.wal_bytes == 0
    for run in (ours.cold, traf.cold):
        assert run.fsyncs > 0 and run.wal_bytes > 0
    assert ours.empty.served == ours.empty.fetched == 0
    assert traf.warm.not_modified == 0  # the plain crawlers never send validators
    # Ours sends its feeds' validators back: each feed answered 304 on both warm passes...
    feed_answers = [r[2] for site in sites for r in site.requests if r[1] == "/rss.xml"]
    assert feed_answers.count(304) == 2 * len(sites)
    # ... and its pages' on the second: the first re-check stored them (a full read).
    assert (ours.warm.not_modified, ours.again.not_modified) == (0, PAGES)
    assert traf.again.not_modified == 0
    rows = comparison_rows(results)
    assert all(len(row) == 4 for row in rows)
    assert len(target_rows(results, PAGES)) >= 6


async def test_validators_answer_conditional_requests(newsroom: list[Site]) -> None:
    site = newsroom[0]
    url = f"{site.base}/news/story-0.html"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as first:
            body, etag = await first.read(), first.headers["ETag"]
            modified = first.headers["Last-Modified"]
        async with session.get(url, headers={"If-None-Match": etag}) as again:
            assert again.status == 304
        async with session.get(url, headers={"If-Modified-Since": modified}) as since:
            assert since.status == 304
        async with session.get(url, headers={"If-None-Match": '"other"'}) as changed:
            assert changed.status == 200 and await changed.read() == body
    assert len(body) > 120_000  # a heavy page
    site.validators = False
    async with aiohttp.ClientSession() as session, \
            session.get(url, headers={"If-None-Match": etag}) as plain:
        assert plain.status == 200 and "ETag" not in plain.headers


async def test_slow_host_and_fsync_delay_modes_report(newsroom: list[Site], shim: Path,
                                                      tmp_path: Path) -> None:
    found = await slow_host(newsroom, shim, tmp_path, rounds=1)
    assert set(found) == {(kind, slow) for kind in ("cold", "warm") for slow in (False, True)}
    assert all(value[0] > 0 for value in found.values())
    assert len(slow_rows(found)) == 2
    runs = await fsync_delay(newsroom[:-1], shim, tmp_path, 1.0, rounds=1,
                             names=("trafilatura",))
    native, slow = runs[("trafilatura", 0.0)][0], runs[("trafilatura", 1.0)][0]
    assert native.fsyncs > 0 and slow.fsyncs > 0
    assert fsync_rows(runs, 1.0)[0][0] == "trafilatura"


def test_shim_counts_fsyncs_and_wal_bytes_of_a_child(shim: Path, tmp_path: Path) -> None:
    out = tmp_path / "counts"
    script = ("import sqlite3, sys\n"
              "conn = sqlite3.connect(sys.argv[1])\n"
              "conn.execute('PRAGMA journal_mode=WAL')\n"
              "conn.execute('PRAGMA synchronous=FULL')\n"
              "conn.execute('CREATE TABLE t (x)')\n"
              "for _ in range(3):\n"
              "    with conn:\n"
              "        conn.execute('INSERT INTO t VALUES (?)', ('x' * 10000,))\n")
    env = dict(os.environ, **shim_env(shim, out))
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "t.db")], env=env, check=True)
    counts = read_counts(out)
    assert counts.processes == 1
    assert counts.fsyncs >= 4  # the table and three commits, synchronous=FULL
    assert counts.wal_bytes >= 3 * 10_000
    assert counts.peak_rss_kb > 1000
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 3
