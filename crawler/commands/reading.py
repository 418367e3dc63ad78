"""What the reading commands share: the store opened read-only (a listing of an empty one),
an article found from what
the operator typed, and the JSON shapes of articles, versions and events (the same shapes
as the HTTP API's, CONTRACT.md "The web view, feed of changes and API")."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from crawler.article_ref import article_id, lookup_urls
from crawler.change_summary import payload_data, summarize
from crawler.commands.output import iso
from crawler.config import Settings
from crawler.models import Article, Version
from crawler.redact import redact_url
from crawler.store import DatabaseMissingError, Store, open_store
from crawler.store.reads import ArticleListing, EventListing

T = TypeVar("T")


@asynccontextmanager
async def reading_store(settings: Settings) -> AsyncIterator[Store]:
    """The store `[storage]` names, opened read-only (never migrated, never written), closed
    on exit. Raises the store's `StoreError`s (no database, another schema)."""
    store = open_store(settings.storage, readonly=True)
    try:
        await store.open()
        yield store
    finally:
        await store.close()


async def read_listing(settings: Settings, read: Callable[[Store], Awaitable[list[T]]]
                       ) -> list[T] | None:
    """What `read` lists from the store read-only. None when there is no database (said on
    stderr): nothing was ever tracked, so the command lists nothing, not even its columns,
    and that is not a failure (CONTRACT.md: exit 0)."""
    try:
        async with reading_store(settings) as store:
            return await read(store)
    except DatabaseMissingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return None


async def find_article(store: Store, ref: str) -> Article | None:
    """The article `ref` names: its id, or any URL known to lead to it in any of the forms
    `crawler.article_ref` accepts; None when none is known."""
    number = article_id(ref)
    if number is not None:
        return await store.get_article(number)
    keys = lookup_urls(ref)
    return await store.find_article_by_urls(keys) if keys else None


def article_json(article: Article) -> dict[str, Any]:
    # URLs as `crawler.redact` shows them: a private feed's `?token=` is never printed.
    return {"id": article.article_id, "url": redact_url(article.url),
            "canonical_url": redact_url(article.canonical_url),
            "feed_url": redact_url(article.feed_url),
            "title": article.title}


def listing_json(row: ArticleListing) -> dict[str, Any]:
    return {**article_json(row.article), "versions": row.article.current_version,
            "first_seen": iso(row.article.first_seen_at), "last_change": iso(row.changed_at),
            "state": row.state}


def version_json(version: Version, *, text: bool = False) -> dict[str, Any]:
    shape: dict[str, Any] = {"version": version.number, "time": iso(version.fetched_at),
                             "content_hash": version.content_hash, "title": version.title}
    if text:
        shape["text"] = version.text
    return shape


def event_title(event: EventListing) -> str:
    """The headline the event announced (as it was then), else the article's current one."""
    article = payload_data(event.payload).get("article")
    title = article.get("title") if isinstance(article, dict) else None
    return title if isinstance(title, str) else event.title


def event_json(event: EventListing) -> dict[str, Any]:
    data = payload_data(event.payload)
    return {"event_id": event.event_id, "type": event.event_type, "time": iso(event.created_at),
            "version": event.version,
            "article": {"id": event.article_id, "url": redact_url(event.url),
                        "canonical_url": redact_url(event.canonical_url),
                        "feed_url": redact_url(event.feed_url),
                        "title": event_title(event)},
            "changes": data.get("changes"),
            "summary": summarize(event.event_type, data)}
