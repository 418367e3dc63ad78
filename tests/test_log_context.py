"""The context of a unit of work on its log lines (`crawler.log_context`): the unit's keys and
clock inside it and nowhere else, nested units restoring the outer one, concurrent tasks
keeping their own; then the crawler's units against the local news site, and the lines as
the configured chain writes them (JSON and console)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
import structlog

from crawler.app import App
from crawler.config import LoggingSettings, Settings
from crawler.fetch import Fetcher
from crawler.log_context import merge_unit_context, unit, unit_ms
from crawler.logging_setup import configure_logging
from crawler.models import Article
from crawler.pipeline import Pipeline
from crawler.store.sqlite import SQLiteStore
from crawler.testing.clock import FakeClock
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import LEAD, PARAS, NewsSite
from tests.log_capture import capture_logs

log = structlog.get_logger("crawler.test")
Lines = list[MutableMapping[str, Any]]
UNIT_KEYS = ("feed", "url", "article_id", "source", "probe")


def context_of(line: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: line[k] for k in UNIT_KEYS if k in line}


class Counter:
    """`time.perf_counter` moved by hand: units' durations without measuring any."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def counter(monkeypatch: pytest.MonkeyPatch) -> Counter:
    fake = Counter()
    monkeypatch.setattr("crawler.log_context.time.perf_counter", fake)
    return fake


# --- the helper ------------------------------------------------------------------------------
def test_a_units_keys_are_on_its_lines_and_gone_after_it() -> None:
    with capture_logs() as logs:
        log.info("before")
        with unit(url="https://e.org/a", article_id=7):
            log.info("inside", result="new")
        log.info("after")
    assert [(line["event"], context_of(line)) for line in logs] == [
        ("before", {}), ("inside", {"url": "https://e.org/a", "article_id": 7}), ("after", {})]
    assert structlog.contextvars.get_contextvars() == {}


def test_a_key_the_line_passes_wins_over_the_units() -> None:
    with capture_logs() as logs, unit(url="https://e.org/a"):
        log.info("robots_unreachable", url="https://e.org/robots.txt")
    assert logs[0]["url"] == "https://e.org/robots.txt"


def test_a_nested_unit_restores_the_outer_ones_keys_and_clock(counter: Counter) -> None:
    assert unit_ms() is None  # no unit: no duration to tell
    with capture_logs() as logs, unit(feed="https://e.org/rss"):
        counter.now += 1.0
        with unit(feed="https://e.org/rss", url="https://e.org/a"):
            counter.now += 0.25
            log.info("page_checked", ms=unit_ms())
        log.info("feed_polled", ms=unit_ms())
    assert unit_ms() is None
    assert [(line["event"], context_of(line), line["ms"]) for line in logs] == [
        ("page_checked", {"feed": "https://e.org/rss", "url": "https://e.org/a"}, 250.0),
        ("feed_polled", {"feed": "https://e.org/rss"}, 1250.0)]


def test_a_unit_left_by_an_exception_restores_the_outer_one() -> None:
    with capture_logs() as logs, unit(feed="https://e.org/rss"):
        with pytest.raises(RuntimeError), unit(url="https://e.org/a"):
            raise RuntimeError("a bug")
        log.info("feed_polled")
    assert context_of(logs[0]) == {"feed": "https://e.org/rss"}


async def test_concurrent_units_each_keep_their_own_keys() -> None:
    """Two tasks whose units interleave line by line (each waits for the other's line)."""
    turns = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def check(name: str, other: str) -> None:
        with unit(url=f"https://e.org/{name}"):
            for step in range(3):
                if name == "b" or step:
                    await turns[name].wait()
                    turns[name].clear()
                log.info("step", name=name, step=step)
                turns[other].set()

    with capture_logs() as logs:
        await asyncio.gather(check("a", "b"), check("b", "a"))
        log.info("after")
    assert [line.get("name") for line in logs] == ["a", "b", "a", "b", "a", "b", None]
    assert all(line["url"] == f"https://e.org/{line['name']}" for line in logs[:-1])
    assert "url" not in logs[-1]


# --- the crawler's units, against the local site ------------------------------------------
@pytest.fixture
def settings(tmp_path: Path, site: NewsSite) -> Settings:
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("rail", "Rail strike called off", "Unions called off Friday's strike.", PARAS)
    return local_settings(tmp_path, [site.url("/rss.xml")])


@pytest.fixture
async def pipeline(settings: Settings, store: SQLiteStore,
                   clock: FakeClock) -> AsyncIterator[Pipeline]:
    async with Fetcher(settings.fetch) as fetcher:
        yield Pipeline(settings, store, fetcher, clock=clock)


def lines(logs: Lines, event: str) -> Lines:
    return [line for line in logs if line["event"] == event]


