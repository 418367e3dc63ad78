"""An extractor upgrade re-baselines articles silently instead of announcing invented edits.

The recorder is driven directly against a real SQLite store (`EXTRACTOR_VERSION` changed by
monkeypatch between checks); the last test goes through `App.run_pass` with the local news
site and a webhook receiver.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crawler.app import App, Runtime
from crawler.config import load_config
from crawler.extract import ExtractedArticle
from crawler.extract import version as extractor
from crawler.log_context import unit
from crawler.metrics import Metrics
from crawler.models import Article, Content, Sighting
from crawler.recorder import CheckOutcome, Recorder
from crawler.store.sqlite import SQLiteStore
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import LEAD, PARAS, NewsSite
from crawler.testing.webhook_receiver import Receiver, make_secret, webhook_table
from crawler.textnorm import make_content
from tests.conftest import FakeClock
from tests.log_capture import capture_logs

URL = "https://news.example/world/storm"
FEED = "https://news.example/rss"
HOUR = 3600.0
# What the old extractor kept and the new one drops: the upgrade's only effect on the text.
RELATED = "Related: more storms expected along the coast this winter"


def text(*paragraphs: str) -> Content:
    return make_content("Storm hits coast", "\n\n".join(paragraphs))


class Harness:
    """A recorder on a real store, with one webhook configured so events get deliveries."""

    def __init__(self, tmp_path: Path, store: SQLiteStore, clock: FakeClock) -> None:
        hook = f'[[webhooks]]\nurl = "http://127.0.0.1:9/hook"\nsecret = "{make_secret()}"\n'
        settings = load_config(write_config(tmp_path, [FEED], webhooks=hook,
                                            recheck='flap_window = "1d"\nmax_age = "30d"'))
        self.db = tmp_path / "crawler.db"
        self.store, self.clock = store, clock
        self.metrics = Metrics(process_metrics=False)
        self.recorder = Recorder(store, lambda: settings, clock=clock, metrics=self.metrics,
                                 on_event=lambda: None)

    async def article(self) -> Article:
        found = await self.store.find_article_by_url(URL)
        assert found is not None
        return found

    async def first(self, content: Content) -> CheckOutcome:
        tracked = await self.store.find_article_by_url(URL)
        with unit(url=URL):  # as a first sight's
            return await self.recorder.first_version(Sighting(URL, URL, FEED, content), tracked)

    async def check(self, content: Content, after: float = HOUR) -> CheckOutcome:
        self.clock.advance(after)
        article = await self.article()
        with unit(url=URL, article_id=article.article_id):  # as a re-check's
            return await self.recorder.compare(article, content)

    def events(self) -> list[str]:
        with sqlite3.connect(self.db) as db:
            return [row[0] for row in db.execute("SELECT type FROM events ORDER BY created_at")]

    def deliveries(self) -> int:
        with sqlite3.connect(self.db) as db:
            return int(db.execute("SELECT count(*) FROM deliveries").fetchone()[0])


@pytest.fixture
def harness(tmp_path: Path, store: SQLiteStore, clock: FakeClock) -> Harness:
    return Harness(tmp_path, store, clock)


@pytest.fixture
def upgrade(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`upgrade(n)`: from now on the running extractor is version n."""
    def to(number: int) -> None:
        monkeypatch.setattr(extractor, "EXTRACTOR_VERSION", number)
    to(1)
    return to


async def test_first_different_text_after_an_upgrade_is_stored_silently(
        harness: Harness, upgrade: Any) -> None:
    assert (await harness.first(text(LEAD, *PARAS, RELATED))).result == "new"
    assert (await harness.check(text(LEAD, *PARAS, RELATED))).result == "unchanged"
    upgrade(2)
    with capture_logs() as logs:
        outcome = await harness.check(text(LEAD, *PARAS))
    assert outcome == CheckOutcome(ok=True, result="rebaselined")
    assert harness.events() == ["article.new"] and harness.deliveries() == 1
    versions = await harness.store.get_versions((await harness.article()).article_id)
    assert [(v.number, v.extractor_version) for v in versions] == [(1, 1), (2, 2)]
    assert versions[-1].text == text(LEAD, *PARAS).text
    [line] = [e for e in logs if e["event"] == "rebaselined"]
    assert line["log_level"] == "info" and line["url"] == URL
    assert (line["previous_extractor_version"], line["extractor_version"]) == (1, 2)
    assert isinstance(line["article_id"], int)
    assert b"crawler_rebaselined_total 1.0" in harness.metrics.render()
    article = await harness.article()
    assert article.extractor_version == 2 and article.next_check_at is not None
    assert article.next_check_at > harness.clock.now  # re-checked on its usual schedule

    # from now on a difference is the publisher's: announced once
    assert (await harness.check(text(LEAD, *PARAS))).result == "unchanged"
    edited = text(LEAD, PARAS[0].replace("Twelve", "Twenty"), *PARAS[1:])
    assert (await harness.check(edited)).result == "edited"
    assert (await harness.check(edited)).result == "unchanged"
    assert harness.events() == ["article.new", "article.edited"]
    assert b"crawler_rebaselined_total 1.0" in harness.metrics.render()


