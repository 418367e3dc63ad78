"""Throughput of a fleet: one `crawler run` against two on one PostgreSQL database, each
daemon on a CPU of its own, and one daemon on PostgreSQL against one on SQLite.

    .venv/bin/python benchmarks/fleet.py            # about 2-4 minutes, 127.0.0.1 only

Each daemon's CPU: with `--cpu-quota CORES` (the default on a machine of fewer than 4 cores,
where it is 0.4) every daemon runs in a control group capped at that fraction of one core
(`benchmarks/cpu_quota.py`), a small machine of its own, so that the database server and the
sites keep the rest; with `--cpu-quota 0` each daemon is pinned to a core (`taskset -c N`),
which is only fair with cores to spare for the server and the sites.

What runs: `--hosts` local news sites, each on its own loopback address (127.0.0.2, ...: a
host of its own for politeness), each with one RSS feed of `--stories` articles of
`--paragraphs` paragraphs; a throwaway PostgreSQL server from Debian's package (as the tests
start it); the daemons as subprocesses, re-checks an hour away so that the
run is the first sight of every article: feed poll, page fetch, extraction, first version
and its event stored. Each scenario starts on an empty database and ends when every article
is stored; its throughput is the articles stored from the first to the last divided by the
time that took (start-up and the first polls' spread left out), and its cost the daemons' CPU
time per article. Scenarios alternate for
`--rounds` rounds, so a machine that slows down in the middle slows every scenario alike;
the median of each is reported, with the two ratios the fleet is held to: two daemons ≥ 1.8×
one, and PostgreSQL ≥ 0.8× SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from aiohttp.test_utils import TestServer  # noqa: E402

from benchmarks import cpu_quota  # noqa: E402
from benchmarks.report import print_table  # noqa: E402
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config  # noqa: E402
from crawler.testing.news_site import NewsSite, Story  # noqa: E402
from crawler.testing.postgres import PgCluster, skip_reason, start_cluster  # noqa: E402

STOP_TIMEOUT = 30.0
WORDS = ["council", "budget", "river", "bridge", "school", "hospital", "election", "minister",
         "storm", "harbour", "railway", "station", "market", "festival", "museum", "police",
         "court", "report", "village", "coast"]


class HostSite(NewsSite):
    """The local news site on a loopback address of its own."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self._pages: dict[str, str] = {}

    def rss(self) -> str:
        # Entries with a summary only (the page is the article), rendered once.
        if not hasattr(self, "_rss"):
            items = "".join(
                f"<item><title>{html.escape(s.title)}</title>"
                f"<link>{self.article_url(s.slug)}</link>"
                f'<guid isPermaLink="false">{self.address}-{s.slug}</guid>'
                f"<description>{html.escape(s.lead)}</description></item>"
                for s in self.stories.values())
            self._rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                         f"<title>Site {self.address}</title><link>{self.base}/</link>"
                         f"<description>News</description>{items}</channel></rss>")
        return self._rss

    def page(self, story: Story) -> str:
        # Rendered once: the daemons' work is measured, not this process's.
        if story.slug not in self._pages:
            self._pages[story.slug] = super().page(story)
        return self._pages[story.slug]

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://{self.address}:{self.server.port}"

    async def start(self) -> HostSite:
        self.server = TestServer(self.app(), host=self.address, port=0)
        await self.server.start_server()
        return self


def paragraph(host: int, story: int, n: int) -> str:
    words = [WORDS[(host * 7 + story * 3 + n + i * i) % len(WORDS)] for i in range(48)]
    return f"Paragraph {n} of story {story} on site {host}: " + " ".join(words) + "."


async def start_sites(hosts: int, stories: int, paragraphs: int) -> list[HostSite]:
    sites = []
    for h in range(hosts):
        site = await HostSite(f"127.0.0.{h + 2}").start()
        for s in range(stories):
            site.add(f"s{s}", f"Story {s} of site {h}", f"The lead of story {s} on site {h}.",
                     [paragraph(h, s, n) for n in range(paragraphs)])
        sites.append(site)
    return sites


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    daemons: int
    postgres: bool


SCENARIOS = (Scenario("SQLite, 1 daemon", 1, False), Scenario("PostgreSQL, 1 daemon", 1, True),
             Scenario("PostgreSQL, 2 daemons", 2, True))


def counter(scenario: Scenario, workdir: Path, url: str | None) -> Callable[[], int]:
    """How many articles the scenario's store holds (read beside the running daemons)."""
    if url is not None:
        def count_pg() -> int:
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute("SELECT count(*) FROM articles").fetchone()
                return int(row[0]) if row else 0
        return count_pg

    path = workdir / "d0" / "crawler.db"

    def count_sqlite() -> int:
        if not path.exists():
            return 0
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0
    return count_sqlite


@dataclass(frozen=True, slots=True)
class Outcome:
    rate: float
    """Articles stored per second, from the first stored to the last."""
    cpu_ms: float
    """The daemons' CPU time (all of it, start-up included) per article."""
    shares: tuple[float, ...] = ()
    """Each daemon's part of that CPU time: how evenly the fleet shared the work."""
    throttled: float = 0.0
    """The part of the run the daemons spent waiting for their CPU quota (0 without one):
    near 1, the quota is what limited them, as meant."""


