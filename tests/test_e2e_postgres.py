"""The command line on a PostgreSQL store: `crawler migrate` on an empty database, `crawler once`
against the local news site announcing the same events as on SQLite, the reading commands
(`history`, `diff`, `status`, `deliveries`) on what it stored, and `crawler run` until
SIGTERM."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

from crawler.store.migrations import MIGRATIONS
from crawler.testing import news_site
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.postgres import PgCluster
from crawler.testing.webhook_receiver import Receiver, start_receiver, webhook_table
from tests.e2e_support import running_daemon, stop_daemon, wait_for
from tests.systemd_support import collect
from tests.test_daemon_ops import _free_port, _get
from tests.test_e2e_daemon import crawler

PARAS = news_site.PARAS[:2]
RAIL = ["The agreement came after talks that lasted through the night.",
        "Trains will run to the normal timetable from Friday morning."]


def use_postgres(config: Path, url: str) -> None:
    text = config.read_text()
    start = text.index("database = ")
    end = text.index("\n", start)
    config.write_text(text[:start] + f'url = "{url}"' + text[end:])


def summary(body: dict[str, Any]) -> tuple[Any, ...]:
    data = body["data"]
    return (body["type"], data["article"]["title"], data.get("version"),
            data.get("previous_version"), data.get("content_hash"), data.get("status"),
            data.get("diff"))


async def scenario(folder: Path, url: str | None) -> tuple[list[tuple[Any, ...]], str, str]:
    """Two stories; a pass; one edited and one taken down; a pass. The events received (in
    a comparable form), and what `history` and (on PostgreSQL) `status` printed."""
    folder.mkdir()
    site = await NewsSite().start()
    try:
        async with start_receiver() as receiver:
            storm = site.add("storm", "Storm hits coast", LEAD, PARAS)
            rail = site.add("rail", "Rail strike called off", "Unions called off the strike.",
                            RAIL)
            # One 404 announces the deletion here: both passes compare one check each.
            config = write_config(folder, [site.url("/rss.xml")],
                                  webhooks=webhook_table(receiver), intervals='["1s"]',
                                  recheck='delete_checks = 1\nmax_age = "7d"')
            if url is not None:
                use_postgres(config, url)
            code, _, err = await crawler("once", "--config", str(config), cwd=folder)
            assert code == 0, err
            storm.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
            rail.status = 404
            await asyncio.sleep(1.1)  # the first re-check is due after 1 s
            code, _, err = await crawler("once", "--config", str(config), cwd=folder)
            assert code == 0, err
            events = sorted((summary(r.json) for r in receiver.accepted()), key=repr)
            assert all(r.verified for r in receiver.requests)
            code, history, err = await crawler("history", site.article_url("storm"),
                                               "--config", str(config), cwd=folder)
            assert code == 0, err
            if url is None:  # SQLite's reading commands have tests of their own
                return events, history, ""
            code, diff, err = await crawler("diff", site.article_url("storm"), "--config",
                                            str(config), cwd=folder)
            assert code == 0, err
            assert "-Twelve homes" in diff and "+Twenty homes" in diff
            code, status, err = await crawler("status", "--config", str(config), cwd=folder)
            assert code == 0, err
            code, _, err = await crawler("deliveries", "--config", str(config),
                                         cwd=folder)
            assert code == 0, err
            return events, history, status
    finally:
        await site.close()


async def test_once_on_postgresql_announces_what_sqlite_announces(
        tmp_path: Path, pg_url: str) -> None:
    on_sqlite, sqlite_history, _ = await scenario(tmp_path / "sqlite", None)
    on_postgres, pg_history, pg_status = await scenario(tmp_path / "postgresql", pg_url)
    assert [e[0] for e in on_postgres] == sorted(
        ["article.new", "article.new", "article.edited", "article.deleted"])
    assert on_postgres == on_sqlite
    # same versions, numbers and hashes (the times differ)
    assert ([line.split("\t")[::2] for line in pg_history.splitlines()]
            == [line.split("\t")[::2] for line in sqlite_history.splitlines()])
    assert "articles tracked: 2, versions stored: 3" in pg_status
    assert "PostgreSQL database postgresql://postgres@127.0.0.1" in pg_status


async def test_migrate_prepares_an_empty_postgresql_database(
        tmp_path: Path, pg_cluster: PgCluster) -> None:
    database = pg_cluster.new_database(template="template0")
    try:
        config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
        use_postgres(config, pg_cluster.url(database))
        code, _, err = await crawler("status", "--config", str(config), cwd=tmp_path)
        assert code == 1 and "no crawler schema" in err and "crawler migrate" in err
        code, out, err = await crawler("migrate", "--config", str(config), cwd=tmp_path)
        assert code == 0, err
        assert f"schema version {len(MIGRATIONS)} (migrated from 0)" in out
        code, out, err = await crawler("migrate", "--config", str(config), cwd=tmp_path)
        assert code == 0, err
        assert f"schema version {len(MIGRATIONS)}, up to date" in out
        code, out, err = await crawler("status", "--config", str(config), cwd=tmp_path)
        assert code == 0, err
        assert "articles tracked: 0" in out
        code, _, err = await crawler("backup", str(tmp_path / "copy"), "--config", str(config),
                                     cwd=tmp_path)
        assert code == 1 and "pg_dump" in err
        pg_cluster.execute(database, "UPDATE crawler_schema SET version = version + 1")
        code, _, err = await crawler("status", "--config", str(config), cwd=tmp_path)
        assert code == 2 and "newer than this crawler's" in err
    finally:
        pg_cluster.drop_database(database)


async def test_daemon_on_postgresql_announces_an_edit_and_stops_cleanly(
        tmp_path: Path, pg_url: str, site: NewsSite, receiver: Receiver) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["1s"]')
    use_postgres(config, pg_url)
    async with running_daemon(config, tmp_path) as daemon:
        await wait_for(lambda: len(receiver.accepted()) == 1)
        story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
        await wait_for(lambda: len(receiver.accepted()) == 2)
        assert await stop_daemon(daemon) == 0
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new", "article.edited"]
    assert receiver.accepted()[1].json["data"]["version"] == 2


async def test_daemon_rides_out_a_database_outage_and_says_so(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str, site: NewsSite,
        receiver: Receiver, notify_socket: tuple[socket.socket, str]) -> None:
    """A server outage is not mended by a restart: the watchdog keeps being pinged, /healthz
    answers 503 naming the database, and once the server answers again the work goes on."""
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    database = pg_url.rsplit("/", 1)[1]
    sock, path = notify_socket
    port = _free_port()
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["1s"]', extra=f'[http]\nlisten = "127.0.0.1:{port}"\n')
    use_postgres(config, pg_url)
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        async with running_daemon(config, tmp_path, NOTIFY_SOCKET=path,
                                  WATCHDOG_USEC="400000") as daemon:
            await collect(sock, "READY=1")
            await wait_for(lambda: len(receiver.accepted()) == 1)
            pg_cluster.execute("postgres",
                               f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            pg_cluster.execute("postgres", "SELECT pg_terminate_backend(pid) FROM"
                               f" pg_stat_activity WHERE datname = '{database}'")
            deadline = time.monotonic() + 20
            while (await _get(healthz))[0] != 503:
                assert time.monotonic() < deadline, "/healthz never saw the outage"
                await asyncio.sleep(0.1)
            status, body = await _get(healthz)
            assert status == 503 and '"database": false' in body.replace("\n", " ")
            # Pings go on through the outage (0.2 s apart; 2 s of them).
            outage_began = time.monotonic()
            pings: list[str] = []
            while time.monotonic() - outage_began < 2.0:
                pings += await collect(sock, "WATCHDOG=1")
            assert pings.count("WATCHDOG=1") >= 5
            assert (await _get(healthz))[0] == 503
            pg_cluster.execute("postgres",
                               f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
            story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
            await wait_for(lambda: len(receiver.accepted()) == 2, timeout=30)
            assert (await _get(healthz))[0] == 200
            assert daemon.returncode is None
            assert await stop_daemon(daemon) == 0
    finally:
        pg_cluster.execute("postgres", f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert receiver.accepted()[1].json["type"] == "article.edited"
