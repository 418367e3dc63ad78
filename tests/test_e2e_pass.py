"""End to end through `App.run_pass` (what `crawler once` runs): the local news site, a real
SQLite file and a webhook receiver that verifies every request with `standardwebhooks`.

The wall clock is moved by hand, so re-checks that are hours apart run in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from crawler.app import App, Runtime
from crawler.config import Settings, load_config
from crawler.pipeline import PollOutcome
from crawler.testing.crawler_process import local_settings, write_config
from crawler.testing.news_site import LEAD, PARAS, NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.conftest import FakeClock
from tests.e2e_support import run_pass

HOUR = 3600.0


def settings_for(tmp_path: Path, site: NewsSite, receiver: Receiver) -> Settings:
    return local_settings(tmp_path, [site.url("/rss.xml"), site.url("/atom.xml")], receiver)



async def poll_due(app: Runtime) -> list[PollOutcome]:
    """What the daemon's feed job does at the clock's time: claim the due feeds, poll each."""
    outcomes = [await app.due.poll(state) for state in await app.due.claim_feeds()]
    return [o for o in outcomes if o is not None]


async def configure_feeds(app: Runtime, settings: Settings, clock: FakeClock) -> None:
    """What the daemon does at start: the configured feeds, new ones due now."""
    await app.store.sync_feeds({f.url: clock.now for f in settings.feeds})


def events_of(receiver: Receiver, event_type: str | None = None) -> list[dict[str, Any]]:
    bodies = [r.json for r in receiver.accepted()]
    return [b for b in bodies if event_type is None or b["type"] == event_type]


async def test_new_articles_give_exactly_one_new_event_each(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", "Unions called off Friday's strike.",
             ["The agreement came after talks that lasted through the night.",
              "Trains will run to the normal timetable from Friday morning."])
    settings = settings_for(tmp_path, site, receiver)
    assert await run_pass(settings, clock) is False
    new = events_of(receiver, "article.new")
    assert sorted(e["data"]["article"]["title"] for e in new) == [
        "Rail strike called off", "Storm hits coast"]
    assert all(r.verified for r in receiver.requests)
    storm = next(e for e in new if e["data"]["article"]["title"] == "Storm hits coast")
    assert storm["data"]["version"] == 1
    assert storm["data"]["article"]["canonical_url"] == site.article_url("storm")
    assert storm["data"]["article"]["feed_url"] in settings.feeds[0].url + settings.feeds[1].url
    assert storm["data"]["text"].startswith(LEAD) and PARAS[-1] in storm["data"]["text"]
    assert "Most read" not in storm["data"]["text"] and "Advertisement" not in storm["data"]["text"]
    assert storm["data"]["content_hash"].startswith("sha256:")

    # the same articles seen again (both feeds list them) give nothing new
    clock.advance(60)
    await run_pass(settings, clock)
    assert len(events_of(receiver)) == 2


EDITS = [
    ("one word", lambda s: s.paragraphs.__setitem__(0, PARAS[0].replace("Twelve", "Twenty")),
     ["-Twelve homes", "+Twenty homes"], {"title": False, "body": True}),
    ("new headline", lambda s: setattr(s, "title", "Storm batters northern coast"),
     ["-Storm hits coast", "+Storm batters northern coast"], {"title": True, "body": False}),
    ("added paragraph",
     lambda s: s.paragraphs.append("Officials promised emergency funds for repairs on Monday."),
     ["+Officials promised emergency funds for repairs on Monday."], {"title": False, "body": True}),
]


@pytest.mark.parametrize(("name", "edit", "diff_lines", "changes"), EDITS, ids=[e[0] for e in EDITS])
async def test_each_edit_gives_one_edited_event_with_its_diff(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        name: str, edit: Any, diff_lines: list[str], changes: dict[str, bool]) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    edit(story)
    for _ in range(3):  # the edit is seen on the first re-check, then nothing more
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    edited = events_of(receiver, "article.edited")
    assert len(edited) == 1, [e["data"].get("diff") for e in edited]
    data = edited[0]["data"]
    assert (data["version"], data["previous_version"]) == (2, 1)
    for line in diff_lines:
        assert line in data["diff"]
    for key, value in changes.items():
        assert data["changes"][key] is value
    new = events_of(receiver, "article.new")[0]["data"]
    assert data["previous_hash"] == new["content_hash"] != data["content_hash"]
    assert all(r.verified for r in receiver.requests)


async def test_twenty_polls_of_boilerplate_noise_give_no_event(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    pages_before = sum(1 for r in site.requests if r.startswith("/news/storm"))
    for _ in range(20):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    pages_after = sum(1 for r in site.requests if r.startswith("/news/storm"))
    assert pages_after - pages_before >= 20  # it really looked, every time
    assert [e["type"] for e in events_of(receiver)] == ["article.new"]


async def test_rechecks_continue_after_the_entry_leaves_the_feed(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.in_feed = False
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    story.paragraphs.append("A late correction was added to this report.")
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    assert [e["type"] for e in events_of(receiver)] == ["article.new", "article.edited"]


async def test_a_page_answering_404_gives_one_deleted_event(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    story.status = 404
    for _ in range(3):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    deleted = events_of(receiver, "article.deleted")
    assert len(deleted) == 1
    assert deleted[0]["data"]["status"] == 404 and deleted[0]["data"]["previous_version"] == 1
    assert deleted[0]["data"]["article"]["canonical_url"] == site.article_url("storm")


async def test_receiver_failing_then_recovering_gets_every_event_with_same_ids(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", "Unions called off Friday's strike.",
             ["The agreement came after talks that lasted through the night."])
    receiver.fail_next(6, status=500)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    for _ in range(6):
        clock.advance(HOUR)  # past every retry gap so far
        await run_pass(settings, clock)
    accepted = receiver.accepted()
    assert sorted(r.json["data"]["article"]["title"] for r in accepted) == [
        "Rail strike called off", "Storm hits coast"]
    assert all(r.verified for r in receiver.requests)
    ids_tried = {r.headers["webhook-id"] for r in receiver.requests}
    assert ids_tried == {r.headers["webhook-id"] for r in accepted}  # retries reuse the id
    assert len(receiver.requests) == 6 + 2


async def test_a_broken_feed_affects_only_itself(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    path = write_config(tmp_path, [site.url("/missing.xml"), site.url("/rss.xml")],
                        webhooks=webhook_table(receiver))
    settings = load_config(path)
    assert await run_pass(settings, clock) is True  # a failure is reported ...
    assert [e["type"] for e in events_of(receiver)] == ["article.new"]  # ... others go on
    log_lines = [json.loads(line) for line in (tmp_path / "crawler.jsonl").read_text().splitlines()
                 if line.strip()] if (tmp_path / "crawler.jsonl").exists() else []
    assert log_lines == [] or any(line.get("event") == "feed_failed" for line in log_lines)


async def test_stored_etag_makes_the_next_poll_conditional_and_304_does_nothing(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    clock.advance(60)
    async with App(settings, clock=clock) as app:
        outcome = await app.pipeline.poll_feed(settings.feeds[0])
        state = await app.store.get_feed_state(settings.feeds[0].url)
        versions = await app.store.get_versions(1)
    assert site.feed_headers[0].get("If-None-Match") is None
    assert site.feed_headers[-1].get("If-None-Match", "").startswith('"')
    assert outcome.status == "not_modified"
    assert state is not None and state.last_status == "not_modified" and state.etag
    assert len(versions) == 1
    assert [e["type"] for e in events_of(receiver)] == ["article.new"]


async def test_a_failing_feed_backs_off_persistently_and_others_go_on(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    path = write_config(tmp_path, [site.url("/broken.xml"), site.url("/rss.xml")],
                        webhooks=webhook_table(receiver))
    settings = load_config(path)
    broken, healthy = settings.feeds
    for expected_errors in (1, 2, 3):
        async with App(settings, clock=clock) as app:  # a fresh process each time
            await configure_feeds(app, settings, clock)
            outcomes = {o.feed_url: o for o in await poll_due(app)}
            outcome = outcomes[broken.url]
            assert outcome.status == "error" and outcome.error == "HTTP 500"
            assert outcomes[healthy.url].ok
            state = await app.store.get_feed_state(broken.url)
            assert state is not None and state.consecutive_errors == expected_errors
            assert state.next_poll_at is not None
            backoff = (state.next_poll_at - clock.now).total_seconds()
            assert backoff == broken.interval * 2 ** expected_errors
            # not due again before its backoff has passed: no request is made
            calls = site.requests.count("/broken.xml")
            clock.advance(backoff - 0.5)
            assert [o.feed_url for o in await poll_due(app)] == [healthy.url]
            assert site.requests.count("/broken.xml") == calls
            assert await app.store.count_articles() == 1  # the healthy feed was followed
            clock.advance(1)


@pytest.mark.parametrize(("ttl", "cache_control", "respect", "gap"), [
    (None, None, True, 1.0),                  # the configured interval
    (30, None, True, 1800.0),                 # <ttl>30</ttl>: not sooner than 30 minutes
    (None, "public, max-age=900", True, 900.0),
    (30, "max-age=7200", True, 7200.0),       # the longer of the two
    (30, None, False, 1.0),                   # respect_ttl = false: our own interval
    (10**6, None, True, 6 * 3600.0),          # capped at 6 hours
])
async def test_feed_ttl_and_max_age_slow_polling(
        tmp_path: Path, site: NewsSite, clock: FakeClock, ttl: int | None,
        cache_control: str | None, respect: bool, gap: float) -> None:
    site.feed_ttl_minutes, site.feed_cache_control = ttl, cache_control
    path = write_config(tmp_path, [site.url("/rss.xml")])
    if not respect:
        path.write_text(path.read_text().replace('interval = "1s"',
                                                 'interval = "1s"\nrespect_ttl = false'))
    settings = load_config(path)
    async with App(settings, clock=clock) as app:
        await configure_feeds(app, settings, clock)
        assert len(await poll_due(app)) == 1
        state = await app.store.get_feed_state(settings.feeds[0].url)
        assert state is not None and state.next_poll_at is not None
        assert (state.next_poll_at - clock.now).total_seconds() == gap
        clock.advance(gap - 0.5)
        assert await poll_due(app) == []
        clock.advance(0.5)
        assert len(await poll_due(app)) == 1
        # Unchanged, the feed is answered 304 without a <ttl> or a Cache-Control of its own:
        # the gap the full answer asked for still holds.
        state = await app.store.get_feed_state(settings.feeds[0].url)
        assert state is not None and state.last_status == "not_modified"
        assert state.next_poll_at is not None
        assert (state.next_poll_at - clock.now).total_seconds() == gap


async def test_a_page_that_comes_back_can_be_deleted_again(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    for status in (404, 200, 410):  # taken down, restored unchanged, taken down again
        story.status = status
        for _ in range(1 if status == 200 else 2):  # a removal is confirmed by a second check
            clock.advance(2 * HOUR)
            await run_pass(settings, clock)
    deleted = events_of(receiver, "article.deleted")
    assert [e["data"]["status"] for e in deleted] == [404, 410]
    # The return is an `article.restored`, which the default `events` do not list.
    assert len(events_of(receiver)) == 3


async def test_a_feed_is_polled_once_it_is_due_and_not_before(
        tmp_path: Path, site: NewsSite, clock: FakeClock) -> None:
    path = write_config(tmp_path, [site.url("/rss.xml")])
    path.write_text(path.read_text().replace('interval = "1s"', 'interval = "10m"'))
    settings = load_config(path)
    async with App(settings, clock=clock) as app:
        await configure_feeds(app, settings, clock)
        assert len(await poll_due(app)) == 1  # a new feed is due at once
        assert await poll_due(app) == []  # polled: due again in 10 minutes
        clock.advance(600 - 1)
        assert await poll_due(app) == []
        clock.advance(1)
        assert len(await poll_due(app)) == 1
        # A restart keeps the next poll: the store, not the scheduler, knows when it is due.
    async with App(settings, clock=clock) as app:
        await configure_feeds(app, settings, clock)
        assert await poll_due(app) == []
    assert site.requests.count("/rss.xml") == 2


async def test_a_reload_that_removes_a_feed_stops_its_polls_and_keeps_its_history(
        tmp_path: Path, site: NewsSite, clock: FakeClock) -> None:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    path = write_config(tmp_path, [site.url("/rss.xml"), site.url("/atom.xml")])
    settings = load_config(path)
    rss, atom = (f.url for f in settings.feeds)
    async with App(settings, clock=clock) as app:
        await configure_feeds(app, settings, clock)
        assert {o.feed_url for o in await poll_due(app)} == {rss, atom}
        only_atom = settings.model_copy(update={"feeds": settings.feeds[1:]})
        await configure_feeds(app, only_atom, clock)
        app.use(only_atom)
        clock.advance(2)
        assert [o.feed_url for o in await poll_due(app)] == [atom]
        # Added back: polled again at its old cadence, its state kept.
        await configure_feeds(app, settings, clock)
        app.use(settings)
        assert {o.feed_url for o in await poll_due(app)} == {rss}
        state = await app.store.get_feed_state(rss)
        assert state is not None and state.entries == 1


async def test_an_entry_keeps_its_article_when_its_link_changes(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = settings_for(tmp_path, site, receiver)
    await run_pass(settings, clock)
    # The story is retitled and the CMS gives it a new slug: new link and new canonical URL,
    # same guid. It is the same article, not a new one.
    story.title, story.path_slug = "Storm batters coast", "storm-batters-coast"
    clock.advance(60)
    await run_pass(settings, clock)
    assert [e["type"] for e in events_of(receiver)] == ["article.new"]
    async with App(settings, clock=clock) as app:
        by_new_link = await app.store.find_article_by_url(site.article_url("storm"))
        assert by_new_link is not None and by_new_link.article_id == 1


async def test_hostile_feeds_and_a_bomb_page_fail_alone_and_store_nothing(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    """RELIABILITY 25-27 in a real pass: a billion-laughs feed and an XXE feed are refused and
    marked failed, a feed whose article page is a gzip bomb stores no article, the local
    file named by the XXE appears nowhere, and the news site's feed goes on."""
    from tests.hostile_server import raw, recording_app, serve, text
    from tests.test_feeds import BILLION_LAUGHS, _xxe
    from tests.test_fetch_limits import _gzip_bomb

    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:TOPSECRET")
    site.add("storm", "Storm hits coast", LEAD, PARAS)

    async def bomb_feed(request: web.Request) -> web.Response:
        link = f"http://{request.host}/bomb.html"
        return web.Response(text=f'<?xml version="1.0"?><rss version="2.0"><channel><title>B'
                                 f"</title><item><title>Bomb</title><link>{link}</link></item>"
                                 "</channel></rss>", content_type="application/rss+xml")

    routes = {"/laughs.xml": text(BILLION_LAUGHS), "/xxe.xml": text(_xxe(secret)),
              "/bomb-feed.xml": bomb_feed,
              "/bomb.html": raw(_gzip_bomb(64 * 1024 * 1024), content_encoding="gzip")}
    app, hits = recording_app(routes)
    async with serve(app) as hostile:
        base = f"http://127.0.0.1:{hostile.port}"
        feeds = [f"{base}/laughs.xml", f"{base}/xxe.xml", f"{base}/bomb-feed.xml",
                 site.url("/rss.xml")]
        settings = load_config(write_config(tmp_path, feeds, webhooks=webhook_table(receiver)))
        async with App(settings, clock=clock) as app_:
            summary = await app_.run_pass()
            states = {s.feed_url: s for s in await app_.store.list_feed_states()}
            assert await app_.store.count_articles() == 1
    assert summary.failed
    for feed in feeds[:2]:
        assert states[feed].last_status == "error" and states[feed].consecutive_errors == 1
        assert "entities" in (states[feed].last_error or "")
    assert "/bomb.html" in hits.paths  # fetched, and cut at the cap
    assert states[feeds[3]].last_status == "ok"
    assert [e["type"] for e in events_of(receiver)] == ["article.new"]
    stored = (tmp_path / "crawler.db").read_bytes()
    assert b"TOPSECRET" not in stored
    assert all("TOPSECRET" not in r.body.decode() for r in receiver.requests)