async def test_a_polls_entries_carry_their_own_url_and_the_poll_its_feed(
        site: NewsSite, settings: Settings, pipeline: Pipeline) -> None:
    feed = site.url("/rss.xml")
    with capture_logs() as logs:
        outcome = await pipeline.poll_feed(settings.feeds[0])
        log.info("after")
    assert outcome.new_articles == 2
    checked = lines(logs, "page_checked")
    assert sorted((line["url"], line["feed"]) for line in checked) == [
        (site.url("/news/rail.html"), feed),
        (site.url("/news/storm.html"), feed)]
    assert all(isinstance(line["ms"], float) for line in checked)
    [polled] = lines(logs, "feed_polled")
    assert context_of(polled) == {"feed": feed}  # the entries' urls ended with them
    assert isinstance(polled["ms"], float)
    # The poll's clock, restored after each entry's: started before them, read after them.
    assert polled["ms"] >= max(line["ms"] for line in checked)
    assert context_of(logs[-1]) == {}


async def test_concurrent_rechecks_each_log_their_own_article(
        site: NewsSite, settings: Settings, store: SQLiteStore, pipeline: Pipeline,
        clock: FakeClock) -> None:
    await pipeline.poll_feed(settings.feeds[0])
    articles = [await store.find_article_by_url(site.url(f"/news/{slug}.html"))
                for slug in ("storm", "rail")]
    assert all(articles)
    site.stories["rail"].status = 404
    site.stories["storm"].paragraphs[0] += " The road reopened."
    site.page_delay = 0.05  # both checks wait on their page at once: their lines interleave
    clock.advance(7200)
    with capture_logs() as logs:
        outcomes = await asyncio.gather(*(pipeline.check_article(a) for a in articles
                                          if isinstance(a, Article)))
        log.info("after")
    assert [o.result for o in outcomes] == ["edited", "missing"]
    by_id = {a.article_id: a.url for a in articles if a is not None}
    checked = [line for line in logs if "article_id" in line]
    assert {line["event"] for line in checked} == {"page_checked", "page_missing"}
    assert all(line["url"] == by_id[line["article_id"]] for line in checked)
    assert all(isinstance(line["ms"], float) for line in checked)
    assert context_of(logs[-1]) == {}


async def test_a_poll_that_crashed_is_logged_failed_with_its_feed_and_time(
        site: NewsSite, settings: Settings, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def crash(*_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Pipeline, "_poll", crash)
    async with App(settings, clock=clock) as app:
        await app.store.sync_feeds({settings.feeds[0].url: clock.now})
        [claimed] = await app.due.claim_feeds()  # as the daemon claims a due poll
        with capture_logs() as logs:
            outcome = await app.due.poll(claimed)
    assert outcome is not None and outcome.status == "error"
    [crashed] = lines(logs, "feed_poll_crashed")
    [failed] = lines(logs, "feed_failed")
    assert context_of(crashed) == context_of(failed) == {"feed": site.url("/rss.xml")}
    assert failed["error"] == "internal error: RuntimeError('a bug')"
    assert isinstance(failed["ms"], float)


# --- the lines as written --------------------------------------------------------------------
@contextmanager
def written(output: Literal["json", "console"]) -> Iterator[io.StringIO]:
    """The crawler's chain configured to a buffer in `output` format, undone afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="info", format=output, file=""), stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()


def test_a_json_line_carries_the_units_keys_first_outer_ones_first() -> None:
    # Four keys, so that an order left to the context variables' hashes would show.
    with written("json") as stream, unit(feed="https://e.org/rss"), unit(
            url="https://e.org/a", article_id=3, source="feed"):
        structlog.get_logger("crawler.recorder").info("page_checked", result="new", ms=1.5)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert list(line) == ["feed", "url", "article_id", "source", "result", "ms", "level",
                          "logger", "timestamp", "event"]
    assert (line["feed"], line["url"], line["event"]) == (
        "https://e.org/rss", "https://e.org/a", "page_checked")


def test_keys_bound_outside_a_unit_come_sorted_after_the_units() -> None:
    with unit(url="https://e.org/a"), structlog.contextvars.bound_contextvars(
            probe=True, attempt=2):
        line = merge_unit_context(None, "info", {"event": "probe_failed"})
    assert list(line) == ["url", "attempt", "probe", "event"]


def test_a_console_line_carries_the_units_keys() -> None:
    with written("console") as stream:
        with unit(url="https://e.org/a", article_id=3):
            structlog.get_logger("crawler.recheck").warning("page_failed", error="HTTP 503")
        structlog.get_logger("crawler.recheck").info("after")
    inside, after = stream.getvalue().splitlines()[-2:]
    assert "url" in inside and "https://e.org/a" in inside and "article_id" in inside
    assert "e.org/a" not in after
