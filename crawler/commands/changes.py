"""`crawler changes [--since DURATION] [--type TYPE] [--feed URL] [--limit N] [--json]`: the
latest events across all articles, newest first, each with a line saying what changed."""

from __future__ import annotations

from datetime import timedelta

from crawler.change_summary import payload_data, summarize
from crawler.clock import utc_now
from crawler.commands.output import on_terminal, print_json_lines, print_table, when
from crawler.commands.reading import event_json, event_title, read_listing
from crawler.config import Settings

COLUMNS = ("time", "type", "article", "title", "summary")


def event_type(given: str) -> str:
    """`--type` as stored: "edited" is short for "article.edited"; a dotted name is kept."""
    return given if "." in given else f"article.{given}"


async def list_changes(settings: Settings, *, since: float | None, kind: str | None,
                       feed: str | None, limit: int, as_json: bool = False) -> int:
    """`since`: seconds back from now (None: no bound)."""
    start = None if since is None else utc_now() - timedelta(seconds=since)
    events = await read_listing(settings, lambda store: store.list_events(
        since=start, feed_url=feed, limit=limit,
        event_type=None if kind is None else event_type(kind)))
    if events is None:
        return 0
    if as_json:
        print_json_lines(event_json(e) for e in events)
        return 0
    terminal = on_terminal()
    columns = COLUMNS if not terminal else ("time (UTC)", "type", "article", "title", "summary")
    print_table(columns, ([when(e.created_at, terminal=terminal), e.event_type,
                           str(e.article_id), event_title(e),
                           summarize(e.event_type, payload_data(e.payload))] for e in events))
    return 0
