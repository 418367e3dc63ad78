"""The read queries of the store seam (`crawler.store.reads.StoreReads`), written once for both
stores: each store's read class mixes `SharedReads` into its database class and names its
`Dialect`.

Each list is one range scan of an index of migration 9 in its sort order (`articles_seen`,
`articles_feed_seen`, `events_recent`, `events_type_recent`), bounded by the keyset cursor
and `LIMIT`; the "last change" of an article is one lookup of its current version by the
versions' (article_id, number) key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from crawler.models import Article
from crawler.store.dialect import Dialect
from crawler.store.reads import (
    ArticleCursor,
    ArticleListing,
    EventCursor,
    EventListing,
    ascii_lower,
)
from crawler.store.records import ARTICLE_COLUMNS, Row, decode_payload

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


class SharedReads:
    """`StoreReads` over a store's `_read` (one read-only statement, rows by column name)."""

    _dialect: ClassVar[Dialect]

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        raise NotImplementedError  # the store's database class provides it

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        return await self._read(self._dialect.sql(sql), params)

    async def get_article(self, article_id: int) -> Article | None:
        rows = await self._query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = ?", (article_id,))  # noqa: S608
        return self._dialect.rows.article(rows[0]) if rows else None

    async def find_article_by_urls(self, urls: Sequence[str]) -> Article | None:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return None
        known, params = self._dialect.one_of("u.url", wanted)
        rows = await self._query(
            f"SELECT u.url AS alias, {ARTICLE_COLUMNS} FROM article_urls u"  # noqa: S608
            f" JOIN articles a ON a.id = u.article_id WHERE {known}", params)
        found = {row["alias"]: row for row in rows}
        for url in wanted:
            if url in found:
                return self._dialect.rows.article(found[url])
        return None

    async def list_articles(
        self, *, search: str | None = None, feed_url: str | None = None, limit: int = 50,
        before: ArticleCursor | None = None,
    ) -> list[ArticleListing]:
        where: list[str] = []
        params: list[Any] = []
        if feed_url is not None:
            where.append("a.feed_url = ?")
            params.append(feed_url)
        if before is not None:
            where.append("(a.first_seen_at, a.id) < (?, ?)")
            params += [self._dialect.write_time(before[0]), before[1]]
        if search:
            where.append(self._dialect.title_contains)
            params.append(ascii_lower(search))
        sql = _LISTING + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY a.first_seen_at DESC, a.id DESC LIMIT ?"
        return [self._listing(row) for row in await self._query(sql, [*params, limit])]

    async def list_events(
        self, *, since: datetime | None = None, event_type: str | None = None,
        feed_url: str | None = None, limit: int = 50, before: EventCursor | None = None,
    ) -> list[EventListing]:
        where: list[str] = []
        params: list[Any] = []
        if event_type is not None:
            where.append("e.type = ?")
            params.append(event_type)
        if since is not None:
            where.append("e.created_at >= ?")
            params.append(self._dialect.write_time(since))
        if before is not None:
            where.append("(e.created_at, e.id) < (?, ?)")
            params += [self._dialect.write_time(before[0]), before[1]]
        if feed_url is not None:
            where.append(self._dialect.event_of_feed)
            params.append(feed_url)
        sql = _EVENTS + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY e.created_at DESC, e.id DESC LIMIT ?"
        return [self._event(row) for row in await self._query(sql, [*params, limit])]

    async def article_events(self, article_id: int) -> list[EventListing]:
        rows = await self._query(
            _EVENTS + " WHERE e.article_id = ? ORDER BY e.created_at, e.id", (article_id,))
        return [self._event(row) for row in rows]

    def _listing(self, row: Row) -> ArticleListing:
        read = self._dialect.rows
        deleted_at = read.time_opt(row["deleted_at"])
        changed_at = read.time(row["version_at"])
        if deleted_at is not None and deleted_at > changed_at:
            changed_at = deleted_at
        return ArticleListing(read.article(row), changed_at, deleted_at)

    def _event(self, row: Row) -> EventListing:
        return EventListing(
            event_id=row["id"], event_type=row["type"],
            created_at=self._dialect.rows.time(row["created_at"]),
            version=None if row["version"] is None else int(row["version"]),
            article_id=int(row["article_id"]), title=row["title"], url=row["url"],
            canonical_url=row["canonical_url"], feed_url=row["feed_url"],
            payload=decode_payload(row["payload"]),
        )
