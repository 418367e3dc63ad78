"""The rules against invented and missed edits, end to end through `App.run_pass`:
extraction collapses, flapping pages, and articles tracked from their feed entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.app import App
from crawler.config import Settings
from crawler.testing import news_site
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import LEAD, NewsSite, Story
from crawler.testing.webhook_receiver import Receiver
from tests.conftest import FakeClock
from tests.e2e_support import run_pass

PARAS = [*news_site.PARAS,
         "Repairs to the sea wall are expected to take several months and cost millions."]
HOUR = 3600.0


def settings_for(tmp_path: Path, site: NewsSite, receiver: Receiver, **options: str) -> Settings:
    return local_settings(tmp_path, [site.url("/rss.xml")], receiver, **options)



def types(receiver: Receiver) -> list[str]:
    return [r.json["type"] for r in receiver.accepted()]


def paywall(story: Story) -> None:
    story.paragraphs = ["Subscribe to continue reading."]
    story.lead = "Already a subscriber? Log in."


async def test_a_passing_collapse_is_never_announced(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    paywall(story)
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
    assert article is not None and article.collapse_count == 1
    assert article.next_check_at is not None
    assert (article.next_check_at - clock.now).total_seconds() <= 300  # looked at again soon
    story.lead, story.paragraphs = LEAD, list(PARAS)  # the glitch is over
    clock.advance(301)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
        assert article is not None and article.collapse_count == 0
        assert len(await app.store.get_versions(article.article_id)) == 1


async def test_a_lasting_collapse_is_announced_after_the_configured_checks(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver, recheck="collapse_checks = 3")
    await run_pass(settings, clock)
    paywall(story)
    seen = []
    for _ in range(4):
        clock.advance(HOUR)
        await run_pass(settings, clock)
        seen.append(types(receiver).count("article.edited"))
    assert seen == [0, 0, 1, 1]  # announced on the third collapsed check, once
    edited = next(r.json for r in receiver.accepted() if r.json["type"] == "article.edited")
    assert "Subscribe to continue reading." in edited["data"]["diff"]


async def test_a_flapping_page_is_recorded_not_announced(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver, intervals='["1h"]',
                            recheck='flap_window = "1d"\nmax_age = "30d"')
    await run_pass(settings, clock)
    headlines = ["Storm batters coast", "Storm hits coast"] * 3
    for headline in headlines:  # an A/B test on the headline
        story.title = headline
        clock.advance(HOUR)
        await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.edited"]
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
        assert article is not None
        versions = await app.store.get_versions(article.article_id)
    assert [v.title for v in versions] == ["Storm hits coast", *headlines]  # all recorded

    # the headline settles; weeks later an explicit revert to a long-gone version is news
    story.title = "Storm batters coast"
    clock.advance(HOUR)
    await run_pass(settings, clock)
    clock.advance(3 * 86400)
    story.title = "Storm hits coast"
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.edited", "article.edited"]


@pytest.mark.parametrize("blocked", ["forbidden", "robots"])
async def test_unreadable_page_is_tracked_from_its_feed_entry(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        blocked: str) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    if blocked == "forbidden":
        story.status = 403
    else:
        story.section = "private"  # robots.txt: Disallow: /private/
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    new = [r.json for r in receiver.accepted()]
    assert [e["type"] for e in new] == ["article.new"]
    data: dict[str, Any] = new[0]["data"]
    assert data["source"] == "feed"
    assert data["article"]["title"] == "Storm hits coast"
    assert data["text"].startswith(LEAD) and PARAS[-1] in data["text"]
    assert "Share" not in data["text"] and "More feeds" not in data["text"]

    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    clock.advance(HOUR)
    page_requests = [r for r in site.requests if r.startswith(f"/{story.section}/")]
    await run_pass(settings, clock)
    edited = [r.json for r in receiver.accepted() if r.json["type"] == "article.edited"]
    assert len(edited) == 1
    assert edited[0]["data"]["source"] == "feed"
    assert "+Twenty homes" in edited[0]["data"]["diff"]
    # the page is not fetched again: versions never mix the two sources
    assert [r for r in site.requests if r.startswith(f"/{story.section}/")] == page_requests
    if blocked == "robots":
        assert page_requests == []  # a disallowed page is never requested at all


async def test_a_feed_sourced_article_is_compared_only_with_its_own_feed_s_entries(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    # The same story in a second feed that carries only its summary: compared with that
    # entry, the full text would "shrink" to the summary and grow back on every poll.
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"  # robots.txt: Disallow: /private/
    settings = local_settings(tmp_path, [site.url("/rss.xml"), site.url("/atom.xml")],
                              receiver)
    for _ in range(5):
        await run_pass(settings, clock)
        clock.advance(HOUR)
    assert types(receiver) == ["article.new"]
    # The two feeds are polled at once: whichever entry is read first is the first sight.
    # The summary, if it came first, gave way to the full text without an event (a move to
    # the fuller feed); either way the full text is what is compared from then on.
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
        assert article is not None and article.tracked_feed == site.url("/rss.xml")
        versions = await app.store.get_versions(article.article_id)
    assert versions[-1].text.endswith(PARAS[-1])
    assert len(versions) <= 2
    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.edited"]  # its own feed's edits count


async def test_a_page_sourced_article_never_takes_versions_from_the_feed(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.status = 403  # the site starts refusing us
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]
    assert receiver.accepted()[0].json["data"]["source"] == "page"


async def test_robots_txt_out_of_reach_is_no_reason_to_switch_to_the_feed(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    assert site.server is not None
    site.link_base = f"http://localhost:{site.server.port}"  # pages on another origin
    site.robots_status, site.robots_failing_host = 503, "localhost"  # passing trouble there
    settings = settings_for(tmp_path, site, receiver)
    assert await run_pass(settings, clock) is True  # the page failed: reported, tried later
    assert types(receiver) == []
    site.robots_status = 200
    clock.advance(HOUR)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]
    assert receiver.accepted()[0].json["data"]["source"] == "page"
