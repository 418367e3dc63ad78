"""The web view in a real browser: headless Chromium (Debian's package) driven by
Playwright, reading pages the daemon (`crawler run`, a subprocess) serves while it follows
the local news site. A reader opens the latest changes, clicks the edited article, sees its
versions, opens the diff and finds the edit inside `<ins>`; a headline and text carrying a
script tag show it as text and open no dialog; no page logs a console error.

With `CRAWLER_SCREENSHOT=PATH` set, the diff page's screenshot is also saved there (the
README's picture: `CRAWLER_SCREENSHOT=docs/diff-page.png pytest tests/test_web_browser.py`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright

from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import NewsSite
from tests.e2e_support import running_daemon, stop_daemon
from tests.web_support import HOSTILE, HOSTILE_TITLE, LEAD, PARAS

CHROMIUM = "/usr/bin/chromium"
# Set by .ci/run, which installs the system packages: their absence fails the run there.
REQUIRE_SYSTEM_PACKAGES = "CRAWLER_REQUIRE_SYSTEM_PACKAGES"
# Playwright's own browser download is not used: Debian's Chromium, with no network of
# its own (updates, sync, QUIC probes) and no sandbox (CI runs as root in a container).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-quic", "--disable-sync"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_json(session: aiohttp.ClientSession, url: str, check: Any,
                        timeout: float = 40.0) -> Any:
    """GET `url` until `check(body)` holds (the daemon may not be listening yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with session.get(url) as resp:
                if resp.status == 200:
                    body = await resp.json()
                    if check(body):
                        return body
        except aiohttp.ClientConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}: condition not met in time")
        await asyncio.sleep(0.2)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        missing = f"no {CHROMIUM}: install Debian's `chromium` package (.ci/run does)"
        if os.environ.get(REQUIRE_SYSTEM_PACKAGES):
            pytest.fail(missing)  # CI installed it: a skip there would hide a broken setup
        pytest.skip(missing)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


class Watched:
    """What a page did that a reader should never see: console errors, page errors, dialogs."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()


async def test_a_reader_follows_an_edit_from_the_list_to_its_diff(
        tmp_path: Path, site: NewsSite, browser: Browser) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("hostile", HOSTILE_TITLE, f"A lead quoting {HOSTILE} as text.",
             [f"The page's body also says {HOSTILE} and more."])
    port = free_port()
    config = write_config(tmp_path, [site.url("/rss.xml")], intervals='["1s"]',
                          extra=f'[http]\nlisten = "127.0.0.1:{port}"\n')
    base = f"http://127.0.0.1:{port}"
    async with running_daemon(config, tmp_path) as daemon, aiohttp.ClientSession() as session:
        await wait_for_json(session, base + "/api/articles", lambda b: len(b["articles"]) == 2)
        story.paragraphs[0] = PARAS[0].replace("12", "20")
        story.title = "Storm batters coast"
        await wait_for_json(session, base + "/api/changes?type=edited",
                            lambda b: len(b["changes"]) == 1)

        page = await browser.new_page(viewport={"width": 860, "height": 640})
        watched = Watched(page)
        response = await page.goto(base + "/")
        assert response is not None and response.status == 200
        assert "default-src 'none'" in (await response.all_headers())["content-security-policy"]
        await page.get_by_role("link", name="Storm batters coast").first.click()
        await page.wait_for_url(f"{base}/articles/*")
        rows = page.locator("table.versions tbody tr")
        assert await rows.count() == 2
        assert "Storm hits coast" in await rows.nth(0).inner_text()
        assert "Storm batters coast" in await rows.nth(1).inner_text()

        await page.get_by_role("link", name="changes from 1").click()
        await page.wait_for_url("**/diff?from=1&to=2")
        inserted = await page.locator("article.diff ins").all_inner_texts()
        removed = await page.locator("article.diff del").all_inner_texts()
        assert "batters" in inserted and "20" in inserted
        assert "hits" in removed and "12" in removed
        headline = page.locator("article.diff h1")
        assert "batters" in await headline.locator("ins").all_inner_texts()
        shot = tmp_path / "diff-page.png"
        await page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 5_000
        if os.environ.get("CRAWLER_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["CRAWLER_SCREENSHOT"])

        await page.goto(base + "/?q=hostile")
        link = page.get_by_role("link", name=HOSTILE_TITLE)
        assert await link.count() == 1                 # the script tag, shown as text
        await link.click()
        await page.wait_for_url(f"{base}/articles/*")
        assert await page.locator("h1").inner_text() == HOSTILE_TITLE
        assert await page.locator("script").count() == 0
        await page.goto(base + "/changes.atom")
        await page.goto(base + "/")
        assert watched.dialogs == []
        assert watched.errors == []
        await page.close()
        assert await stop_daemon(daemon) == 0
