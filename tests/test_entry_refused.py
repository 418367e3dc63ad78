"""An entry whose page is refused (403) and whose entry carries no text: nothing can be
tracked of it. A guid reused for such a story (the CMS gave a new story the guid of an old
one, at a link that answers 403, in a feed of links without text) was a failed page on
every poll: the feed's validators were never kept, every pass of `crawler once` failed. It
is noted once and asked again on the re-check schedule; once readable, it is a new story."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.app import App
from crawler.config import RecheckSettings
from crawler.refusals import Refusals
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import LEAD, PARAS, NewsSite
from crawler.testing.webhook_receiver import Receiver
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.log_capture import capture_logs

FIRE = ["Firefighters fought a blaze at the docks through the night, the port said.",
        "Two warehouses were destroyed and a third was badly damaged by the flames."]
FIRE_PAGE = "/news/fire.html"


def reuse_guid_for_a_refused_story(site: NewsSite) -> None:
    """The storm's guid now names the fire, at a new link answering 403; the feed carries
    links and titles only."""
    old = site.stories.pop("storm")
    old.slug, old.path_slug, old.in_feed = "old-storm", "storm", False
    site.stories["old-storm"] = old
    fire = site.add("storm", "Fire at the docks", "A fire broke out at the docks.", FIRE)
    fire.path_slug, fire.status = "fire", 403
    rss = site.rss
    site.rss = lambda: re.sub(  # type: ignore[method-assign]
        r"<description>.*?</description>|<content:encoded>.*?</content:encoded>", "", rss())


def fire_requests(site: NewsSite) -> int:
    return site.requests.count(FIRE_PAGE)


async def test_a_reused_guid_at_a_refused_page_fails_no_pass(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    assert not await run_pass(settings, clock)
    reuse_guid_for_a_refused_story(site)
    with capture_logs() as logs:
        failed = []
        for _ in range(3):  # the feed stays the same: answered 304 once its validators stay
            clock.advance(3600)
            failed.append(await run_pass(settings, clock))
    assert failed == [False, False, False]
    assert fire_requests(site) == 1
    [unreadable] = [line for line in logs if line["event"] == "page_unreadable"]
    assert unreadable["reason"] == "refused, and its entry carries no text"
    assert not [line for line in logs if line["event"] == "page_failed"]
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new"]


async def test_a_refused_page_is_asked_again_on_the_recheck_schedule_not_every_poll(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    async with App(settings, clock=clock) as app:  # one daemon: what it learnt stays
        await app.run_pass()
        reuse_guid_for_a_refused_story(site)
        asked = []
        for _ in range(12):  # every 5 minutes for an hour, the feed changing every time
            site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
            assert not (await app.run_pass()).failed
            asked.append(fire_requests(site))
            clock.advance(300)
        # Asked at once, then 10 and 40 minutes later (`[recheck] intervals` 10m, 30m, ...).
        assert asked == [1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3]
        site.stories["storm"].status = 200  # readable now: the next try finds the story
        clock.advance(3600)
        site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
        await app.run_pass()
    accepted = receiver.accepted()
    assert [r.json["type"] for r in accepted] == ["article.new", "article.new"]
    assert accepted[1].json["data"]["article"]["title"] == "Fire at the docks"


T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LINK = "https://news.example/a"


def test_refusals_wait_on_the_recheck_schedule_and_end_past_max_age() -> None:
    refusals = Refusals(lambda: RecheckSettings.model_validate(
        {"intervals": ["10m", "30m"], "max_age": "1h"}))
    assert not refusals.waiting(LINK, T0)
    refusals.refused(LINK, T0)
    table = [(599, True), (600, False)]
    assert [(s, refusals.waiting(LINK, T0 + timedelta(seconds=s))) for s, _ in table] == table
    refusals.refused(LINK, T0 + timedelta(seconds=600))  # then 30 minutes, the last gap
    assert refusals.waiting(LINK, T0 + timedelta(seconds=2399))
    assert not refusals.waiting(LINK, T0 + timedelta(seconds=2400))
    refusals.refused(LINK, T0 + timedelta(seconds=2400))  # past max_age: never again
    assert refusals.waiting(LINK, T0 + timedelta(days=30))
    refusals.readable(LINK)  # once read, it is forgotten
    assert not refusals.waiting(LINK, T0 + timedelta(days=30))


def test_refusals_are_bounded() -> None:
    refusals = Refusals(lambda: RecheckSettings(), max_links=2)
    for n in range(3):
        refusals.refused(f"{LINK}/{n}", T0)
    assert [refusals.waiting(f"{LINK}/{n}", T0) for n in range(3)] == [False, True, True]
