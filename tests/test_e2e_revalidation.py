"""Re-checks that skip what cannot have changed, end to end through `App.run_pass` against
the local news site and a verifying receiver: conditional re-checks answered 304, pages
served byte for byte the same, an edit behind a lying ETag caught by the forced full fetch,
and collapses and deletions still seen once the page cache holds an entry."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

import crawler.budget
import crawler.pages
from crawler.app import App
from crawler.config import Settings, load_config
from crawler.revalidation import MAX_SKIPPED
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, PARAS, NewsSite, Story
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.log_capture import capture_logs

HOUR = 3600.0
ALL_EVENTS = '["article.new", "article.edited", "article.deleted", "article.restored"]'


class Extractions:
    """Counts the page extractions of the run (every page of these tests is read inline)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = crawler.pages.read_with_rules  # what crawler.budget calls

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(crawler.budget, "read_with_rules", counting)


@pytest.fixture
def extractions(monkeypatch: pytest.MonkeyPatch) -> Extractions:
    return Extractions(monkeypatch)


def settings_for(tmp_path: Path, site: NewsSite, receiver: Receiver) -> Settings:
    hook = webhook_table(receiver) + f"events = {ALL_EVENTS}\n"
    return load_config(write_config(tmp_path, [site.url("/rss.xml")], webhooks=hook))


def types(receiver: Receiver) -> list[str]:
    assert all(r.verified for r in receiver.requests)
    return [r.json["type"] for r in receiver.accepted()]


@pytest.fixture
def logged() -> Iterator[list[MutableMapping[str, Any]]]:
    with capture_logs() as logs:
        yield logs


def checks(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    """The re-checks logged, in order."""
    return [e for e in logs if e["event"] == "page_checked" and e.get("result") != "new"]


def asked_conditionally(site: NewsSite) -> list[str | None]:
    """The If-None-Match of each page request, in order."""
    return [headers.get("If-None-Match") for _, headers in site.page_headers]


async def cached_story(tmp_path: Path, site: NewsSite, receiver: Receiver,
                       clock: FakeClock) -> tuple[Story, Settings]:
    """The storm story with stable bytes and an ETag, seen, checked in full, then answered
    304: its page cache holds an entry."""
    site.stable_pages = True
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.etag = '"storm-1"'
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    await passes(settings, clock, 2)  # a full check, then a 304
    return story, settings


async def passes(settings: Settings, clock: FakeClock, count: int,
                 between: Callable[[int], None] = lambda _: None) -> None:
    """`count` passes two hours apart (every article is due at each)."""
    for n in range(count):
        between(n)
        clock.advance(2 * HOUR)
        assert not await run_pass(settings, clock)


async def test_a_page_with_an_etag_is_asked_conditionally_and_a_304_skips_extraction(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        extractions: Extractions, logged: list[MutableMapping[str, Any]]) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS).etag = '"storm-1"'
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)  # first sight
    await passes(settings, clock, 1)  # a full check: the page's text is the current one
    read = extractions.count
    await passes(settings, clock, 1)
    clock.advance(2 * HOUR)
    async with App(settings, clock=clock) as app:
        await app.run_pass()
        counted = app.metrics.render().decode()
    assert 'crawler_checks_skipped_total{reason="not_modified"} 1.0' in counted
    assert asked_conditionally(site) == [None, None, '"storm-1"', '"storm-1"']
    assert extractions.count == read  # neither 304 was extracted
    logged = checks(logged)
    assert [(e["result"], e.get("skipped")) for e in logged] == [
        ("unchanged", None), ("unchanged", "not_modified"), ("unchanged", "not_modified")]
    # Most checks find nothing new: logged for debugging, not at info, where they were half
    # of a daemon's lines.
    assert {e["log_level"] for e in logged} == {"debug"}
    assert types(receiver) == ["article.new"]


async def test_a_page_served_with_the_same_bytes_is_not_extracted_again(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        extractions: Extractions, logged: list[MutableMapping[str, Any]]) -> None:
    site.stable_pages = True  # no validators, but a cache in front of the CMS
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    await passes(settings, clock, 1)
    read = extractions.count
    await passes(settings, clock, 2)
    assert extractions.count == read
    assert asked_conditionally(site) == [None] * 4
    story.paragraphs.append("Power was restored to most homes on Wednesday evening.")
    await passes(settings, clock, 1)
    assert extractions.count == read + 1  # other bytes: read, and the edit announced
    assert types(receiver) == ["article.new", "article.edited"]
    assert [e.get("skipped") for e in checks(logged)] == [
        None, "same_bytes", "same_bytes", None]


