# ruff: noqa: F811
"""The web view over HTTP: a database the daemon's passes filled from the local news site,
served by the operator endpoint on 127.0.0.1 and read with an aiohttp client. The list of
changes with its filters and keyset pages, an article's page, the word diff, escaping of
everything from the web, the security headers."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser

import aiohttp

from crawler.store.sqlite import SQLiteStore
from tests.web_support import (  # noqa: F401 (fixtures)
    EDITED,
    HOSTILE,
    HOSTILE_TITLE,
    Tracked,
    clock,
    serving,
    track_site,
    tracked,
)


class Elements(HTMLParser):
    """Tags and attributes of a page, and the text inside given tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._open: list[str] = []
        self.text_in: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("br", "meta", "link", "input"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        for tag in set(self._open):
            self.text_in.setdefault(tag, []).append(data)

    def hrefs(self, pattern: str) -> list[str]:
        return [str(a["href"]) for t, a in self.tags
                if t == "a" and a.get("href") and re.search(pattern, str(a["href"]))]


def parse(html: str) -> Elements:
    page = Elements()
    page.feed(html)
    return page


async def get(session: aiohttp.ClientSession, base: str, path: str) -> tuple[int, str]:
    async with session.get(base + path) as resp:
        return resp.status, await resp.text()


async def test_latest_changes_link_to_articles_and_diffs(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, _), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        async with session.get(base + "/") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            html = await resp.text()
            assert "script-src" not in resp.headers["Content-Security-Policy"]
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
        page = parse(html)
        text = " ".join(page.text_in.get("main", []))
        for label in ("new", "edited", "deleted"):
            assert label in text
        assert "Storm hits coast" in text
        assert "number" in text                    # the kind of the first edit
        assert "127.0.0.1" in text                 # the site's name
        diffs = page.hrefs(r"/diff\?")
        assert len(diffs) == 2
        status, diff = await get(session, base, diffs[-1])   # the oldest edit: 1 -> 2
        assert status == 200
        dp = parse(diff)
        assert dp.text_in["ins"] == [EDITED]
        assert dp.text_in["del"] == ["12"]
        assert "Storm hits coast" in dp.text_in["h1"]
        articles = sorted(set(page.hrefs(r"^/articles/\d+$")))
        assert len(articles) == 3
        status, css = await get(session, base, "/static/style.css")
        assert status == 200 and "ins" in css


async def test_an_article_page_lists_versions_and_events(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, store), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        article = await store.find_article_by_urls([tracked.storm_url])
        assert article is not None
        status, html = await get(session, base, f"/articles/{article.article_id}")
        assert status == 200
        page = parse(html)
        rows = [t for t, _ in page.tags if t == "tr"]
        assert len(rows) == 1 + 3                  # header and three versions
        assert page.hrefs(r"/diff\?from=1&to=2$") and page.hrefs(r"/diff\?from=2&to=3$")
        assert tracked.storm_url in " ".join(page.text_in["dd"])
        assert "tracking" in " ".join(page.text_in["dd"])
        assert (await get(session, base, "/articles/999999"))[0] == 404
        assert (await get(session, base, "/articles/abc"))[0] == 404


async def test_the_diff_shows_changed_paragraphs_with_context_and_the_whole_text(
        tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, store), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        article = await store.find_article_by_urls([tracked.storm_url])
        assert article is not None
        path = f"/articles/{article.article_id}/diff"
        status, html = await get(session, base, path)          # default: the last two
        assert status == 200
        page = parse(html)
        assert page.text_in["ins"] == [" One was found later that morning."]
        assert "del" not in page.text_in
        assert any("unchanged paragraph" in t for t in page.text_in["p"])
        full = page.hrefs(r"full=1")
        assert full == [f"{path}?from=2&to=3&full=1"]
        status, whole = await get(session, base, full[0])
        assert status == 200
        assert "unchanged paragraph" not in whole
        assert "Residents were evacuated" in whole
        for bad in ("?from=1&to=9", "?from=x"):
            assert (await get(session, base, path + bad))[0] == 400


async def test_filters_and_keyset_pages(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, _), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        _, html = await get(session, base, "/?type=edited")
        page = parse(html)
        types = [t for t in page.text_in["span"] if t in ("new", "edited", "deleted")]
        assert types == ["edited", "edited"]
        _, html = await get(session, base, "/?type=article.deleted")
        assert "Budget vote delayed" in html and "Storm hits coast" not in html
        _, html = await get(session, base, "/?q=budget")
        assert "Budget vote delayed" in html and "Storm hits coast" not in html
        _, html = await get(session, base, "/?q=nothing-like-this")
        assert "No changes match" in html
        _, html = await get(session, base, "/?feed=http://elsewhere.example/rss")
        assert "No changes match" in html
        # Six events, two a page: three pages, each link carrying the filters on.
        seen: list[str] = []
        path: str | None = "/?limit=2"
        pages = 0
        while path is not None:
            status, html = await get(session, base, path)
            assert status == 200
            page = parse(html)
            seen += page.hrefs(r"^/articles/\d+$")
            nexts = [a["href"] for t, a in page.tags if t == "a" and a.get("rel") == "next"]
            path = "/" + str(nexts[0]) if nexts else None
            assert path is None or "limit=2" in path
            # After the first page, a way back to the newest, with the same filters.
            assert page.hrefs(r"^/\?limit=2$") == ([] if pages == 0 else ["/?limit=2"])
            pages += 1
        assert pages == 3
        assert len(seen) == 6
        assert (await get(session, base, "/?before=garbage"))[0] == 400


async def test_nothing_from_the_web_is_markup(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, store), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        article = await store.find_article_by_urls([tracked.hostile_url])
        assert article is not None
        assert HOSTILE in article.title
        for path in ("/", f"/articles/{article.article_id}", "/?q=hostile"):
            _, html = await get(session, base, path)
            assert "<script" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            page = parse(html)
            assert not [t for t, _ in page.tags if t in ("script", "b")]
            assert any(HOSTILE_TITLE in t for t in page.text_in["a" if path != f"/articles/{article.article_id}" else "h1"])


async def test_the_diff_of_a_5_mb_paragraph_is_shown_without_holding_the_loop(
        store: SQLiteStore) -> None:
    """RELIABILITY 42 for the web view the daemon serves: the page of a one-word edit of a
    5 MB paragraph, and the Atom feed carrying that diff, are made off the event loop
    (each held it over a second: `/healthz` and the watchdog waited)."""
    from datetime import UTC, datetime

    from crawler import events
    from crawler.cheap_diff import cheap_edit
    from crawler.httpapi import HttpApi
    from crawler.metrics import Metrics
    from crawler.textnorm import make_content
    from tests.test_workers import LoopWatch

    words = " ".join(f"word{i % 7919}" for i in range(5_000_000 // 9)) + "."
    old = make_content("A very long report", words)
    new = make_content("A very long report", words.replace("word4000 ", "word4000x ", 1))
    url, now = "https://news.example/huge.html", datetime.now(UTC)
    ref = events.ArticleRef(url, url, "https://news.example/rss", old.title)
    routes, cap = events.Routes(), 256 * 1024
    article = await store.create_article(
        extractor_version=1, canonical_url=url, url=url, feed_url=ref.feed_url, content=old,
        event=events.article_new(ref, old, created_at=now, routes=routes, max_bytes=cap),
        seen_at=now, next_check_at=None)
    await store.add_version(
        article.article_id, content=new, fetched_at=now, next_check_at=None,
        extractor_version=1,
        event=lambda n: events.article_edited(ref, old, new, cheap_edit(old, new), version=n,
                                              created_at=now, routes=routes, max_bytes=cap))

    async def health() -> dict[str, bool]:
        return {"database": True}

    api = HttpApi("127.0.0.1", 0, Metrics(), health, store=store, token="")
    await api.start()
    watch = LoopWatch()
    watching = asyncio.create_task(watch.run())
    try:
        async with aiohttp.ClientSession() as session:
            for path in (f"/articles/{article.article_id}/diff", "/changes.atom"):
                async with session.get(f"http://127.0.0.1:{api.port}{path}") as response:
                    assert response.status == 200
                    assert "word4000x" in await response.text()
    finally:
        watching.cancel()
        await api.stop()
    assert watch.worst < 1.0, watch.worst
