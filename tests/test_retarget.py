"""A webhook URL whose token was rotated: the backlog queued for the old URL is not stranded
in silence. The daemon warns about it at start, `crawler deliveries` tells the two URLs apart
although their tokens are masked, and `crawler deliveries retarget` moves the backlog, which is
then delivered to the new URL with its original event ids."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from pathlib import Path

from crawler.testing import news_site
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import LEAD, NewsSite
from crawler.testing.webhook_receiver import Receiver
from tests.e2e_support import running_daemon, stop_daemon
from tests.test_e2e_daemon import crawler

PARAS = news_site.PARAS[:1]
OLD_TOKEN, NEW_TOKEN = "oldtoken111", "newtoken222"


def hook(url: str, secret: str) -> str:
    return f'[[webhooks]]\nurl = "{url}"\nsecret = "{secret}"\n'


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRAWLER_CMD, *args, "--config", str(config)], cwd=config.parent,
                          env=subprocess_env(), capture_output=True, text=True, timeout=60,
                          check=False)


async def test_a_rotated_webhook_url_gets_its_backlog(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", LEAD, PARAS)
    secret = receiver.secrets[0]
    old_url = f"http://127.0.0.1:9/hook?token={OLD_TOKEN}"  # nothing answers there
    new_url = f"{receiver.url}?token={NEW_TOKEN}"
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=hook(old_url, secret))
    code, _, err = await crawler("once", "--config", str(config), cwd=tmp_path)
    assert code == 0, err
    with sqlite3.connect(tmp_path / "crawler.db") as db:
        event_ids = {str(r[0]) for r in db.execute("SELECT id FROM events")}
    assert len(event_ids) == 2

    write_config(tmp_path, [site.url("/rss.xml")], webhooks=hook(new_url, secret))
    async with running_daemon(config, tmp_path) as daemon:
        log = tmp_path / "crawler.jsonl"
        for _ in range(200):
            if '"deliveries_stranded"' in log.read_text():
                break
            await asyncio.sleep(0.05)
        assert await stop_daemon(daemon) == 0
    [stranded] = [e for e in map(json.loads, log.read_text().splitlines())
                  if e.get("event") == "deliveries_stranded"]
    assert stranded["deliveries"] == 2 and OLD_TOKEN not in stranded["endpoint"]
    assert receiver.accepted() == []

    listing = run(config, "deliveries")
    assert listing.returncode == 0, listing.stderr
    old_shown = next(line.split("\t")[0] for line in listing.stdout.splitlines()[1:])
    assert old_shown.startswith("http://127.0.0.1:9/hook #")
    assert OLD_TOKEN not in listing.stdout

    unknown = run(config, "deliveries", "retarget", "--from", old_shown,
                  "--to", "https://elsewhere.example/hook")
    assert unknown.returncode == 1 and "no endpoint https://elsewhere" in unknown.stderr
    # Known from the database but not configured: the backlog would be stranded again.
    stale = run(config, "deliveries", "retarget", "--from", new_url, "--to", old_shown)
    assert stale.returncode == 1 and "not a [[webhooks]] endpoint" in stale.stderr
    moved = run(config, "deliveries", "retarget", "--from", old_shown, "--to", new_url)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith("2 deliveries moved from http://127.0.0.1:9/hook #")
    assert OLD_TOKEN not in moved.stdout + moved.stderr

    code, _, err = await crawler("once", "--config", str(config), cwd=tmp_path)
    assert code == 0, err
    got = receiver.accepted()
    assert {r.headers["webhook-id"] for r in got} == event_ids
    assert all(r.verified for r in got)
