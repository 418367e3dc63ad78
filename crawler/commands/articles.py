"""`crawler articles [--search TEXT] [--feed URL] [--limit N] [--json]`: the tracked articles,
the most recently first seen first."""

from __future__ import annotations

from crawler.commands.output import on_terminal, print_json_lines, print_table, when
from crawler.commands.reading import listing_json, read_listing
from crawler.config import Settings
from crawler.redact import redact_url

COLUMNS = ("id", "canonical_url", "title", "versions", "last_change", "state")


async def list_articles(settings: Settings, *, search: str | None, feed: str | None,
                        limit: int, as_json: bool = False) -> int:
    rows = await read_listing(settings, lambda store: store.list_articles(
        search=search or None, feed_url=feed, limit=limit))
    if rows is None:
        return 0
    if as_json:
        print_json_lines(listing_json(row) for row in rows)
        return 0
    terminal = on_terminal()
    columns = COLUMNS if not terminal else (
        "id", "canonical URL", "title", "versions", "last change (UTC)", "state")
    print_table(columns, ([str(r.article.article_id), redact_url(r.article.canonical_url),
                           r.article.title,
                           str(r.article.current_version), when(r.changed_at, terminal=terminal),
                           r.state] for r in rows))
    return 0
