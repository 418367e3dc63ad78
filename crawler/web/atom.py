"""`/changes.atom`: the latest events as an Atom feed, with the filters of `/`.

One entry per event: its id is the event id (the `webhook-id` receivers already know), its
link the article's page here, its content the word diff as HTML (for a new article: its
text; for a deletion: what the page answered). Built with feedgen, not by hand: the XML is
escaped and well formed whatever a headline contains.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web
from feedgen.feed import FeedGenerator
from markupsafe import escape

from crawler.change_summary import payload_data
from crawler.commands.reading import event_title
from crawler.kinds import DELETED
from crawler.models import Version
from crawler.store.reads import EventListing
from crawler.textnorm import paragraphs
from crawler.web.context import now_of, store_of
from crawler.web.listing import change_query, changes_page, diff_view
from crawler.web.paging import BadQuery
from crawler.web.views import TYPE_LABELS, change_kinds, diff_html, site_name

FEED_SIZE = 20
"""Entries per feed unless `?limit=` says otherwise: readers poll often and keep what they saw."""
CONTENT_TYPE = "application/atom+xml"


def _text_html(version: Version) -> str:
    return "\n".join([f"<h2>{escape(version.title)}</h2>",
                      *(f"<p>{escape(p)}</p>" for p in paragraphs(version.text))])


def entry_content(event: EventListing, versions: list[Version]) -> str:
    """The HTML an entry carries: the word diff the event announced when it announced one."""
    data = payload_data(event.payload)
    by_number = {v.number: v for v in versions}
    new = by_number.get(event.version) if event.version is not None else None
    previous = data.get("previous_version")
    old = by_number.get(previous) if isinstance(previous, int) else None
    if new is not None and old is not None and isinstance(data.get("changes"), dict):
        return str(diff_html(diff_view(old, new, full=False).items))
    if event.event_type == DELETED:
        status = data.get("status")
        return f"<p>The page now answers {escape(str(status))}.</p>" if status else \
            "<p>The page is gone.</p>"
    if new is not None:
        return _text_html(new)
    return ""


def entry_title(event: EventListing) -> str:
    label = TYPE_LABELS.get(event.event_type, event.event_type)
    kinds = change_kinds(payload_data(event.payload).get("changes"))
    what = f"{label} ({', '.join(kinds)})" if kinds else label
    return f"{what}: {event_title(event) or '(no headline)'}"


def build_feed(events: list[tuple[EventListing, list[Version]]], *, base: str, self_href: str,
               now: datetime) -> bytes:
    feed = FeedGenerator()
    feed.id(base + "/changes.atom")
    feed.title("Latest changes")
    feed.subtitle("Articles found, edited, deleted and restored, newest first")
    feed.link(href=self_href, rel="self", type=CONTENT_TYPE)
    feed.link(href=base + "/", rel="alternate", type="text/html")
    feed.generator("crawler")
    feed.updated(events[0][0].created_at if events else now)
    for event, versions in events:
        entry = feed.add_entry(order="append")
        entry.id(event.event_id)
        entry.title(entry_title(event))
        entry.link(href=f"{base}/articles/{event.article_id}", rel="alternate",
                   type="text/html")
        entry.updated(event.created_at)
        entry.published(event.created_at)
        entry.author(name=site_name(event.canonical_url) or "crawler")
        entry.category(term=event.event_type)
        entry.content(entry_content(event, versions), type="html")
    result: bytes = feed.atom_str(pretty=False)
    return result


async def changes_atom(request: web.Request) -> web.Response:
    params = dict(request.query)
    params.setdefault("limit", str(FEED_SIZE))
    try:
        query = change_query(params)
    except BadQuery as exc:
        return web.Response(status=400, text=f"{exc}\n")
    store = store_of(request)
    events, _ = await changes_page(store, query)
    # One read per article, however many of its events the page shows.
    versions: dict[int, list[Version]] = {}
    for event in events:
        if event.article_id not in versions and event.event_type != DELETED:
            versions[event.article_id] = await store.get_versions(event.article_id)
    base = str(request.url.origin())
    # Each entry carries a word diff, a second or more of work for a long text: in a thread,
    # so that the loop (the daemon's, when it serves the feed) goes on.
    body = await asyncio.to_thread(
        build_feed, [(e, versions.get(e.article_id, [])) for e in events], base=base,
        self_href=base + request.path_qs, now=now_of(request))
    return web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8")
