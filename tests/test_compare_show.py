"""`crawler compare` announces what the daemon announces for the same two pages, nothing
stored; `crawler show` prints a stored version. Both through the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aiohttp

from crawler.config import load_config
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import LEAD, PARAS, NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.test_diff_command import URL, stored

RULES = '[sites."127.0.0.1"]\ncontent = ".article-body"\nignore = [".lead", ".read-also"]\n'
HOUR = 3600.0


def crawler(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRAWLER_CMD, *args], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=60, check=False)


async def _page(session: aiohttp.ClientSession, url: str, path: Path) -> Path:
    async with session.get(url) as response:
        path.write_bytes(await response.read())
    return path


async def test_compare_prints_what_the_daemon_announced_for_the_same_pages(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        session: aiohttp.ClientSession) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          extra=RULES)
    settings = load_config(config)
    url = site.article_url("storm")
    await run_pass(settings, clock)
    old = await _page(session, url, tmp_path / "old.html")
    story.title = "Storm batters coast"
    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    new = await _page(session, url, tmp_path / "new.html")
    [edited] = [r.json["data"] for r in receiver.accepted() if r.json["type"] == "article.edited"]
    db_before = (tmp_path / "crawler.db").stat().st_mtime_ns

    result = crawler(tmp_path, "compare", str(old), str(new), "--url", url, "--config",
                     str(config))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    printed = json.loads(line)
    assert printed["changed"] is True
    assert printed["changes"] == edited["changes"] and printed["diff"] == edited["diff"]
    assert printed["changes"]["kinds"][0] == "headline"
    assert printed["changes"]["sentences"]["edited"] == 1
    assert printed["old"]["content_hash"] == edited["previous_hash"]
    assert printed["new"]["content_hash"] == edited["content_hash"]
    assert printed["new"]["title"] == "Storm batters coast" and LEAD not in printed["new"]["text"]
    assert (tmp_path / "crawler.db").stat().st_mtime_ns == db_before  # nothing stored

    # The same page twice: nothing to announce, whatever its rotating boilerplate did.
    again = await _page(session, url, tmp_path / "again.html")
    same = json.loads(crawler(tmp_path, "compare", str(new), str(again), "--url", url,
                              "--config", str(config)).stdout)
    assert same["changed"] is False and same["changes"] is None and same["diff"] is None
    assert same["old"] == same["new"]


def _cjk_page(date: str) -> str:
    paras = [f"北约峰会{date}在比利时布鲁塞尔的北约总部举行，第二天另行举行由韩国、日本参与的会议。",
             "各国领导人将讨论乌克兰局势以及对俄罗斯的制裁问题，会议预计将发表联合声明。",
             "法国总统表示，欧洲必须加强自身的防务能力，并增加在国防方面的投入。"]
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f'<html lang="zh"><head><meta charset="utf-8"><title>北约峰会</title></head><body>'
            f"<article><h1>北约峰会将在布鲁塞尔举行</h1>{body}</article></body></html>")


def test_compare_counts_a_chinese_date_change_as_two_characters(tmp_path: Path) -> None:
    old, new = tmp_path / "old.html", tmp_path / "new.html"
    old.write_text(_cjk_page("1月17日至18日"), encoding="utf-8")
    new.write_text(_cjk_page("1月18日至19日"), encoding="utf-8")
    result = crawler(tmp_path, "compare", str(old), str(new), "--url",
                     "https://www.rfi.fr/cn/国际/nato")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["changed"] is True
    assert (printed["changes"]["chars_added"], printed["changes"]["chars_removed"]) == (2, 2)
    assert "+北约峰会1月18日至19日" in printed["diff"]
    assert printed["changes"]["kinds"] == ["lead", "number"]
    assert printed["changes"]["sentences"] == {"added": 0, "deleted": 0, "edited": 1,
                                               "moved": 0}


def test_compare_exits_1_when_a_file_cannot_be_read(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(_cjk_page("1月17日"), encoding="utf-8")
    result = crawler(tmp_path, "compare", str(page), str(tmp_path / "missing.html"))
    assert result.returncode == 1 and result.stdout == ""
    assert "cannot read" in result.stderr and "missing.html" in result.stderr


def test_show_prints_a_stored_version(tmp_path: Path) -> None:
    config = stored(tmp_path, [("Storm hits coast", "Twelve homes.\n\nWater rose."),
                               ("Storm batters coast", "Twenty homes.\n\nWater rose.")])
    latest = crawler(tmp_path, "show", URL, "--config", str(config))
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout == "Storm batters coast\n\nTwenty homes.\n\nWater rose.\n"
    first = crawler(tmp_path, "show", URL + "?utm_source=x", "--version", "1", "--config",
                    str(config))
    assert first.stdout == "Storm hits coast\n\nTwelve homes.\n\nWater rose.\n"
    missing = crawler(tmp_path, "show", URL, "--version", "3", "--config", str(config))
    assert missing.returncode == 1 and "version 3 is not stored (versions: 1, 2)" in missing.stderr
    unknown = crawler(tmp_path, "show", "https://news.example/other", "--config", str(config))
    assert unknown.returncode == 1 and "no article known" in unknown.stderr


def test_show_escapes_control_codes(tmp_path: Path) -> None:
    config = stored(tmp_path, [("Storm \x1b]0;pwned\x07hits", "Calm \x1b[2Jtext.")])
    result = crawler(tmp_path, "show", URL, "--config", str(config))
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Storm \\x1b]0;pwned\\x07hits" in result.stdout and "Calm \\x1b[2Jtext." in result.stdout
