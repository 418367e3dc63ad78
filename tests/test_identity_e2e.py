"""Identity against a local site that lies about it, end to end through `App.run_pass`, with
a receiver verifying every webhook: canonical claims naming other articles, one guid on
several stories, cache-busting links, and a claim across a public suffix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from crawler.app import App
from crawler.config import Settings
from crawler.fetch import Fetcher
from crawler.testing.crawler_process import local_settings
from crawler.testing.webhook_receiver import Receiver
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.hostile_server import StaticResolver
from tests.identity_site import IdentitySite, Item, article_page, story


@pytest.fixture
async def web_site() -> AsyncIterator[IdentitySite]:
    site = await IdentitySite().start()
    try:
        yield site
    finally:
        await site.close()


def printed_copy(site: IdentitySite) -> str:
    """The same story under a second path whose canonical names the first, which names
    itself; the feed links the second. Returns the first's URL."""
    a_url = site.url("/news/a")
    site.pages["/news/a"] = article_page("Bridge approved", story("bridge"), a_url)
    site.pages["/print/a"] = article_page("Bridge approved", story("bridge"), a_url)
    site.feeds["/rss.xml"] = [Item("Bridge approved", site.url("/print/a"), "a")]
    return a_url


def events(receiver: Receiver) -> list[dict[str, Any]]:
    accepted = receiver.accepted()
    assert all(r.verified for r in accepted)
    return [r.json for r in accepted]


def types(receiver: Receiver) -> list[str]:
    return [e["type"] for e in events(receiver)]


async def article_count(settings: Settings, clock: FakeClock) -> int:
    async with App(settings, clock=clock) as app:
        return await app.store.count_articles()


async def test_a_page_claiming_another_articles_url_is_its_own_article(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    a_url = web_site.url("/news/a")
    web_site.pages["/news/a"] = article_page("Bridge approved", story("bridge"), a_url)
    web_site.feeds["/rss.xml"] = [Item("Bridge approved", a_url, "a")]
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]

    # B, another story of the same site, names A as its canonical URL
    web_site.pages["/news/b"] = article_page("Library closes", story("library"), a_url)
    web_site.feeds["/rss.xml"].insert(0, Item("Library closes", web_site.url("/news/b"), "b"))
    clock.advance(60)
    await run_pass(settings, clock)
    new = events(receiver)
    assert [e["type"] for e in new] == ["article.new", "article.new"]  # no article.edited
    b = new[1]["data"]
    assert b["article"]["canonical_url"] == web_site.url("/news/b")
    assert "library" in b["text"] and "bridge" not in b["text"]
    async with App(settings, clock=clock) as app:
        a = await app.store.find_article_by_url(a_url)
        assert a is not None
        assert [v.title for v in await app.store.get_versions(a.article_id)] == [
            "Bridge approved"]  # A's history untouched
        b_article = await app.store.find_article_by_url(web_site.url("/news/b"))
        assert b_article is not None and b_article.article_id != a.article_id