async def test_an_edit_behind_a_lying_etag_is_caught_by_the_forced_full_fetch(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        extractions: Extractions, logged: list[MutableMapping[str, Any]]) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.etag = '"template-7"'  # the template's ETag: it never changes with the text
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    await passes(settings, clock, 1)
    story.paragraphs[0] = "Fourteen homes were damaged in Westport, the fire service said."
    await passes(settings, clock, MAX_SKIPPED)
    assert types(receiver) == ["article.new"]  # hidden behind 304s, for now
    await passes(settings, clock, 1)
    assert types(receiver) == ["article.new", "article.edited"]
    assert asked_conditionally(site) == [None, None, *['"template-7"'] * MAX_SKIPPED, None]
    edited = receiver.accepted()[1].json["data"]
    assert "Fourteen homes" in edited["diff"]


async def test_a_deletion_and_a_restoration_are_seen_after_the_page_was_cached(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story, settings = await cached_story(tmp_path, site, receiver, clock)
    story.status = 404
    await passes(settings, clock, 2)  # the 404 asked conditionally, then its confirmation
    assert types(receiver) == ["article.new", "article.deleted"]
    story.status = 200
    await passes(settings, clock, 1)
    assert types(receiver) == ["article.new", "article.deleted", "article.restored"]
    # The first 404 was asked conditionally; its confirmation and the deleted article's
    # check were full checks (the 404 ended the entry).
    assert asked_conditionally(site) == [None, None, '"storm-1"', '"storm-1"', None, None]


async def test_a_collapse_is_counted_check_by_check_after_the_page_was_cached(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        logged: list[MutableMapping[str, Any]]) -> None:
    story, settings = await cached_story(tmp_path, site, receiver, clock)

    def collapse(n: int) -> None:
        if n == 0:  # a paywall, honestly labelled with an ETag of its own, for good
            story.etag = '"paywall"'
            story.lead, story.paragraphs = "Subscribe to read on.", ["Already a subscriber?"]

    await passes(settings, clock, 3, collapse)  # collapse_checks = 3: the third one tells
    assert types(receiver) == ["article.new", "article.edited"]
    results = [e["event"] if e["event"] != "page_checked" else e["result"] for e in logged
               if e["event"] in ("page_checked", "extraction_collapsed")]
    assert results == ["new", "unchanged", "unchanged", "extraction_collapsed",
                       "extraction_collapsed", "edited"]
    # A collapsed check leaves no entry: the next ones are full checks.
    assert asked_conditionally(site)[3:] == ['"storm-1"', None, None]


async def test_a_304_after_a_redirect_elsewhere_is_not_the_article_unchanged(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.etag = '"site-1"'  # one ETag for every page of the site
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    await passes(settings, clock, 1)
    update = site.add("storm-update", "Storm hits coast: homes flooded", LEAD,
                      [*PARAS, "Power was restored to most homes on Wednesday evening."])
    update.etag, update.in_feed = '"site-1"', False
    story.redirect_to = "/news/storm-update.html"  # the slug renamed with the headline
    await passes(settings, clock, 1)
    assert types(receiver) == ["article.new", "article.edited"]
    # Asked conditionally, redirected, answered 304 there; then asked plainly.
    assert [(path, headers.get("If-None-Match")) for path, headers in site.page_headers[2:]] \
        == [("/news/storm.html", '"site-1"'), ("/news/storm-update.html", '"site-1"'),
            ("/news/storm.html", None), ("/news/storm-update.html", None)]


async def test_a_304_to_a_request_that_was_not_conditional_is_a_failed_check(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        logged: list[MutableMapping[str, Any]]) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)  # no validators, noisy bytes
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    await passes(settings, clock, 1)  # an entry with no validators: nothing to ask with
    story.script = [304]  # a broken cache in front of the site
    clock.advance(2 * HOUR)
    assert await run_pass(settings, clock)  # the check failed
    assert asked_conditionally(site) == [None, None, None]
    assert [e.get("error") for e in logged if e["event"] == "page_failed"] == ["HTTP 304"]
    assert [e.get("skipped") for e in checks(logged)] == [None]
    assert types(receiver) == ["article.new"]
