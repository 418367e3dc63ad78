"""The reading commands as an operator runs them: `python -m crawler` subprocesses on a
database the daemon's own pass filled from the local news site. They need only `[storage]`
(no webhook secret in the shell), find an article by id or any form of its URL, list
articles and changes, print tables, tab-separated rows or JSON, and never print a page's
control codes."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.config import load_config
from crawler.store.migrations import MIGRATIONS
from crawler.store.sqlite import SQLiteStore
from crawler.testing import news_site
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver
from crawler.textnorm import make_content
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.store_backends import T0, SQLiteBackend, event
from tests.test_diff_command import HOSTILE_TITLE, on_terminal, stored
from tests.test_e2e_postgres import use_postgres

PARAS = news_site.PARAS[:2]
HOUR = 3600.0
SLUG = "国际-北约峰会"
ENCODED_SLUG = "%E5%9B%BD%E9%99%85-%E5%8C%97%E7%BA%A6%E5%B3%B0%E4%BC%9A"
SECRET_KEYS = ("WEBHOOK_SECRET", "SLACK_APPRISE_URL")
TOKEN = "s3cret-t0ken"
HOOKS = """
[[webhooks]]
url = "{url}"
secret = "${{WEBHOOK_SECRET}}"

[[notify]]
url = "${{SLACK_APPRISE_URL}}"
events = ["article.edited"]
"""


async def crawler(config: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """`python -m crawler ARGS --config CONFIG` with none of the daemon's secrets in its
    environment (plus `env`), without blocking the loop the local servers run in."""
    environment = subprocess_env(**env)
    for key in SECRET_KEYS:
        if key not in env:
            environment.pop(key, None)
    proc = await asyncio.create_subprocess_exec(
        *CRAWLER_CMD, *args, "--config", str(config), cwd=config.parent, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def json_lines(out: str) -> list[Any]:
    return [json.loads(line) for line in out.splitlines()]


def tsv(out: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = [line.split("\t") for line in out.splitlines()]
    return header, rows


async def tracked_site(tmp_path: Path, site: NewsSite, receiver: Receiver,
                       clock: FakeClock, *, postgres: str | None = None) -> Path:
    """Three passes of the daemon: a storm story and a CJK one (its URL percent-encoded in
    the feed) are new, the storm story is edited, then the CJK page answers 404 until the
    deletion is confirmed. The config names its secrets by `${VAR}`; `postgres`: the
    database URL to store in instead of SQLite."""
    storm = site.add("storm", "Storm hits coast", LEAD, PARAS)
    cjk = site.add(SLUG, "北约峰会在布鲁塞尔举行", "北约峰会周二在布鲁塞尔的北约总部举行。",
                   ["各国领导人将讨论乌克兰局势以及对俄罗斯的制裁问题。"])
    cjk.path_slug = ENCODED_SLUG
    config = write_config(tmp_path, [site.url("/rss.xml")],
                          webhooks=HOOKS.format(url=receiver.url))
    if postgres is not None:
        use_postgres(config, postgres)
    settings = load_config(config, env={"WEBHOOK_SECRET": receiver.secrets[0],
                                        "SLACK_APPRISE_URL": "json://127.0.0.1:9/notify"})
    await run_pass(settings, clock)
    storm.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    cjk.status = 404
    for _ in range(3):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    return config


@pytest.fixture
def clock() -> FakeClock:
    # Two days back: `changes --since` is measured from the real now.
    return FakeClock(datetime.now(UTC) - timedelta(days=2))


async def test_reading_commands_need_only_storage_and_delivering_ones_name_the_key(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    config = await tracked_site(tmp_path, site, receiver, clock)
    storm = site.article_url("storm")
    for args in (["history", storm], ["diff", storm], ["show", storm], ["articles"],
                 ["changes"], ["status"], ["deliveries"], ["history", storm, "--json"],
                 ["status", "--json"], ["deliveries", "--json"], ["migrate"],
                 ["backup", str(tmp_path / "copy.db")]):
        code, out, err = await crawler(config, *args)
        assert code == 0, (args, err)
        assert out, args
    for args in (["once"], ["webhooks", "test"], ["deliveries", "replay", "--failed"]):
        code, out, err = await crawler(config, *args)
        assert code == 2, args
        assert "webhooks[0].secret: environment variable WEBHOOK_SECRET is not set" in err
        assert "notify[0].url: environment variable SLACK_APPRISE_URL is not set" in err


async def test_an_article_is_named_by_id_or_any_form_of_a_url_leading_to_it(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    config = await tracked_site(tmp_path, site, receiver, clock)
    encoded = site.article_url(SLUG)
    assert ENCODED_SLUG in encoded
    code, out, err = await crawler(config, "history", encoded, "--json")
    assert code == 0, err
    article = json.loads(out)["article"]
    assert article["canonical_url"] == encoded
    iri = site.url(f"/news/{SLUG}.html")
    for ref in (str(article["id"]), iri, iri + "?utm_source=rss&utm_medium=feed#top",
                encoded.lower().replace("/news/", "/news/"), encoded + "?fbclid=abc"):
        for command in ("history", "show"):
            code, out, err = await crawler(config, command, ref, "--json")
            assert code == 0, (command, ref, err)
            assert json.loads(out)["article"]["id"] == article["id"], (command, ref)
    code, out, err = await crawler(config, "show", iri)
    assert code == 0 and out.startswith("北约峰会在布鲁塞尔举行\n\n"), err
    storm = await crawler(config, "history", site.article_url("storm"), "--json")
    storm_id = json.loads(storm[1])["article"]["id"]
    code, out, err = await crawler(config, "diff", str(storm_id))
    assert code == 0 and "-Twelve homes" in out and "+Twenty homes" in out, err
    code, out, _ = await crawler(config, "diff", str(storm_id), "--json")
    assert json.loads(out)["changes"]["chars_added"] == 6
    for unknown in ("999", site.url("/news/nothing.html"), "news.example/a"):
        code, _, err = await crawler(config, "history", unknown)
        assert code == 1 and f"no article known for {unknown}" in err


async def test_history_lists_versions_the_deletion_and_the_restoration_in_time_order(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    config = await tracked_site(tmp_path, site, receiver, clock)
    code, out, err = await crawler(config, "history", site.article_url(SLUG))
    assert code == 0, err
    header, rows = tsv(out)
    assert header == ["version", "time", "content_hash", "title", "event"]
    assert [(r[0], r[4]) for r in rows] == [
        ("1", "article.new"), ("-", "article.deleted: page answered 404")]
    assert rows[0][1] < rows[1][1]
    code, out, _ = await crawler(config, "history", site.article_url(SLUG), "--json")
    document = json.loads(out)
    assert [v["version"] for v in document["versions"]] == [1]
    assert [e["type"] for e in document["events"]] == ["article.new", "article.deleted"]
    assert document["events"][1]["summary"] == "page answered 404"

    # The page comes back with a corrected text: a restoration, stored with version 2.
    site.stories[SLUG].status = 200
    site.stories[SLUG].paragraphs.append("峰会将于周三结束。")
    settings = load_config(config, env={"WEBHOOK_SECRET": receiver.secrets[0],
                                        "SLACK_APPRISE_URL": "json://127.0.0.1:9/notify"})
    for _ in range(3):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    code, out, err = await crawler(config, "history", site.article_url(SLUG))
    assert code == 0, err
    rows = tsv(out)[1]
    assert [(r[0], r[4].split(", text changed")[0]) for r in rows] == [
        ("1", "article.new"), ("-", "article.deleted: page answered 404"),
        ("2", "article.restored: page back (it answered 404)")]
    assert "+9 -0 characters" in rows[2][4]
    code, out, _ = await crawler(config, "changes", "--type", "restored", "--json")
    [restored] = json_lines(out)
    assert restored["version"] == 2 and restored["summary"].startswith(
        "page back (it answered 404), text changed: ")


async def test_articles_are_listed_filtered_and_printed_as_rows_or_json(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    config = await tracked_site(tmp_path, site, receiver, clock)
    code, out, err = await crawler(config, "articles")
    assert code == 0, err
    header, rows = tsv(out)
    assert header == ["id", "canonical_url", "title", "versions", "last_change", "state"]
    by_title = {r[2]: r for r in rows}
    assert by_title["Storm hits coast"][3:6:2] == ["2", "tracking"]
    assert by_title["北约峰会在布鲁塞尔举行"][5] == "deleted"
    code, out, _ = await crawler(config, "articles", "--json")
    listed = json_lines(out)
    assert {a["title"] for a in listed} == set(by_title)
    storm = next(a for a in listed if a["title"] == "Storm hits coast")
    assert storm["versions"] == 2 and storm["state"] == "tracking"
    assert storm["canonical_url"] == site.article_url("storm")
    assert storm["feed_url"] == site.url("/rss.xml")
    assert storm["last_change"] > storm["first_seen"]
    code, out, _ = await crawler(config, "articles", "--search", "STORM", "--json")
    assert [a["title"] for a in json_lines(out)] == ["Storm hits coast"]
    code, out, _ = await crawler(config, "articles", "--search", "峰会", "--json")
    assert [a["title"] for a in json_lines(out)] == ["北约峰会在布鲁塞尔举行"]
    code, out, _ = await crawler(config, "articles", "--feed", site.url("/other.xml"), "--json")
    assert (code, out) == (0, "")
    code, out, _ = await crawler(config, "articles", "--limit", "1", "--json")
    assert len(json_lines(out)) == 1
    code, _, err = await crawler(config, "articles", "--limit", "0")
    assert code == 2 and "must be 1 or more" in err


async def test_changes_are_newest_first_with_type_since_feed_and_limit(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    config = await tracked_site(tmp_path, site, receiver, clock)
    code, out, err = await crawler(config, "changes", "--json")
    assert code == 0, err
    changes = json_lines(out)
    assert [c["type"] for c in changes] == [
        "article.deleted", "article.edited", "article.new", "article.new"]
    times = [c["time"] for c in changes]
    assert times == sorted(times, reverse=True)
    edited = changes[1]
    assert edited["article"]["title"] == "Storm hits coast" and edited["version"] == 2
    assert edited["changes"]["chars_added"] == 6 and "+6 -6 characters" in edited["summary"]
    assert {receiver_event["webhook-id"] for receiver_event in
            (r.headers for r in receiver.accepted())} >= {c["event_id"] for c in changes}
    code, out, _ = await crawler(config, "changes", "--type", "edited", "--json")
    assert [c["type"] for c in json_lines(out)] == ["article.edited"]
    code, out, _ = await crawler(config, "changes", "--type", "article.new", "--limit", "1",
                                 "--json")
    assert [c["type"] for c in json_lines(out)] == ["article.new"]
    code, out, _ = await crawler(config, "changes", "--feed", site.url("/rss.xml"), "--json")
    assert len(json_lines(out)) == 4
    # Everything happened two days ago, the confirmed deletion last: move it to now.
    with sqlite3.connect(tmp_path / "crawler.db") as db:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        db.execute("UPDATE events SET created_at = ? WHERE type = 'article.deleted'", (now,))
    code, out, _ = await crawler(config, "changes", "--since", "1h", "--json")
    assert [c["type"] for c in json_lines(out)] == ["article.deleted"]
    code, out, _ = await crawler(config, "changes")
    header, rows = tsv(out)
    assert header == ["time", "type", "article", "title", "summary"]
    assert rows[0][1:] == [
        "article.deleted", str(changes[0]["article"]["id"]), "北约峰会在布鲁塞尔举行",
        "page answered 404"]
    code, _, err = await crawler(config, "changes", "--since", "yesterday")
    assert code == 2 and "--since" in err


def test_lists_never_print_a_pages_control_codes(tmp_path: Path) -> None:
    config = stored(tmp_path, [(HOSTILE_TITLE, "Calm \x1b[31mtext."),
                               (HOSTILE_TITLE + "!", "Calm \x1b[31mtext, again.")])
    for args in (["articles"], ["changes"], ["articles", "--json"], ["changes", "--json"],
                 ["history", "1", "--json"], ["show", "1", "--json"]):
        out = asyncio.run(crawler(config, *args))[1]
        assert "pwned" in out, args
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out, args
    for args in (["articles"], ["changes"], ["history", "1"]):
        shown = on_terminal(config, *args)
        assert "\\x1b]0;pwned" in shown and "\x1b]0;" not in shown, args
        assert "\x1b[2J" not in shown and "\x9b" not in shown, args
    # A headline that looks like rich markup is printed as it is, not styled.
    (tmp_path / "markup").mkdir()
    config = stored(tmp_path / "markup", [("[bold red]Loud[/] headline", "Text.")])
    assert "[bold red]Loud[/] headline" in on_terminal(config, "articles")


def test_reading_commands_never_migrate_an_older_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    SQLiteBackend(tmp_path).at_schema(len(MIGRATIONS) - 1)  # before the newest
    before = (tmp_path / "crawler.db").stat().st_mtime_ns
    for args in (["articles"], ["changes"], ["history", "1"]):
        code, _, err = asyncio.run(crawler(config, *args))
        assert code == 2 and "run `crawler migrate`" in err, args
    assert (tmp_path / "crawler.db").stat().st_mtime_ns == before
    assert not os.path.exists(tmp_path / "crawler.db-wal") or \
        (tmp_path / "crawler.db-wal").stat().st_size == 0


def test_before_the_first_run_the_lists_are_empty_and_no_article_is_known(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"])
    for args in (["articles"], ["changes", "--json"]):
        code, out, err = asyncio.run(crawler(config, *args))
        assert (code, out) == (0, ""), args
        assert "no database" in err
    code, _, err = asyncio.run(crawler(config, "history", "1"))
    assert code == 1 and "no database" in err
    assert not (tmp_path / "crawler.db").exists()


async def test_the_reading_commands_read_a_postgresql_store_alike(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        pg_url: str) -> None:
    config = await tracked_site(tmp_path, site, receiver, clock, postgres=pg_url)
    assert not (tmp_path / "crawler.db").exists()
    code, out, err = await crawler(config, "changes", "--json")
    assert code == 0, err
    assert [c["type"] for c in json_lines(out)] == [
        "article.deleted", "article.edited", "article.new", "article.new"]
    code, out, _ = await crawler(config, "articles", "--search", "storm", "--json")
    [storm] = json_lines(out)
    assert storm["versions"] == 2 and storm["state"] == "tracking"
    code, out, err = await crawler(config, "history", site.url(f"/news/{SLUG}.html"))
    assert code == 0, err
    assert [(r[0], r[4]) for r in tsv(out)[1]] == [
        ("1", "article.new"), ("-", "article.deleted: page answered 404")]
    code, out, _ = await crawler(config, "show", str(storm["id"]), "--json")
    assert json.loads(out)["title"] == "Storm hits coast" and json.loads(out)["version"] == 2


async def _private_article(db: Path) -> None:
    store = SQLiteStore(db)
    await store.migrate()
    await store.open()
    try:
        article = await store.create_article(
            extractor_version=1, canonical_url=f"https://news.example/a/1?token={TOKEN}",
            url=f"https://news.example/a/1?token={TOKEN}&utm_source=rss",
            feed_url=f"https://news.example/rss?api_key={TOKEN}",
            content=make_content("Storm hits coast", "Twelve homes."),
            event=event(endpoints=()), seen_at=T0, next_check_at=None)
        await store.add_version(article.article_id, content=make_content(
            "Storm hits coast", "Twenty homes."), event=None, fetched_at=T0 + timedelta(hours=1),
            next_check_at=None, extractor_version=1)
    finally:
        await store.close()


def test_credentials_in_article_and_feed_urls_are_never_printed(tmp_path: Path) -> None:
    config = write_config(tmp_path, [f"https://news.example/rss?api_key={TOKEN}"])
    asyncio.run(_private_article(tmp_path / "crawler.db"))
    url = f"https://news.example/a/1?token={TOKEN}"
    for args in (["articles"], ["articles", "--json"], ["changes", "--json"],
                 ["history", url], ["history", "1", "--json"], ["show", "1", "--json"],
                 ["diff", url, "--format", "words"], ["status"], ["status", "--json"]):
        code, out, err = asyncio.run(crawler(config, *args))
        assert code == 0, (args, err)
        assert TOKEN not in out + err, args
    code, out, _ = asyncio.run(crawler(config, "articles", "--json"))
    [listed] = json_lines(out)
    assert listed["canonical_url"] == "https://news.example/a/1?token=***"
    assert listed["feed_url"] == "https://news.example/rss?api_key=***"
