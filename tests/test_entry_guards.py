"""The rules against invented and missed edits where feeds lie about their entries, end to
end through `App.run_pass`: a guid reused for another story, two entries for one page, a
story in a full-content feed and a summary feed, links and titles changing under a story."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler import entries
from crawler.app import App
from crawler.config import Settings
from crawler.decision import fuller
from crawler.testing import news_site
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import LEAD, NewsSite, Story
from crawler.testing.webhook_receiver import Receiver
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.log_capture import capture_logs

PARAS = [*news_site.PARAS,
         "Repairs to the sea wall are expected to take several months and cost millions."]
FIRE = ["Firefighters fought a blaze at the docks through the night, the port said.",
        "Two warehouses were destroyed and a third was badly damaged by the flames.",
        "The cause of the fire is not yet known and an inquiry has been opened."]
HOUR = 3600.0


def types(receiver: Receiver) -> list[str]:
    return [r.json["type"] for r in receiver.accepted()]


async def polls(settings: Settings, clock: FakeClock, site: NewsSite, count: int) -> None:
    """`count` passes an hour apart, the feed's bytes changing each time (its <ttl>): a feed
    that changes for other stories is read again, not answered 304."""
    for _ in range(count):
        site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
        await run_pass(settings, clock)
        clock.advance(HOUR)


async def versions_of(settings: Settings, clock: FakeClock, url: str) -> list[str]:
    async with App(settings, clock=clock) as app:
        article = await app.store.find_article_by_url(url)
        assert article is not None
        return [v.text for v in await app.store.get_versions(article.article_id)]


@pytest.mark.parametrize("section", ["news", "private"])  # read from its page, its entry
async def test_a_guid_reused_for_another_story_is_a_new_article_not_an_edit(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        section: str) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS).section = section
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    await polls(settings, clock, site, 2)
    # The CMS gives the storm's guid to a new story at a new URL; the storm's page stays.
    old = site.stories.pop("storm")
    old.slug, old.path_slug, old.in_feed = "old-storm", "storm", False
    site.stories["old-storm"] = old
    fire = site.add("storm", "Fire at the docks", "A fire broke out at the docks.", FIRE)
    fire.section, fire.path_slug = section, "fire"
    await polls(settings, clock, site, 1)
    if section == "news":  # read once: to tell the story, and as its first sight
        assert [r for r in site.requests if r.startswith("/news/fire")] == ["/news/fire.html"]
    await polls(settings, clock, site, 3)
    assert types(receiver) == ["article.new", "article.new"]
    assert receiver.accepted()[1].json["data"]["article"]["title"] == "Fire at the docks"
    assert len(await versions_of(settings, clock, site.url(f"/{section}/storm.html"))) == 1
    if section == "private":  # the guid now leads to the fire's article: its edits count
        fire.paragraphs[1] = FIRE[1].replace("Two", "Three")
        await polls(settings, clock, site, 1)
        assert types(receiver) == ["article.new", "article.new", "article.edited"]
        assert "+Three warehouses" in receiver.accepted()[2].json["data"]["diff"]


async def test_two_entries_for_one_page_in_one_feed_are_compared_as_one(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    # An update published beside the original entry (its own guid, the same page): compared
    # with both, a feed-sourced article would take the two texts in turn on every poll.
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"  # tracked from its feed entry
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    await polls(settings, clock, site, 1)
    update = Story("storm-update", story.title, LEAD,
                   [PARAS[0].replace("Twelve", "Twenty"), *PARAS[1:]],
                   section="private", path_slug="storm")
    site.stories = {"storm-update": update, **site.stories}  # newest first
    await polls(settings, clock, site, 4)
    assert types(receiver) == ["article.new", "article.edited"]
    texts = await versions_of(settings, clock, site.article_url("storm"))
    assert len(texts) == 2 and "Twenty homes" in texts[-1]


async def test_a_story_in_a_full_feed_and_a_summary_feed_with_a_readable_page_is_one_article(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = local_settings(tmp_path, [site.url("/rss.xml"), site.url("/atom.xml")],
                              receiver)
    await polls(settings, clock, site, 5)
    assert types(receiver) == ["article.new"]
    assert receiver.accepted()[0].json["data"]["source"] == "page"
    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    await polls(settings, clock, site, 2)
    assert types(receiver) == ["article.new", "article.edited"]


async def test_a_link_whose_query_changes_on_every_poll_stays_one_article(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    rss = site.rss
    for poll in range(4):  # a cache-buster and a campaign tag, new on every poll
        def busted(poll: int = poll) -> str:
            return rss().replace("?utm_source=rss", f"?v={poll}&amp;utm_campaign=c{poll}")
        site.rss = busted  # type: ignore[method-assign]
        await polls(settings, clock, site, 1)
    assert types(receiver) == ["article.new"]
    pages = [r for r in site.requests if r.startswith("/news/storm.html")]
    assert len(pages) <= 5  # the first sight, its re-checks: not a fetch for every new link


async def test_an_entry_title_changing_while_the_headline_stays_is_no_edit(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    await polls(settings, clock, site, 1)
    rss = site.rss
    site.rss = lambda: rss().replace(  # type: ignore[method-assign]
        "<title>Storm hits coast", "<title>LIVE: Storm hits coast")
    await polls(settings, clock, site, 4)
    assert types(receiver) == ["article.new"]


async def test_a_truncated_full_content_feed_is_announced_once_it_lasts(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    # A feed-sourced article whose entry is cut to its lead: a collapse, announced only once
    # it lasted `collapse_checks` polls (the text receivers can read did shrink), then quiet.
    site.add("storm", "Storm hits coast", LEAD, PARAS).section = "private"
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    await polls(settings, clock, site, 1)
    site.entry_html = lambda story: f"<p>{story.lead}</p>"  # type: ignore[method-assign]
    seen = []
    for _ in range(5):
        await polls(settings, clock, site, 1)
        seen.append(types(receiver).count("article.edited"))
    assert seen == [0, 0, 1, 1, 1]


async def test_an_edit_under_a_new_cache_buster_of_a_feed_sourced_article_is_an_edit(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    # No guid, and a link whose query changes on every poll: each entry is a first sight.
    # The page may not be read, so the entry alone must tell the article edited from a new one.
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"
    settings = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    rss = site.rss
    for poll in range(4):
        def busted(poll: int = poll) -> str:
            text = re.sub(r"<guid[^<]*</guid>", "", rss())
            return text.replace("?utm_source=rss", f"?v={poll}&amp;utm_source=rss")
        site.rss = busted  # type: ignore[method-assign]
        if poll == 2:
            story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
        await polls(settings, clock, site, 1)
    assert types(receiver) == ["article.new", "article.edited"]
    assert "+Twenty homes" in receiver.accepted()[1].json["data"]["diff"]


async def test_a_feed_sourced_article_first_seen_in_a_summary_feed_moves_to_the_full_feed(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    # The page is refused: the article is tracked from an entry. The summary feed was read
    # first (added first, or polled first), so its summary was the text tracked; the full
    # feed's edits were never compared with anything.
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"  # robots.txt: Disallow: /private/
    summaries = local_settings(tmp_path, [site.url("/atom.xml")], receiver)
    await polls(summaries, clock, site, 1)
    assert types(receiver) == ["article.new"]
    assert receiver.accepted()[0].json["data"]["text"] == LEAD
    both = local_settings(tmp_path, [site.url("/atom.xml"), site.url("/rss.xml")], receiver)
    with capture_logs() as logs:
        await polls(both, clock, site, 3)
    assert types(receiver) == ["article.new"]  # two feeds' cuts differ: nobody edited it
    moved = [line for line in logs if line["event"] == "rebaselined"]
    assert len(moved) == 1 and moved[0]["to_feed"] == site.url("/rss.xml")
    url = site.article_url("storm")
    texts = await versions_of(both, clock, url)
    assert texts[-1].endswith(PARAS[-1])  # the full text is the baseline now
    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    await polls(both, clock, site, 2)
    assert types(receiver) == ["article.new", "article.edited"]
    assert "+Twenty homes" in receiver.accepted()[-1].json["data"]["diff"]
    async with App(both, clock=clock) as app:
        article = await app.store.find_article_by_url(url)
    assert article is not None
    assert (article.feed_url, article.tracked_feed) == (site.url("/atom.xml"),
                                                       site.url("/rss.xml"))


async def test_a_feed_sourced_article_whose_feed_left_the_config_is_compared_in_another(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"
    full = local_settings(tmp_path, [site.url("/rss.xml")], receiver)
    await polls(full, clock, site, 1)
    # The full feed is dropped from the config; the summary feed still lists the story.
    summaries = local_settings(tmp_path, [site.url("/atom.xml")], receiver)
    with capture_logs() as logs:
        await polls(summaries, clock, site, 3)
    assert types(receiver) == ["article.new"]  # the summary is a re-baseline, not a cut
    assert [line["reason"] for line in logs if line["event"] == "rebaselined"] == [
        "its feed is no longer configured"]
    story.lead = LEAD.replace("Tuesday", "Wednesday")
    await polls(summaries, clock, site, 2)
    assert types(receiver) == ["article.new", "article.edited"]  # compared again
    assert "Wednesday night" in receiver.accepted()[-1].json["data"]["diff"]


async def test_a_feed_sourced_article_never_moves_to_an_entry_that_is_an_error_message(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"
    await polls(local_settings(tmp_path, [site.url("/rss.xml")], receiver), clock, site, 1)
    summaries = local_settings(tmp_path, [site.url("/atom.xml")], receiver)
    story.lead = "Service unavailable"  # what the summary feed says for a while
    with capture_logs() as logs:
        await polls(summaries, clock, site, 2)
    assert not [line for line in logs if line["event"] == "rebaselined"]
    url = site.article_url("storm")
    assert len(await versions_of(summaries, clock, url)) == 1
    story.lead = LEAD
    await polls(summaries, clock, site, 2)
    assert types(receiver) == ["article.new"]
    assert (await versions_of(summaries, clock, url))[-1] == LEAD


async def test_another_feed_s_unchanged_entry_is_weighed_once_not_on_every_poll(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    weighed: list[str] = []

    def counting(previous: str, current: str) -> bool:
        weighed.append(current)
        return fuller(previous, current)

    monkeypatch.setattr(entries, "fuller", counting)
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"
    await polls(local_settings(tmp_path, [site.url("/rss.xml")], receiver), clock, site, 1)
    both = local_settings(tmp_path, [site.url("/rss.xml"), site.url("/atom.xml")], receiver)
    async with App(both, clock=clock) as app:  # one daemon: what it learnt stays with it
        for _ in range(3):  # the summary feed changes for other stories each time
            site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
            await app.run_pass()
            clock.advance(HOUR)
        assert weighed == [LEAD]
        story.lead = LEAD.replace("Tuesday", "Wednesday")  # its entry changes: weighed again
        await app.run_pass()
        assert len(weighed) == 2 and "Wednesday" in weighed[-1]
        assert types(receiver) == ["article.new", "article.edited"]
        site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
        await app.run_pass()  # weighed against the edited article, and remembered
        weighed.clear()
        site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
        await app.run_pass()
        assert weighed == []
        # A reload drops the full feed: the entry weighed before now moves the article.
        app.use(local_settings(tmp_path, [site.url("/atom.xml")], receiver))
        site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
        with capture_logs() as logs:
            await app.run_pass()
    assert [line["reason"] for line in logs if line["event"] in ("rebaselined", "feed_moved")
            ] == ["its feed is no longer configured"]
