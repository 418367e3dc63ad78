"""`crawler history ARTICLE [--json]`: the stored versions of one article, and the events
about its page between them (deletions, restorations and whatever else later versions of
the crawler record), in time order."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

from crawler.change_summary import payload_data, summarize
from crawler.commands.output import on_terminal, print_json, print_table, when
from crawler.commands.reading import (
    article_json,
    event_json,
    find_article,
    reading_store,
    version_json,
)
from crawler.config import Settings
from crawler.kinds import EDITED, NEW
from crawler.models import Article, Version
from crawler.redact import redact_url
from crawler.store.reads import EventListing

# The events that announce a version: always shown on the version's own row.
VERSION_EVENTS = frozenset({NEW, EDITED})
COLUMNS = ("version", "time", "content_hash", "title", "event")


@dataclass(frozen=True, slots=True)
class History:
    article: Article
    versions: list[Version]
    events: list[EventListing]


async def load_article(settings: Settings, ref: str) -> tuple[Article, list[Version]] | None:
    """The article `ref` names (see `reading.find_article`) and its versions, oldest first,
    from the store opened read-only; None when no article is known for it."""
    found = await load_history(settings, ref, events=False)
    return None if found is None else (found.article, found.versions)


async def load_history(settings: Settings, ref: str, *, events: bool = True) -> History | None:
    async with reading_store(settings) as store:
        article = await find_article(store, ref)
        if article is None:
            return None
        versions = await store.get_versions(article.article_id)
        listed = await store.article_events(article.article_id) if events else []
    return History(article, versions, listed)


def unknown(ref: str) -> int:
    print(f"crawler: no article known for {ref}", file=sys.stderr)
    return 1


def _what(event: EventListing) -> str:
    if event.event_type in VERSION_EVENTS:
        return event.event_type
    summary = summarize(event.event_type, payload_data(event.payload))
    return f"{event.event_type}: {summary}" if summary else event.event_type


def timeline(history: History, *, terminal: bool) -> list[list[str]]:
    """The rows of the history table, in time order: one per version, naming the events
    stored with it (the announcing `article.new` / `article.edited`, or any event written
    together with the version: same number, same time, as a restoration with new text),
    and one per other event (a deletion, a restoration of the same text, types added
    later). A version no event names was stored silently ("-")."""
    fetched = {v.number: v.fetched_at for v in history.versions}
    announced: dict[int, list[str]] = {}
    rows: list[tuple[datetime, int, list[str]]] = []
    for event in history.events:
        number = event.version
        if number in fetched and (event.event_type in VERSION_EVENTS
                                  or event.created_at == fetched[number]):
            announced.setdefault(number, []).append(_what(event))
            continue
        rows.append((event.created_at, 1, ["-", when(event.created_at, terminal=terminal), "-",
                                           "-", _what(event)]))
    for v in history.versions:
        what = "; ".join(announced.get(v.number, [])) or "-"
        hash_ = v.content_hash[:19] if terminal else v.content_hash
        rows.append((v.fetched_at, 0, [str(v.number), when(v.fetched_at, terminal=terminal),
                                       hash_, v.title, what]))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [cells for _, _, cells in rows]


async def show_history(settings: Settings, ref: str, *, as_json: bool = False) -> int:
    history = await load_history(settings, ref)
    if history is None:
        return unknown(ref)
    article = history.article
    if as_json:
        print_json({"article": article_json(article),
                    "versions": [version_json(v) for v in history.versions],
                    "events": [event_json(e) for e in history.events]})
        return 0
    terminal = on_terminal()
    columns = COLUMNS if not terminal else ("version", "time (UTC)", "hash", "title", "event")
    title = f"{article.article_id}: {redact_url(article.canonical_url)}" + (
        " (deleted)" if article.deleted else "")
    print_table(columns, timeline(history, terminal=terminal), title=title)
    return 0
