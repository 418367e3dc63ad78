"""The read queries of the store seam: what the reading commands and the web view look up,
apart from the write path; written once for both stores (`shared_reads`, in each store's
dialect: `sqlite_queries`, `postgres_queries`).

Lists are newest first and paged by a keyset cursor (`before`): the sort key of the last row
of the previous page, so a page costs the same at the millionth row as at the first (an index
range scan, never OFFSET). A list method returns at most `limit` rows; fewer means the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from crawler.models import Article

# Sort keys of the lists, as cursors: an article's (first_seen_at, id), an event's
# (created_at, event id).
ArticleCursor = tuple[datetime, int]
EventCursor = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class ArticleListing:
    """One row of `list_articles`: the article and when it last changed."""

    article: Article
    changed_at: datetime
    """When its current version was stored, or when it was found deleted if that is later."""
    deleted_at: datetime | None

    @property
    def state(self) -> str:
        """"deleted", "done" (no longer re-checked) or "tracking"."""
        if self.article.deleted:
            return "deleted"
        return "done" if self.article.next_check_at is None else "tracking"

    @property
    def cursor(self) -> ArticleCursor:
        return (self.article.first_seen_at, self.article.article_id)


@dataclass(frozen=True, slots=True)
class EventListing:
    """One stored event with the article it concerns (as the article is now)."""

    event_id: str
    event_type: str
    created_at: datetime
    version: int | None
    """The article's version when the event was stored (for a deletion: the last one)."""
    article_id: int
    title: str
    url: str
    canonical_url: str
    feed_url: str
    payload: str
    """The JSON body as it was sent to receivers."""

    @property
    def cursor(self) -> EventCursor:
        return (self.created_at, self.event_id)


class StoreReads(Protocol):
    """Read-only queries; every store implements them, and they work on a read-only store."""

    async def get_article(self, article_id: int) -> Article | None:
        """The article with this id; None if there is none."""

    async def find_article_by_urls(self, urls: Sequence[str]) -> Article | None:
        """The article the first of `urls` that is known (a canonical URL or an alias, each
        normalized) leads to; None when none is known."""

    async def list_articles(
        self, *, search: str | None = None, feed_url: str | None = None, limit: int = 50,
        before: ArticleCursor | None = None,
    ) -> list[ArticleListing]:
        """Tracked articles, the most recently first seen first (ties: higher id first).
        `search`: only those whose title contains it (A-Z in any case, other letters as
        given; the list is scanned in its order until `limit` match, so a rare text reads
        every title); `feed_url`: only those first seen in that feed; `before`: only those
        sorting after this cursor (the `cursor` of the previous page's last row)."""

    async def list_events(
        self, *, since: datetime | None = None, event_type: str | None = None,
        feed_url: str | None = None, limit: int = 50, before: EventCursor | None = None,
    ) -> list[EventListing]:
        """Stored events, newest first (ties: higher event id first). `since`: only those
        stored at or after it; `event_type`: only that type; `feed_url`: only events of
        articles first seen in that feed (events are read newest first until `limit` match:
        a feed with few events costs a longer scan); `before`: as in `list_articles`."""

    async def article_events(self, article_id: int) -> list[EventListing]:
        """Every stored event of one article, oldest first (ties by event id)."""

    async def database_bytes(self) -> int:
        """Bytes the database takes on its disk (SQLite: the file and its write-ahead log;
        PostgreSQL: the database's relations on the server)."""


def ascii_lower(text: str) -> str:
    """`text` with only A-Z lower-cased: what SQLite's `lower()` does, so a search means the
    same on both stores."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