async def test_a_claim_on_an_unpublished_url_does_not_take_it(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    d_url = web_site.url("/news/d")  # not published yet: 404
    web_site.pages["/news/c"] = article_page("Strike ends", story("strike"), d_url)
    web_site.feeds["/rss.xml"] = [Item("Strike ends", web_site.url("/news/c"), "c")]
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    await run_pass(settings, clock)
    [c] = events(receiver)
    assert c["data"]["article"]["canonical_url"] == web_site.url("/news/c")

    web_site.pages["/news/d"] = article_page("Dam inspected", story("dam"), d_url)
    web_site.feeds["/rss.xml"].insert(0, Item("Dam inspected", d_url, "d"))
    before = web_site.fetched("/news/d")
    clock.advance(60)
    await run_pass(settings, clock)
    assert web_site.fetched("/news/d") > before  # D's real page is fetched
    new = events(receiver)
    assert [e["type"] for e in new] == ["article.new", "article.new"]
    d = new[1]["data"]
    assert d["article"]["canonical_url"] == d_url
    assert "dam" in d["text"] and "strike" not in d["text"]


async def test_a_verified_claim_joins_its_article(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    a_url = printed_copy(web_site)
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    await run_pass(settings, clock)
    [new] = events(receiver)
    assert new["data"]["article"]["canonical_url"] == a_url
    web_site.feeds["/other.xml"] = [Item("Bridge approved", a_url, "x")]
    settings = local_settings(tmp_path, [web_site.url("/rss.xml"), web_site.url("/other.xml")],
                            receiver)
    clock.advance(60)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]  # one article, whichever URL leads there
    assert await article_count(settings, clock) == 1


@pytest.mark.parametrize("copy", ["other text", "same text"])
async def test_a_claim_across_a_public_suffix_never_merges(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch, copy: str) -> None:
    # Two sites on one machine: www.bbc.co.uk and evil.co.uk (one port: only the Public
    # Suffix List tells them apart).
    resolver = StaticResolver({"www.bbc.co.uk": ["127.0.0.1"], "evil.co.uk": ["127.0.0.1"]})
    monkeypatch.setattr("crawler.runtime.Fetcher", partial(Fetcher, resolver=resolver))
    bbc_url = web_site.url("/news/1", "www.bbc.co.uk")
    web_site.pages["/news/1"] = article_page("Bridge approved", story("bridge"), bbc_url)
    web_site.feeds["/bbc.xml"] = [Item("Bridge approved", bbc_url, "1")]
    # a scraper republishes it (verbatim, or rewritten) and claims the BBC's URL
    text = story("bridge") if copy == "same text" else story("casino")
    web_site.pages["/copy/1"] = article_page("Bridge approved", text, bbc_url)
    evil_url = web_site.url("/copy/1", "evil.co.uk")
    web_site.feeds["/evil.xml"] = [Item("Bridge approved", evil_url, "1")]
    settings = local_settings(tmp_path, [web_site.url("/bbc.xml", "www.bbc.co.uk")], receiver)
    await run_pass(settings, clock)
    settings = local_settings(tmp_path, [web_site.url("/bbc.xml", "www.bbc.co.uk"),
                                       web_site.url("/evil.xml", "evil.co.uk")], receiver)
    clock.advance(60)
    await run_pass(settings, clock)
    new = events(receiver)
    assert [e["type"] for e in new] == ["article.new", "article.new"]
    assert new[1]["data"]["article"]["canonical_url"] == evil_url
    assert await article_count(settings, clock) == 2


async def test_entries_sharing_one_guid_are_five_articles(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    subjects = ["bridge", "library", "strike", "dam", "tram line"]
    for n, subject in enumerate(subjects):
        web_site.pages[f"/news/{n}"] = article_page(f"Story {n}", story(subject))
    items = [Item(f"Story {n}", web_site.url(f"/news/{n}"), "same-guid") for n in range(5)]
    web_site.feeds["/rss.xml"] = items[:1]
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    await run_pass(settings, clock)
    # the CMS gives the next four stories the first one's guid
    web_site.feeds["/rss.xml"] = items
    for _ in range(2):
        clock.advance(60)
        await run_pass(settings, clock)
    assert all(web_site.fetched(f"/news/{n}") == 1 for n in range(5))  # every page fetched
    new = events(receiver)
    assert [e["type"] for e in new] == ["article.new"] * 5
    assert sorted(e["data"]["article"]["canonical_url"] for e in new) == [
        web_site.url(f"/news/{n}") for n in range(5)]
    assert await article_count(settings, clock) == 5


async def test_a_guid_never_takes_a_link_that_leads_to_another_article(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    # Pages refused (403): the articles are tracked from their full-content entries, which
    # are compared with the stored text on every poll.
    def item(n: int, subject: str) -> Item:
        web_site.pages[f"/news/{n}"] = 403
        body = "".join(f"<p>{p}</p>" for p in story(subject))
        return Item(f"Story {n}", web_site.url(f"/news/{n}"), "same-guid", body)

    first, second = item(0, "bridge"), item(1, "library")
    web_site.feeds["/rss.xml"] = [first]
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    await run_pass(settings, clock)
    web_site.feeds["/rss.xml"] = [second, first]  # one guid, two stories: two articles
    clock.advance(60)
    await run_pass(settings, clock)
    web_site.feeds["/rss.xml"] = [second]  # the guid is unique again, on the second's link
    clock.advance(60)
    await run_pass(settings, clock)
    new = events(receiver)
    assert [e["type"] for e in new] == ["article.new", "article.new"]  # no edit of the first
    assert all(e["data"]["source"] == "feed" for e in new)


async def test_cache_busting_links_of_full_content_entries_do_not_multiply_articles(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    subjects = ["bridge", "library", "strike"]
    for n in range(3):
        web_site.pages[f"/story/{n}.html"] = 403  # tracked from the entries
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    for poll in range(4):
        web_site.feeds["/rss.xml"] = [
            Item(f"Story {n}", web_site.url(f"/story/{n}.html?v={poll * 10 + n}"),
                 content_html="".join(f"<p>{p}</p>" for p in story(subject)))
            for n, subject in enumerate(subjects)]
        await run_pass(settings, clock)
        clock.advance(60)
    assert types(receiver) == ["article.new"] * 3
    assert await article_count(settings, clock) == 3


async def test_cache_busting_links_do_not_multiply_articles(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    subjects = ["bridge", "library", "strike"]
    for n, subject in enumerate(subjects):
        web_site.pages[f"/story/{n}.html"] = article_page(f"Story {n}", story(subject))
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    counts = []
    for poll in range(10):  # no guids, and a new ?v= on every link at every poll
        web_site.feeds["/rss.xml"] = [
            Item(f"Story {n}", web_site.url(f"/story/{n}.html?v={poll * 10 + n}"))
            for n in range(3)]
        await run_pass(settings, clock)
        counts.append(await article_count(settings, clock))
        clock.advance(60)
    assert types(receiver) == ["article.new"] * 3
    assert counts == [3] * 10  # the re-check load does not grow either
    # the second story edited, seen first under a new cache-buster: an edit of the article
    web_site.pages["/story/1.html"] = article_page("Story 1", [
        *story("library"), "The library will reopen in the spring, the council said on Friday."])
    web_site.feeds["/rss.xml"] = [
        Item(f"Story {n}", web_site.url(f"/story/{n}.html?v={1000 + n}")) for n in range(3)]
    await run_pass(settings, clock)
    clock.advance(3600)
    await run_pass(settings, clock)  # and the re-check finds nothing new
    edited = [e for e in events(receiver) if e["type"] == "article.edited"]
    assert len(edited) == 1
    assert edited[0]["data"]["article"]["canonical_url"].endswith("/story/1.html?v=1")
    assert "+The library will reopen" in edited[0]["data"]["diff"]
    assert types(receiver) == ["article.new"] * 3 + ["article.edited"]
    assert await article_count(settings, clock) == 3


async def test_stories_selected_by_the_query_are_distinct_articles(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    subjects = ["bridge", "library", "strike"]
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    web_site.feeds["/rss.xml"] = []
    for n, subject in enumerate(subjects):
        web_site.pages[f"/article.php?id={n}"] = article_page(f"Story {n}", story(subject))
        web_site.feeds["/rss.xml"].insert(
            0, Item(f"Story {n}", web_site.url(f"/article.php?id={n}")))
        await run_pass(settings, clock)
        clock.advance(60)
    new = events(receiver)
    assert [e["type"] for e in new] == ["article.new"] * 3
    assert [e["data"]["article"]["canonical_url"] for e in new] == [
        web_site.url(f"/article.php?id={n}") for n in range(3)]
    # the one article at the path was fetched to tell; with two there, none is
    assert web_site.requests.count("/article.php?id=0") == 2
    assert web_site.requests.count("/article.php?id=1") == 1


async def test_claims_are_verified_with_the_fetcher_a_reload_put_in_force(
        tmp_path: Path, web_site: IdentitySite, receiver: Receiver, clock: FakeClock) -> None:
    # The fetcher a reload replaced is closed soon after; verifying a claim with it raised a
    # RuntimeError (not a FetchError) and crashed the sighting.
    a_url = printed_copy(web_site)
    settings = local_settings(tmp_path, [web_site.url("/rss.xml")], receiver)
    async with App(settings, clock=clock) as runtime:
        old = runtime.fetchers.current
        runtime.use(settings, await runtime.fetchers.open_another(settings.fetch))
        await old.close()  # as it is once its requests are over
        summary = await runtime.run_pass()
    assert not summary.failed
    [new] = events(receiver)
    assert new["data"]["article"]["canonical_url"] == a_url