def cpu_seconds(pid: int) -> float:
    """User and system time of a running process, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_scenario(scenario: Scenario, sites: list[HostSite], cluster: PgCluster | None,
                       root: Path, total: int, quota: float) -> Outcome:
    """`quota`: each daemon's CPU in cores (a control group each), 0 for a pinned core."""
    workdir = Path(tempfile.mkdtemp(prefix="fleet-", dir=root))
    url = None
    if scenario.postgres:
        assert cluster is not None
        url = cluster.url(cluster.new_database())
    feeds = [site.url("/rss.xml") for site in sites]
    procs = []
    groups: list[cpu_quota.CpuQuota] = []
    try:
        for n in range(scenario.daemons):
            folder = workdir / f"d{n}"
            folder.mkdir()
            config = write_config(folder, feeds, intervals='["1h"]')
            text = config.read_text().replace(
                f'database = "{folder / "crawler.db"}"',
                f'url = "{url}"' if url else f'database = "{workdir / "d0" / "crawler.db"}"')
            config.write_text(text.replace('level = "info"', 'level = "warning"'))
            stderr = (folder / "stderr").open("wb")
            pin = [] if quota else ["taskset", "-c", str(n % (os.cpu_count() or 1))]
            procs.append(await asyncio.create_subprocess_exec(
                *pin, *CRAWLER_CMD, "run",
                "--config", str(config), cwd=folder, env=subprocess_env(),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr))
            stderr.close()
            if quota:
                # Moved in before the interpreter has started its threads, which follow it.
                groups.append(cpu_quota.CpuQuota(f"{scenario.daemons}-{n}", quota))
                groups[-1].add(procs[-1].pid)
        started = time.monotonic()
        count = counter(scenario, workdir, url)
        first = done = 0.0
        deadline = time.monotonic() + 600
        while not done:
            stored = await asyncio.to_thread(count)
            now = time.monotonic()
            if stored and not first:
                first = now
            if stored >= total:
                done = now
            elif now > deadline or any(p.returncode is not None for p in procs):
                raise RuntimeError(f"{scenario.name}: {stored} of {total} articles stored "
                                   f"(see {workdir}/d*/stderr)")
            await asyncio.sleep(0.05)
        each = [cpu_seconds(p.pid) for p in procs]
        cpu = sum(each)
        waited = sum(g.throttled_seconds() for g in groups)
        return Outcome(rate=(total - 1) / (done - first), cpu_ms=1000 * cpu / total,
                       shares=tuple(c / cpu for c in each),
                       throttled=waited / (len(procs) * (done - started)) if groups else 0.0)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for group in groups:
            group.close()
        if url is not None and cluster is not None:
            cluster.drop_database(url.rsplit("/", 1)[1])
        shutil.rmtree(workdir, ignore_errors=True)


async def bench(args: argparse.Namespace) -> int:
    reason = skip_reason()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    quota = args.cpu_quota
    if quota is None:
        quota = 0.4 if (os.cpu_count() or 1) < 4 and cpu_quota.available() is None else 0.0
    if quota and (why := cpu_quota.available()) is not None:
        print(f"cannot run with --cpu-quota: {why}", file=sys.stderr)
        return 2
    if not quota and shutil.which("taskset") is None:
        print("cannot run: taskset (util-linux) is missing", file=sys.stderr)
        return 2
    cluster = await asyncio.to_thread(start_cluster)  # it runs a loop of its own
    sites = await start_sites(args.hosts, args.stories, args.paragraphs)
    total = args.hosts * args.stories
    scenarios = [s for s in SCENARIOS if not args.only or args.only.lower() in s.name.lower()]
    results: dict[str, list[Outcome]] = {s.name: [] for s in scenarios}
    try:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as root:
            for round_no in range(args.rounds):
                for scenario in scenarios:
                    got = await run_scenario(scenario, sites, cluster, Path(root), total,
                                             quota)
                    results[scenario.name].append(got)
                    split = "" if len(got.shares) < 2 else " (CPU shares " + ", ".join(
                        f"{share:.0%}" for share in got.shares) + ")"
                    capped = f", throttled {got.throttled:.0%} of the time" if quota else ""
                    print(f"round {round_no + 1}: {scenario.name}: {got.rate:.1f} articles/s,"
                          f" {got.cpu_ms:.2f} ms CPU per article{split}{capped}", flush=True)
    finally:
        for site in sites:
            await site.close()
        cluster.stop()
    median = {name: statistics.median(o.rate for o in got) for name, got in results.items()}
    rows = [(name, f"{rate:.1f} articles/s (" + ", ".join(f"{o.rate:.1f}" for o in results[name])
             + f"), {statistics.median(o.cpu_ms for o in results[name]):.2f} ms CPU/article")
            for name, rate in median.items()]
    if len(median) == len(SCENARIOS):
        two = median["PostgreSQL, 2 daemons"] / median["PostgreSQL, 1 daemon"]
        pg = median["PostgreSQL, 1 daemon"] / median["SQLite, 1 daemon"]
        rows += [("2 daemons / 1 (PostgreSQL)", f"{two:.2f}x (target >= 1.8)"),
                 ("PostgreSQL / SQLite (1 daemon)", f"{pg:.2f}x (target >= 0.8)")]
    each = f"each daemon capped at {quota:g} core" if quota else "each daemon on its own core"
    print_table(f"First sight of {total} articles on {args.hosts} hosts, {each}, "
                f"{os.cpu_count()} cores, median of {args.rounds} rounds", rows)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=16)
    parser.add_argument("--stories", type=int, default=100, help="articles per host")
    parser.add_argument("--paragraphs", type=int, default=120, help="paragraphs per article")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="run the scenarios whose name has this")
    parser.add_argument("--cpu-quota", type=float, default=None, metavar="CORES",
                        help="each daemon's CPU, in cores (a control group each); 0 pins each "
                             "to a core instead (default: 0.4 below 4 cores, else 0)")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
