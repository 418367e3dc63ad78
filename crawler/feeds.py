"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom bytes into `ParsedFeed`. Pure.

feedparser is given a file object, never the body itself: `feedparser.parse(str_or_bytes)` opens
a local file or fetches a URL when the body happens to name one.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Any

import feedparser

from crawler.models import FeedEntry, ParsedFeed
from crawler.urls import is_http_url, normalize_url

# Entity declarations are how billion-laughs, quadratic-blowup and XXE payloads work; no real
# news feed needs them, so a feed that declares any is refused before any parser sees it.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


class FeedParseError(Exception):
    """The body is not a usable feed. The message says why."""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _content_html(entry: Any) -> str | None:
    contents = entry.get("content") or []
    best = max((_text(c.get("value")) for c in contents), key=len, default="")
    summary = _text(entry.get("summary"))
    html = best if len(best) >= len(summary) else summary
    return html or None


def _ttl_seconds(feed: Any) -> float | None:
    ttl = _text(feed.get("ttl"))
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60.0  # RSS <ttl> is in minutes
    return None


def distinct_entry_ids(entries: list[FeedEntry]) -> tuple[FeedEntry, ...]:
    """The entries, each id shared by entries with different links replaced by the link.

    A guid names one story; a feed whose entries with different links share one (a CMS that
    gives every item its section's id, or a constant) has no usable guid for them, and trusting
    it would merge several stories into one article and never fetch their pages. The link
    identifies those entries instead. An id repeated with one link (a duplicated item) stays.
    """
    links: dict[str, set[str]] = {}
    for entry in entries:
        links.setdefault(entry.entry_id, set()).add(entry.link)
    return tuple(
        replace(entry, entry_id=entry.link) if len(links[entry.entry_id]) > 1 else entry
        for entry in entries
    )


def parse_feed(body: bytes, feed_url: str) -> ParsedFeed:
    """Entries of a feed, links absolute and fetchable only, in document order; entries with
    different links never share an id (`distinct_entry_ids`).

    Entries without a usable http(s) link are dropped (a `file:` or `javascript:` link is
    never followed). Raises FeedParseError when the body is not a feed at all or declares XML
    entities.
    """
    head = body[:65536]
    if _ENTITY_DECLARATION.search(body) or _DOCTYPE.search(head):
        raise FeedParseError("feed declares XML entities or an internal DTD; refused")
    # Entry HTML is only ever turned into text by the extractor (never rendered, never
    # served), which drops scripts and styles and resolves nothing: feedparser's HTML
    # sanitizer and relative-URI rewriting would re-parse every entry's markup for nothing
    # (most of the parse time of a full-content feed).
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-location": feed_url},
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        detail = f": {reason}" if reason else ""
        raise FeedParseError(f"not an RSS or Atom feed{detail}")
    entries: list[FeedEntry] = []
    for raw in parsed.entries:
        link = _text(raw.get("link"))
        if not link:
            continue
        try:
            link = normalize_url(link, base=feed_url)
        except ValueError:
            continue
        if not is_http_url(link):
            continue
        entry_id = _text(raw.get("id")) or link
        entries.append(FeedEntry(
            entry_id=entry_id,
            link=link,
            title=_text(raw.get("title")),
            content_html=_content_html(raw),
        ))
    return ParsedFeed(
        entries=distinct_entry_ids(entries),
        ttl_seconds=_ttl_seconds(parsed.feed),
    )
