"""The store's part of following feed entries and first sights: the URLs (aliases) that lead
to an article, looked up and added, and the article's creation with its first aliases.

A first sight of a feed entry reads once (`find_entry`: what the entry's id key and its link
lead to) and, when the entry is new, writes once (`create_article`, which stores the entry's
id key too), so following an entry costs one read and, at most, one write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from crawler.models import Article, Content, EventRecord


@dataclass(frozen=True, slots=True)
class EntryMatch:
    """What a feed entry's two keys lead to (`EntryStore.find_entry`)."""

    by_key: Article | None
    """The article the entry's id key (its guid within its feed) is an alias of."""
    by_link: Article | None
    """The article the entry's link is an alias of."""


@dataclass(frozen=True, slots=True)
class SightingMatch:
    """What the store knows of a page seen for the first time (`EntryStore.find_sighting`)."""

    tracked: Article | None
    """The article the page's canonical URL is an alias of."""
    same_content: Article | None
    """The oldest article first seen from the feed at the canonical URL's path (query aside)
    whose current version hashes to the page's content hash."""
    at_path: tuple[Article, ...]
    """Up to two articles first seen from the feed at that path, oldest first."""


class EntryStore(Protocol):
    """The article lookups by URL and the writes of aliases and new articles."""

    async def find_article_by_url(self, url: str) -> Article | None:
        """The article that `url` (an entry link or a canonical URL, normalized) points to."""

    async def find_entry(self, entry_key: str, link: str) -> EntryMatch:
        """The articles `entry_key` and `link` are aliases of, in one read (an indexed
        lookup of both)."""

    async def find_article_by_content(
        self, feed_url: str, path: str, content_hash: str
    ) -> Article | None:
        """The article first seen from `feed_url` whose canonical URL without its query is
        `path` (`url_path`) and whose current version hashes to `content_hash`: the oldest if
        several, None if none (an indexed query). A page reached through a cache-busting
        query string is found this way (`crawler.sightings`)."""

    async def find_articles_at_path(
        self, feed_url: str, path: str, *, limit: int
    ) -> list[Article]:
        """Up to `limit` articles first seen from `feed_url` whose canonical URL without its
        query is `path` (`url_path`), oldest first (an indexed query)."""

    async def find_sighting(self, canonical_url: str, feed_url: str,
                            content_hash: str) -> SightingMatch:
        """In one read: `find_article_by_url(canonical_url)`,
        `find_article_by_content(feed_url, url_path(canonical_url), content_hash)` and
        `find_articles_at_path(feed_url, url_path(canonical_url), limit=2)`."""

    async def add_url_alias(self, article_id: int, url: str) -> None:
        """Record that `url` also leads to the article (no-op if already known)."""

    async def add_url_aliases(self, article_id: int, urls: Sequence[str]) -> None:
        """`add_url_alias` of each of `urls`, in one transaction (none: no write at all)."""

    async def create_article(
        self,
        *,
        canonical_url: str,
        url: str,
        feed_url: str,
        content: Content,
        event: EventRecord,
        seen_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
        source: str = "page",
        aliases: Sequence[str] = (),
    ) -> Article:
        """First sight: article + version 1 + its event + deliveries, one transaction. `url`
        (the entry link), `canonical_url` and each of `aliases` (the entry's id key) become
        aliases (one already leading to another article keeps leading there); `source` is
        "page" or "feed" (see `Article.source`); `extractor_version`: what extracted `content`
        (see `crawler.extract.version`). Raises `ArticleExistsError` if the canonical URL is
        already tracked (and then writes nothing)."""


def alias_order(canonical_url: str, url: str, aliases: Sequence[str]) -> list[str]:
    """The distinct aliases of a new article, sorted: two creates that share an alias take
    its key in one order (PostgreSQL), whatever order their callers named them in."""
    return sorted({canonical_url, url, *aliases})
