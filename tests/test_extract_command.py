"""`crawler extract` prints what the daemon stores: same decoding, same site rules, same hash."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crawler.app import App
from crawler.cli import main
from crawler.config import load_config
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import LEAD, PARAS, NewsSite
from tests.conftest import FakeClock
from tests.e2e_support import run_pass

# The operator does not want the lead versioned on this host.
RULES = '[sites."127.0.0.1"]\ncontent = ".article-body"\nignore = [".lead", ".read-also"]\n'


def extract(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]]]:
    capsys.readouterr()  # what the test itself logged before
    code = main(["extract", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def no_default_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where no config/crawler.toml exists and none is named in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRAWLER_CONFIG", raising=False)


async def test_extract_applies_site_rules_and_prints_the_hash_the_daemon_stores(
        tmp_path: Path, site: NewsSite, clock: FakeClock, session: aiohttp.ClientSession,
        capsys: pytest.CaptureFixture[str], no_default_config: None) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], extra=RULES)
    settings = load_config(config)
    await run_pass(settings, clock)
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
        assert article is not None
        [stored] = await app.store.get_versions(article.article_id)
    assert LEAD not in stored.text and PARAS[0] in stored.text  # the rule applied

    async with session.get(site.article_url("storm")) as response:
        page = tmp_path / "storm.html"
        page.write_bytes(await response.read())
    url = site.article_url("storm")
    code, [printed] = extract(capsys, "--config", str(config), str(page), "--url", url)
    assert code == 0
    assert (printed["title"], printed["text"]) == (stored.title, stored.text)
    assert printed["content_hash"] == stored.content_hash == article.current_hash
    assert printed["url"] == url and printed["file"] == str(page)

    # the config is found the usual way too ($CRAWLER_CONFIG), and rules follow the --url host
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRAWLER_CONFIG", str(config))
        code, [same] = extract(capsys, str(page), "--url", url)
        assert same["content_hash"] == stored.content_hash
        code, [elsewhere] = extract(capsys, str(page), "--url", "https://other.example/storm")
        assert LEAD in elsewhere["text"]


def test_extract_without_a_config_uses_no_rules(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], no_default_config: None) -> None:
    page = tmp_path / "page.html"
    page.write_text(f"""<html><head><title>Storm hits coast</title></head><body><article>
<h1>Storm hits coast</h1><div class="article-body"><p class="lead">{LEAD}</p>
{"".join(f"<p>{p}</p>" for p in PARAS)}</div></article></body></html>""", encoding="utf-8")
    code, [printed] = extract(capsys, str(page), "--url", "http://127.0.0.1/news/storm.html")
    assert code == 0
    assert printed["text"].startswith(LEAD) and printed["content_hash"].startswith("sha256:")


@pytest.mark.parametrize("problem", ["missing", "invalid"])
def test_extract_with_a_named_config_that_cannot_be_used_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], no_default_config: None,
        problem: str) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Some text here.</p></body></html>", encoding="utf-8")
    config = tmp_path / "crawler.toml"
    if problem == "invalid":
        config.write_text("[fetch]\ntimeout = 5\n", encoding="utf-8")
    assert main(["extract", "--config", str(config), str(page)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "invalid config" in captured.err


def test_a_reader_that_stops_reading_gets_no_traceback(tmp_path: Path) -> None:
    """`crawler ... | head`: the command ends quietly with SIGPIPE's status."""
    page = tmp_path / "page.html"
    page.write_text("<html><body><article>" + "<p>A paragraph of the story, long enough.</p>"
                    * 2000 + "</article></body></html>", encoding="utf-8")
    proc = subprocess.Popen([*CRAWLER_CMD, "extract", *[str(page)] * 40], cwd=tmp_path,
                            env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
