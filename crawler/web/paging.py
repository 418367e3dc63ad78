"""Keyset cursors as they travel in URLs (`?before=...`), and the query of the next page.

A cursor is the sort key of the last row shown (`crawler.store.reads`): the time in ISO 8601
and the id, joined by "~" (a character no ISO time contains). It is opaque to readers; a
cursor that does not parse is a 400, never a silent first page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from crawler.store.reads import ArticleCursor, EventCursor

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class BadQuery(ValueError):
    """A query parameter that cannot be understood; the message says which and why."""


def encode_cursor(cursor: EventCursor | ArticleCursor) -> str:
    at, key = cursor
    # "Z", not "+00:00": a "+" typed or pasted into a query string would read as a space.
    return f"{at.astimezone(UTC).isoformat().removesuffix('+00:00')}Z~{key}"


def _split(text: str) -> tuple[datetime, str]:
    at_text, sep, key = text.partition("~")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        at = None
    if not sep or not key or at is None or at.tzinfo is None:
        raise BadQuery("before: not a cursor this server gave")
    return at, key


def event_cursor(text: str | None) -> EventCursor | None:
    if not text:
        return None
    return _split(text)


def article_cursor(text: str | None) -> ArticleCursor | None:
    if not text:
        return None
    at, key = _split(text)
    if not key.isdigit():
        raise BadQuery("before: not a cursor this server gave")
    return at, int(key)


def page_size(text: str | None) -> int:
    if text is None or text == "":
        return PAGE_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise BadQuery(f"limit: a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def next_query(filters: Mapping[str, str | None], cursor: EventCursor | ArticleCursor | None
               ) -> str | None:
    """"?filters&before=CURSOR" for the page after `cursor` (None: this was the last page).
    A relative reference: it resolves against the current page's URL whatever prefix a
    proxy serves it under."""
    if cursor is None:
        return None
    kept = {k: v for k, v in filters.items() if v}
    return "?" + urlencode({**kept, "before": encode_cursor(cursor)})
