"""Pages that lie for a moment, end to end through `App.run_pass` against the local news site
and a receiver verifying every request with `standardwebhooks`: a live page answering 404 now
and then, error pages served with 200, and articles redirected to the home page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.app import App
from crawler.config import Settings
from crawler.kinds import EVENT_TYPES
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import LEAD, PARAS, NewsSite
from crawler.testing.webhook_receiver import Receiver
from tests.conftest import FakeClock
from tests.e2e_support import run_pass

HOUR = 3600.0


def settings_for(tmp_path: Path, site: NewsSite, receiver: Receiver, **options: str) -> Settings:
    return local_settings(tmp_path, [site.url("/rss.xml")], receiver, events=EVENT_TYPES,
                          **options)


def told(receiver: Receiver) -> list[dict[str, Any]]:
    assert all(r.verified for r in receiver.requests)
    return [r.json for r in receiver.accepted()]


def types(receiver: Receiver) -> list[str]:
    return [body["type"] for body in told(receiver)]


async def seconds_to_next_check(settings: Settings, clock: FakeClock, url: str) -> float:
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(url)
    assert article is not None and article.next_check_at is not None
    return (article.next_check_at - clock.now).total_seconds()


async def test_a_live_page_answering_404_one_request_in_three_is_never_deleted(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.script = [200, 200, 404] * 4  # one node of three behind the balancer lost the page
    for check in range(10):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
        if check % 3 == 2:  # that check met the bad node: confirmed soon, not announced
            url = site.article_url("storm")
            assert await seconds_to_next_check(settings, clock, url) <= 120
    assert types(receiver) == ["article.new"]


async def test_a_real_removal_is_announced_after_a_confirming_check_minutes_later(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.status = 404
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]
    assert await seconds_to_next_check(settings, clock, site.article_url("storm")) <= 120
    clock.advance(120)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.deleted"]
    story.status = 200
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.deleted", "article.restored"]
    deleted, restored = told(receiver)[1:]
    assert deleted["data"]["status"] == 404
    assert restored["data"]["previous_status"] == 404


async def test_delete_checks_one_announces_the_first_404(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver,
                            recheck='delete_checks = 1\nmax_age = "7d"')
    await run_pass(settings, clock)
    story.status = 410
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.deleted"]


async def test_an_article_redirected_to_the_home_page_is_gone_never_diffed(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", "Unions called off the strike.",
             ["The strike planned for Monday will not go ahead, the union said."])
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.redirect_to = "/"  # the CMS sends removed articles home
    for _ in range(8):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.new", "article.deleted"]
    deleted = told(receiver)[2]["data"]
    assert deleted["article"]["url"].startswith(site.article_url("storm"))
    assert deleted["status"] == 404 and deleted["redirected_to"] == site.url("/")
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
        assert article is not None and article.deleted
        assert len(await app.store.get_versions(article.article_id)) == 1


async def test_an_article_redirected_to_its_section_index_is_gone(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.script = ["moved:/news/"]  # once: a passing glitch of the CMS
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]
    story.redirect_to = "/news/"
    for _ in range(2):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.deleted"]
    assert told(receiver)[1]["data"]["redirected_to"] == site.url("/news/")


async def test_an_article_redirected_to_another_tracked_article_is_moved_not_diffed(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("flood", "Floods follow the storm", "Rivers burst their banks on Wednesday.",
             ["Hundreds of homes were flooded along the river, the fire service said.",
              "The army was called in to help evacuate the lower town overnight."])
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.redirect_to = "/news/flood.html"  # merged into the follow-up story
    for _ in range(4):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.new"]
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
        assert article is not None and not article.deleted
        [version] = await app.store.get_versions(article.article_id)
    assert version.title == "Storm hits coast"


BRIEF_LEAD = "The council meeting planned for Thursday is postponed to Friday."
BRIEF = ["The mayor's office gave no reason for the change."]


@pytest.mark.parametrize("error_page", ["unavailable", "indisponible", "zh", "es", "de"])
async def test_a_short_article_alternating_with_a_200_error_page_is_never_edited(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        error_page: str) -> None:
    site.add("council", "Council meeting postponed", BRIEF_LEAD, BRIEF)
    story = site.stories["council"]
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.script = [error_page, 200] * 4
    for _ in range(8):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    assert types(receiver) == ["article.new"]
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("council"))
        assert article is not None
        assert len(await app.store.get_versions(article.article_id)) == 1


async def test_an_error_page_at_first_sight_is_not_an_article(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("council", "Council meeting postponed", BRIEF_LEAD, BRIEF)
    story.script = ["notfound"]
    settings = settings_for(tmp_path, site, receiver)
    assert await run_pass(settings, clock)  # a page failed
    assert types(receiver) == []
    clock.advance(60)
    await run_pass(settings, clock)  # the entry is followed again
    [new] = told(receiver)
    assert new["type"] == "article.new" and BRIEF_LEAD in new["data"]["text"]


async def test_one_placeholder_served_for_many_articles_is_never_announced(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    slugs = ["storm", "flood", "rail", "vote"]
    for n, slug in enumerate(slugs):
        site.add(slug, f"Story {n} of the day", f"{LEAD} Story {n}.",
                 [f"{p} ({slug})" for p in PARAS] * 3)
    settings = settings_for(tmp_path, site, receiver)  # collapse_checks: 3
    await run_pass(settings, clock)
    for slug in slugs:  # a consent wall in front of every article for a while
        site.stories[slug].script = ["consent"] * 5
    for _ in range(5):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    for _ in range(2):  # and gone again
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    assert types(receiver) == ["article.new"] * 4
    async with App(settings, clock=clock) as app:
        for slug in slugs:
            article = await app.store.find_article_by_url(site.article_url(slug))
            assert article is not None
            assert len(await app.store.get_versions(article.article_id)) == 1


async def test_when_the_flap_window_closes_receivers_know_the_current_version(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver, intervals='["1h"]',
                            recheck='flap_window = "1d"\nmax_age = "30d"')
    await run_pass(settings, clock)
    story.title = "Storm batters coast"  # announced
    clock.advance(HOUR)
    await run_pass(settings, clock)
    story.title = "Storm hits coast"  # back within the window: silent, for now
    clock.advance(HOUR)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.edited"]
    for _ in range(25):  # the page stays on it for a day
        clock.advance(HOUR)
        await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.edited", "article.edited"]
    settled = told(receiver)[-1]["data"]
    assert (settled["version"], settled["previous_version"]) == (3, 2)
    assert settled["article"]["title"] == "Storm hits coast"
    assert settled["changes"]["kinds"] == ["headline"]
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
    assert article is not None and settled["content_hash"] == article.current_hash
    clock.advance(HOUR)
    await run_pass(settings, clock)
    assert len(told(receiver)) == 3  # told once


async def test_a_removal_at_the_last_check_is_still_confirmed(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver, intervals='["1h"]',
                            recheck='max_age = "90m"')  # one re-check, then no more
    await run_pass(settings, clock)
    story.status = 404
    clock.advance(HOUR)
    await run_pass(settings, clock)
    clock.advance(120)
    await run_pass(settings, clock)
    assert types(receiver) == ["article.new", "article.deleted"]
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(site.article_url("storm"))
    assert article is not None and article.next_check_at is None  # and that was the last
