# ruff: noqa: F811
"""`/changes.atom` and `/api/...` on a database the daemon's passes filled: the feed parses
as Atom with feedparser (entry id = event id, link = the article's page, the word diff as
HTML), and the JSON has the contract's shapes, filters and keyset `next`."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
from lxml import etree

from crawler.testing.news_site import NewsSite
from tests.conftest import FakeClock
from tests.web_support import EDITED, HOSTILE, Tracked, clock, serving, track_site, tracked  # noqa: F401 (fixtures)

ATOM = "{http://www.w3.org/2005/Atom}"




async def get_json(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


async def test_the_feed_of_changes_is_atom_with_the_word_diff(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, store), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        async with session.get(base + "/changes.atom") as resp:
            assert resp.status == 200
            assert resp.content_type == "application/atom+xml"
            body = await resp.read()
        events = await store.list_events(limit=50)
    root = etree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    feed = feedparser.parse(io.BytesIO(body))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [e.id for e in feed.entries] == [e.event_id for e in events]
    for entry, event in zip(feed.entries, events, strict=True):
        assert entry.link == f"{base}/articles/{event.article_id}"
        assert entry.content[0].type == "text/html"
    first_edit = next(e for e in feed.entries
                      if e.id == next(ev.event_id for ev in reversed(events)
                                      if ev.event_type == "article.edited"))
    html = first_edit.content[0].value
    assert f"<del>12</del><ins>{EDITED}</ins>" in html
    assert first_edit.title.startswith("edited (number): Storm hits coast")
    hostile = next(e for e in feed.entries if "Hostile" in e.title)
    assert HOSTILE in hostile.title                  # as text: the XML escaped it
    assert "<script>" not in hostile.content[0].value
    assert "&lt;script&gt;" in hostile.content[0].value


async def test_the_feed_takes_the_filters_of_the_page(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, _), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        for query, count in (("?type=edited", 2), ("?type=deleted", 1), ("?q=storm", 3),
                             ("?q=storm&type=new", 1), ("?limit=4", 4),
                             ("?feed=http://elsewhere.example/rss", 0)):
            async with session.get(base + "/changes.atom" + query) as resp:
                assert resp.status == 200
                feed = feedparser.parse(io.BytesIO(await resp.read()))
            assert not feed.bozo
            assert len(feed.entries) == count, query
        async with session.get(base + "/changes.atom?limit=0") as resp:
            assert resp.status == 400


async def test_api_changes_shape_and_keyset_pages(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, _), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}/api/changes"
        status, body = await get_json(session, base)
        assert status == 200
        assert set(body) == {"changes", "next"}
        assert body["next"] is None
        assert len(body["changes"]) == 6
        for change in body["changes"]:
            assert {"event_id", "type", "time", "version", "article", "changes"} <= set(change)
            assert set(change["article"]) == {"id", "url", "canonical_url", "feed_url", "title"}
        edits = [c for c in body["changes"] if c["type"] == "article.edited"]
        assert [c["version"] for c in edits] == [3, 2]
        assert edits[1]["changes"]["kinds"] == ["number"]
        assert edits[0]["changes"]["chars_added"] > 0
        paged: list[str] = []
        url: str | None = base + "?limit=4"
        while url is not None:
            status, page = await get_json(session, url)
            assert status == 200
            paged += [c["event_id"] for c in page["changes"]]
            url = base + page["next"] if page["next"] else None
        assert paged == [c["event_id"] for c in body["changes"]]
        status, only = await get_json(session, base + "?type=edited&limit=1")
        assert [c["type"] for c in only["changes"]] == ["article.edited"]
        assert "type=article.edited" in only["next"] and "limit=1" in only["next"]
        status, error = await get_json(session, base + "?before=nope")
        assert status == 400 and "before" in error["error"]


async def test_api_articles_and_versions(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, _), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}/api"
        status, body = await get_json(session, base + "/articles")
        assert status == 200 and set(body) == {"articles", "next"}
        assert len(body["articles"]) == 3 and body["next"] is None
        by_url = {a["canonical_url"]: a for a in body["articles"]}
        storm = by_url[tracked.storm_url]
        assert storm["versions"] == 3 and storm["state"] == "tracking"
        assert by_url[tracked.budget_url]["state"] == "deleted"
        status, first = await get_json(session, base + "/articles?limit=2")
        status, rest = await get_json(session, base + "/articles" + first["next"])
        assert rest["next"] is None
        assert [a["id"] for a in first["articles"] + rest["articles"]] == \
            [a["id"] for a in body["articles"]]
        status, found = await get_json(session, base + "/articles?q=STORM")
        assert [a["id"] for a in found["articles"]] == [storm["id"]]

        status, one = await get_json(session, f"{base}/articles/{storm['id']}")
        assert status == 200 and set(one) == {"article", "versions", "events"}
        assert set(one["article"]) == {"id", "url", "canonical_url", "feed_url", "title"}
        assert [v["version"] for v in one["versions"]] == [1, 2, 3]
        assert set(one["versions"][0]) == {"version", "time", "content_hash", "title"}
        assert [e["type"] for e in one["events"]] == [
            "article.new", "article.edited", "article.edited"]
        status, version = await get_json(session, f"{base}/articles/{storm['id']}/versions/2")
        assert status == 200
        assert version["version"] == 2 and version["article"]["id"] == storm["id"]
        assert version["text"].count("\n\n") >= 3 and f"{EDITED} homes" in version["text"]
        assert version["content_hash"] == one["versions"][1]["content_hash"]
        assert (await get_json(session, f"{base}/articles/{storm['id']}/versions/9"))[0] == 404
        for missing in ("/articles/424242", "/articles/x", "/articles/424242/versions/1"):
            status, error = await get_json(session, base + missing)
            assert status == 404 and error == {"error": "no such article"}


async def test_the_same_pages_on_postgresql(tmp_path: Path, site: NewsSite, clock: FakeClock,
                                            pg_url: str) -> None:
    tracked = await track_site(tmp_path, site, clock, postgres=pg_url)
    async with serving(tracked.settings) as (api, store), aiohttp.ClientSession() as session:
        assert "postgresql" in store.describe().lower()
        base = f"http://127.0.0.1:{api.port}"
        status, body = await get_json(session, base + "/api/changes?limit=4")
        assert status == 200 and len(body["changes"]) == 4
        status, rest = await get_json(session, base + "/api/changes" + body["next"])
        assert len(rest["changes"]) == 2 and rest["next"] is None
        async with session.get(base + "/changes.atom?type=edited") as resp:
            feed = feedparser.parse(io.BytesIO(await resp.read()))
        assert not feed.bozo and len(feed.entries) == 2
        assert f"<ins>{EDITED}</ins>" in feed.entries[-1].content[0].value
        _, found = await get_json(session, base + "/api/articles?q=storm")
        storm = found["articles"][0]["id"]
        async with session.get(f"{base}/articles/{storm}/diff?from=1&to=2") as resp:
            assert resp.status == 200
            assert f"<ins>{EDITED}</ins>" in await resp.text()
        async with session.get(base + "/?q=storm") as resp:
            assert "Storm hits coast" in await resp.text()
