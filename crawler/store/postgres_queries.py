"""The read queries of the PostgreSQL store (`crawler.store.reads.StoreReads`).

As on SQLite, each list is one range scan of an index of migration 9 in its sort order
(`articles_seen`, `articles_feed_seen`, `events_recent`, `events_type_recent`), bounded by
the keyset cursor and `LIMIT`; the "last change" of an article is one lookup of its current
version by the versions' primary key (article_id, number).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crawler.models import Article
from crawler.store.postgres_db import PostgresDatabase
from crawler.store.postgres_rows import (
    ARTICLE_COLUMNS,
    decode_payload,
    row_to_article,
    utc,
)
from crawler.store.reads import (
    ArticleCursor,
    ArticleListing,
    EventCursor,
    EventListing,
    ascii_lower,
)

_LISTING = (
    f"SELECT {ARTICLE_COLUMNS}, a.deleted_at,"  # noqa: S608
    " (SELECT v.fetched_at FROM versions v"
    "  WHERE v.article_id = a.id AND v.number = a.current_version) AS version_at"
    " FROM articles a"
)
_EVENTS = (
    "SELECT e.id, e.type, e.created_at, e.version, e.payload, a.id AS article_id, a.title,"
    " a.url, a.canonical_url, a.feed_url"
    " FROM events e JOIN articles a ON a.id = e.article_id"
)


class PostgresReads(PostgresDatabase):
    """`StoreReads` on PostgreSQL. A title search folds case under the "C" collation: A-Z
    only, as SQLite's `lower()` does (`ascii_lower`), whatever the database's locale (and
    twenty times faster than `translate()`)."""

    async def get_article(self, article_id: int) -> Article | None:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = %s", (article_id,))  # noqa: S608
        return row_to_article(rows[0]) if rows else None

    async def find_article_by_urls(self, urls: Sequence[str]) -> Article | None:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return None
        rows = await self._read(
            f"SELECT u.url AS alias, {ARTICLE_COLUMNS} FROM article_urls u"  # noqa: S608
            " JOIN articles a ON a.id = u.article_id WHERE u.url = ANY(%s)",
            (wanted,),
        )
        found = {row["alias"]: row for row in rows}
        for url in wanted:
            if url in found:
                return row_to_article(found[url])
        return None

    async def list_articles(
        self, *, search: str | None = None, feed_url: str | None = None, limit: int = 50,
        before: ArticleCursor | None = None,
    ) -> list[ArticleListing]:
        where: list[str] = []
        params: list[Any] = []
        if feed_url is not None:
            where.append("a.feed_url = %s")
            params.append(feed_url)
        if before is not None:
            where.append("(a.first_seen_at, a.id) < (%s, %s)")
            params += [utc(before[0]), before[1]]
        if search:
            where.append('strpos(lower(a.title COLLATE "C"), %s) > 0')
            params.append(ascii_lower(search))
        sql = _LISTING + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY a.first_seen_at DESC, a.id DESC LIMIT %s"
        rows = await self._read(sql, [*params, limit])
        return [_listing(row) for row in rows]

    async def list_events(
        self, *, since: datetime | None = None, event_type: str | None = None,
        feed_url: str | None = None, limit: int = 50, before: EventCursor | None = None,
    ) -> list[EventListing]:
        where: list[str] = []
        params: list[Any] = []
        if event_type is not None:
            where.append("e.type = %s")
            params.append(event_type)
        if since is not None:
            where.append("e.created_at >= %s")
            params.append(utc(since))
        if before is not None:
            where.append("(e.created_at, e.id) < (%s, %s)")
            params += [utc(before[0]), before[1]]
        if feed_url is not None:
            where.append("a.feed_url = %s")
            params.append(feed_url)
        sql = _EVENTS + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY e.created_at DESC, e.id DESC LIMIT %s"
        return [_event(row) for row in await self._read(sql, [*params, limit])]

    async def article_events(self, article_id: int) -> list[EventListing]:
        rows = await self._read(
            _EVENTS + " WHERE e.article_id = %s ORDER BY e.created_at, e.id", (article_id,))
        return [_event(row) for row in rows]

    async def database_bytes(self) -> int:
        rows = await self._read("SELECT pg_database_size(current_database()) AS size")
        return int(rows[0]["size"])


def _listing(row: Any) -> ArticleListing:
    deleted_at = None if row["deleted_at"] is None else _utc(row["deleted_at"])
    changed_at = _utc(row["version_at"])
    if deleted_at is not None and deleted_at > changed_at:
        changed_at = deleted_at
    return ArticleListing(row_to_article(row), changed_at, deleted_at)


def _event(row: Any) -> EventListing:
    return EventListing(
        event_id=row["id"], event_type=row["type"], created_at=_utc(row["created_at"]),
        version=None if row["version"] is None else int(row["version"]),
        article_id=int(row["article_id"]), title=row["title"], url=row["url"],
        canonical_url=row["canonical_url"], feed_url=row["feed_url"],
        payload=decode_payload(row["payload"]),
    )


def _utc(value: datetime) -> datetime:
    # The session's zone is UTC, but as a ZoneInfo: records carry datetime.UTC like SQLite's.
    return value.astimezone(UTC)
