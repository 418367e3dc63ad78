"""A fleet: three `crawler run` processes on one PostgreSQL database against the local news
site, one of them SIGKILLed midway while it holds leased work. Every change is announced
once, no article page is fetched twice within half its re-check interval, the fleet never has
more than `per_host_concurrency` requests in flight to the site's host, and the dead daemon's
leased work is done by the others once its leases expire.

The count in flight covers every request to the site: feed polls, robots.txt, the pages of new
entries and re-checks, whichever daemon makes them (each takes a turn on the host from the
shared store)."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter, defaultdict
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import NewsSite
from crawler.testing.postgres import PgCluster
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.e2e_support import running_daemon, stop_daemon, wait_for
from tests.test_e2e_postgres import use_postgres

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses POSIX signals")

LEASE, RENEW = 3.0, 0.75
INTERVAL = 4.0  # re-check interval (s); half of it is the shortest gap allowed between fetches
PER_HOST = 2
STORIES, EDITED = 12, 6
FAST = '[delivery]\nretry_schedule = ["1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s"]\n'

def owner_of(folder: Path) -> str:
    for line in (folder / "crawler.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("event") == "daemon_started":
            return str(entry["lease_owner"])
    raise AssertionError(f"no daemon_started in {folder}")


def held_by(cluster: PgCluster, database: str, owner: str) -> dict[str, set[object]]:
    """What `owner` holds under lease, by kind."""
    held: dict[str, set[object]] = {}
    for kind, table, key in (("feed", "feeds", "url"), ("article", "articles", "id"),
                             ("delivery", "deliveries", "id")):
        held[kind] = {row[0] for row in cluster.execute(
            database, f"SELECT {key} FROM {table} WHERE lease_owner = '{owner}'")}
    return held


def check_counts(cluster: PgCluster, database: str) -> dict[object, int]:
    """Each article's check count, by id."""
    return {row[0]: int(str(row[1])) for row in cluster.execute(
        database, "SELECT id, check_count FROM articles")}


async def test_three_daemons_share_the_work_and_take_over_a_killed_ones(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str, receiver: Receiver) -> None:
    database = pg_url.rsplit("/", 1)[1]
    site = NewsSite()  # counts the requests in flight
    await site.start()
    try:
        site.page_delay = 0.25  # requests overlap, so that the count in flight means something
        for i in range(STORIES):
            site.add(f"story{i}", f"Story number {i}", f"Lead of story {i} is here today.",
                     [f"Body paragraph of story {i}, with enough words to be an article."])
        feed_url = site.url("/rss.xml")
        async with AsyncExitStack() as stack:
            folders, daemons = [], []
            for n in range(3):
                folder = tmp_path / f"d{n}"
                folder.mkdir()
                config = write_config(folder, [feed_url], webhooks=webhook_table(receiver),
                                      intervals=f'["{INTERVAL:g}s"]', extra=FAST)
                config.write_text(config.read_text().replace(
                    "per_host_concurrency = 4", f"per_host_concurrency = {PER_HOST}"))
                use_postgres(config, pg_url)
                daemons.append(await stack.enter_async_context(
                    running_daemon(config, folder, lease=(LEASE, RENEW))))
                folders.append(folder)

            def received(kind: str) -> int:
                return len({r.headers["webhook-id"] for r in receiver.accepted()
                            if r.json["type"] == kind})

            await wait_for(lambda: received("article.new") == STORIES)
            await wait_for(lambda: all((f / "crawler.jsonl").exists() and
                                       "daemon_started" in (f / "crawler.jsonl").read_text()
                                       for f in folders))
            owners = [owner_of(f) for f in folders]
            for i in range(EDITED):
                site.stories[f"story{i}"].title = f"Story number {i}, updated"

            # Kill a daemon while it holds re-checks under lease (whichever does: the claims
            # of one host tend to go to one daemon at a time).
            held: dict[str, set[object]] = {}
            victim_at = -1

            def a_daemon_holds_a_recheck() -> bool:
                nonlocal held, victim_at
                for n, owner in enumerate(owners):
                    held = held_by(pg_cluster, database, owner)
                    if held["article"]:
                        victim_at = n
                        return True
                return False

            await wait_for(a_daemon_holds_a_recheck, timeout=20)
            victim, victim_owner = daemons[victim_at], owners[victim_at]
            victim.kill()
            await victim.wait()
            killed_at = time.monotonic()
            held = {kind: keys | held_by(pg_cluster, database, victim_owner)[kind]
                    for kind, keys in held.items()}
            pending_at_kill = {str(row[0]) for row in pg_cluster.execute(
                database, "SELECT event_id FROM deliveries WHERE lease_owner = "
                f"'{victim_owner}'")}
            checks_at_kill = check_counts(pg_cluster, database)

            await wait_for(lambda: received("article.edited") == EDITED, timeout=25)
            # Past the dead daemon's leases and a re-check round: its work is done by now.
            await asyncio.sleep(max(0.0, killed_at + LEASE + INTERVAL + 1 - time.monotonic()))
            for n, daemon in enumerate(daemons):
                if n != victim_at:
                    assert await stop_daemon(daemon) == 0

        # Every change announced once: one event per article and version, each received.
        events = pg_cluster.execute(
            database, "SELECT e.id, e.type, e.article_id, e.version FROM events e")
        assert Counter(e[1] for e in events) == {"article.new": STORIES,
                                                 "article.edited": EDITED}
        assert len({(e[2], e[3]) for e in events}) == len(events)
        got = Counter(r.headers["webhook-id"] for r in receiver.accepted())
        assert set(got) == {e[0] for e in events}
        # A delivery sent twice is only one the dead daemon was sending (same event id).
        assert {event_id for event_id, n in got.items() if n > 1} <= pending_at_kill
        assert pg_cluster.execute(
            database, "SELECT count(*) FROM deliveries WHERE status <> 'delivered'") == [(0,)]

        # No page fetched twice within half its re-check interval, by whichever daemon.
        fetches: dict[str, list[float]] = defaultdict(list)
        for at, path in site.request_times:
            if path.startswith("/news/"):
                fetches[path.split("?")[0]].append(at)
        assert len(fetches) == STORIES
        gaps = {path: min((b - a for a, b in itertools.pairwise(times)),
                          default=INTERVAL) for path, times in fetches.items()}
        assert min(gaps.values()) >= INTERVAL / 2, gaps

        # Politeness for the fleet: never more requests in flight to the host than allowed.
        assert 1 <= site.most_in_flight <= PER_HOST
        # The dead daemon's leased work was done by the others; nothing is left leased.
        assert held["article"]
        checks = check_counts(pg_cluster, database)
        assert all(checks[aid] > checks_at_kill[aid] for aid in held["article"])
        for kind in ("feed", "article", "delivery"):
            assert not held_by(pg_cluster, database, victim_owner)[kind]
        assert pg_cluster.execute(
            database, "SELECT count(*) FROM articles WHERE lease_owner IS NOT NULL") == [(0,)]
        # The dead daemon's re-checks were done by another: re-checks by two daemons at least.
        survivors = [f for n, f in enumerate(folders) if n != victim_at]
        checked_by = [sum(json.loads(line).get("event") == "page_checked"
                          for line in (f / "crawler.jsonl").read_text().splitlines())
                      for f in survivors]
        assert any(checked_by)
        assert len(set(owners)) == 3
    finally:
        await site.close()