async def test_same_text_under_the_new_extractor_confirms_it_and_later_edits_are_news(
        harness: Harness, upgrade: Any) -> None:
    await harness.first(text(LEAD, *PARAS))
    upgrade(2)
    assert (await harness.check(text(LEAD, *PARAS))).result == "unchanged"
    article = await harness.article()
    assert article.extractor_version == 2 and article.current_version == 1
    # no new version; the stored one keeps the extractor that stored it
    [version] = await harness.store.get_versions(article.article_id)
    assert version.extractor_version == 1
    # days later the publisher edits: that is not swallowed as a re-baseline
    assert (await harness.check(text(LEAD, *PARAS, "A late correction."), 3 * 86400)).result \
        == "edited"
    assert harness.events() == ["article.new", "article.edited"]


async def test_an_edit_back_to_the_replaced_text_is_not_taken_for_a_flap(
        harness: Harness, upgrade: Any) -> None:
    await harness.first(text(LEAD, *PARAS))
    upgrade(2)
    # the new extractor happens to keep a line the old one dropped
    assert (await harness.check(text(LEAD, *PARAS, RELATED))).result == "rebaselined"
    # within the flap window, the publisher removes that line: the text is now the very
    # text version 1 had, but version 1 never was this page's text under this extractor
    assert (await harness.check(text(LEAD, *PARAS))).result == "edited"
    assert harness.events() == ["article.new", "article.edited"]


async def test_a_shorter_text_from_the_new_extractor_is_no_collapse(
        harness: Harness, upgrade: Any) -> None:
    boilerplate = [f"Boilerplate line number {i} that the old extractor kept." for i in range(12)]
    await harness.first(text(LEAD, *PARAS, *boilerplate))
    upgrade(2)
    assert (await harness.check(text(LEAD, *PARAS))).result == "rebaselined"
    article = await harness.article()
    assert article.collapse_count == 0 and article.current_version == 2
    assert (await harness.check(text(LEAD, *PARAS))).result == "unchanged"
    assert harness.events() == ["article.new"]


async def test_flaps_between_new_extractor_versions_stay_silent(
        harness: Harness, upgrade: Any) -> None:
    await harness.first(text(LEAD, *PARAS))
    upgrade(2)
    a, b = text(LEAD, *PARAS, "Version A."), text(LEAD, *PARAS, "Version B.")
    assert (await harness.check(a)).result == "rebaselined"
    assert (await harness.check(b)).result == "edited"
    assert (await harness.check(a)).result == "flapped"  # the usual rule, once re-baselined
    assert harness.events() == ["article.new", "article.edited"]


async def test_a_deletion_after_an_upgrade_is_announced(
        harness: Harness, upgrade: Any) -> None:
    await harness.first(text(LEAD, *PARAS))
    upgrade(2)
    harness.clock.advance(HOUR)
    article = await harness.article()
    assert (await harness.recorder.gone(article, 404)).result == "missing"  # to be confirmed
    article = await harness.article()
    assert (await harness.recorder.gone(article, 404)).result == "deleted"
    assert harness.events() == ["article.new", "article.deleted"]


async def test_an_upgrade_pass_sends_receivers_nothing(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        upgrade: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    settings = load_config(write_config(tmp_path, [site.url("/rss.xml")],
                                        webhooks=webhook_table(receiver)))

    async def run_pass() -> Runtime:
        async with App(settings, clock=clock) as app:
            await app.run_pass()
        return app

    await run_pass()
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new"]

    # the upgrade: a new extractor that no longer keeps the lead, and a new version number
    import crawler.extract
    import crawler.pages

    original = crawler.extract.extract_article

    def new_extractor(html: str, url: str, rules: Any = None, *,
                      utf8: bytes | None = None) -> ExtractedArticle:
        found = original(html, url, rules, utf8=utf8)
        kept = [p for p in found.text.split("\n\n") if p != LEAD]
        return ExtractedArticle(found.title, "\n\n".join(kept), found.canonical_url)

    monkeypatch.setattr(crawler.pages, "extract_article", new_extractor)
    upgrade(2)
    clock.advance(2 * HOUR)
    app = await run_pass()
    assert [r.json["type"] for r in receiver.accepted()] == ["article.new"]
    assert b"crawler_rebaselined_total 1.0" in app.metrics.render()

    story.paragraphs[0] = PARAS[0].replace("Twelve", "Twenty")
    clock.advance(2 * HOUR)
    await run_pass()
    clock.advance(2 * HOUR)
    await run_pass()
    accepted = [r.json for r in receiver.accepted()]
    assert [e["type"] for e in accepted] == ["article.new", "article.edited"]
    diff = accepted[1]["data"]["diff"]
    assert "+Twenty homes" in diff and LEAD not in diff  # the upgrade's change is not in it
    assert accepted[1]["data"]["previous_version"] == 2
