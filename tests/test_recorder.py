"""The Recorder, where a newcomer looks for it: every check of an article is one decision
(`crawler.decision.classify`, table-tested in test_decision.py) recorded by one store write,
whatever the decision, on a real SQLite store. A check that found a text other than the stored
one first notes its fingerprint (`Store.note_site_text`: how many other articles of the host
show it, for the error-page rule), a short write of its own outside the decision's. Each row
plays one check of one article's life and names the writes it makes, the result and the event
it stores (if any)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from crawler.metrics import Metrics
from crawler.models import Article, Content, Sighting
from crawler.recorder import CheckOutcome, Recorder
from crawler.store import Store
from crawler.store.sqlite import SQLiteStore
from crawler.testing.clock import FakeClock
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import LEAD, PARAS
from crawler.textnorm import make_content

URL = "https://news.example/storm"
FEED = "https://news.example/rss"
# The store's methods that write; every other method only reads.
WRITES = frozenset({
    "create_article", "add_version", "mark_checked", "mark_collapsed", "mark_deleted",
    "mark_missing", "mark_restored", "mark_announced", "note_site_text", "add_url_alias",
    "add_url_aliases", "postpone_check", "record_feed_poll",
})


class WriteLog:
    """A real store, with the name of every write method called on it recorded."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self.writes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in WRITES:
            return attr

        async def logged(*args: Any, **kwargs: Any) -> Any:
            self.writes.append(name)
            return await attr(*args, **kwargs)

        return logged


def story(*, homes: str = "Twelve") -> Content:
    first = PARAS[0].replace("Twelve", homes)
    return make_content("Storm hits coast", "\n\n".join([LEAD, first, *PARAS[1:]]))


@dataclass(frozen=True, slots=True)
class Step:
    what: str
    check: Callable[[Recorder, Article], Awaitable[CheckOutcome]]
    writes: tuple[str, ...]
    result: str
    event: str | None


def text(content: Content) -> Callable[[Recorder, Article], Awaitable[CheckOutcome]]:
    return lambda recorder, article: recorder.compare(article, content)


def answered(status: int) -> Callable[[Recorder, Article], Awaitable[CheckOutcome]]:
    return lambda recorder, article: recorder.gone(article, status)


LIFE = [
    Step("the same text again", text(story()), ("mark_checked",), "unchanged", None),
    Step("a number changed", text(story(homes="Fifteen")), ("note_site_text", "add_version"),
         "edited", "article.edited"),
    Step("a first 404, not confirmed yet", answered(404), ("mark_missing",), "missing", None),
    Step("the 404 confirmed", answered(404), ("mark_deleted",), "deleted", "article.deleted"),
    Step("still gone", answered(410), ("mark_checked",), "gone", None),
    Step("back with the same text", text(story(homes="Fifteen")), ("mark_restored",),
         "restored", "article.restored"),
]


async def test_every_check_is_one_decision_and_one_write(tmp_path: Path, store: SQLiteStore,
                                                          clock: FakeClock) -> None:
    settings = local_settings(tmp_path, [FEED])
    log = WriteLog(store)
    recorder = Recorder(cast(Store, log), lambda: settings, clock=clock,
                        metrics=Metrics(process_metrics=False), on_event=lambda: None)
    outcome = await recorder.first_version(Sighting(URL, URL, FEED, story()), None)
    assert (log.writes, outcome.result) == (["create_article"], "new")
    seen = [await store.get_last_version(1)]
    for step in LIFE:
        clock.advance(30)  # within the 2 minutes a confirming check must come in
        article = await store.find_article_by_url(URL)
        assert article is not None
        log.writes.clear()
        events_before = len(await store.article_events(article.article_id))
        outcome = await step.check(recorder, article)
        assert (log.writes, outcome.result) == (list(step.writes), step.result), step.what
        stored = await store.article_events(article.article_id)
        new_events = [e.event_type for e in stored[events_before:]]
        assert new_events == ([step.event] if step.event else []), step.what
        seen.append(await store.get_last_version(article.article_id))
    assert [v.number for v in seen if v is not None] == [1, 1, 2, 2, 2, 2, 2]
