"""`EntryStore` on SQLite: article lookups by URL, aliases, and new articles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from crawler.models import Article, Content, EventRecord
from crawler.store.base import ArticleExistsError, url_host, url_path
from crawler.store.entries import EntryMatch, SightingMatch, alias_order
from crawler.store.sqlite_db import SQLiteDatabase
from crawler.store.sqlite_outbox import insert_event
from crawler.store.sqlite_rows import (
    ARTICLE_COLUMNS,
    decode_time,
    encode_text,
    encode_time,
    encode_time_opt,
    row_to_article,
)

_BY_URL = (f"SELECT u.url AS alias, {ARTICLE_COLUMNS} FROM article_urls u"  # noqa: S608
           " JOIN articles a ON a.id = u.article_id")
# The three lookups of `find_sighting` as one statement, each row tagged with its lookup.
_SIGHTING = f"""
    SELECT 'tracked' AS found, * FROM (
        SELECT {ARTICLE_COLUMNS} FROM article_urls u JOIN articles a ON a.id = u.article_id
        WHERE u.url = ?)
    UNION ALL
    SELECT 'content', * FROM (
        SELECT {ARTICLE_COLUMNS} FROM articles a
        WHERE a.url_path = ? AND a.current_hash = ? AND a.feed_url = ? ORDER BY a.id LIMIT 1)
    UNION ALL
    SELECT 'path', * FROM (
        SELECT {ARTICLE_COLUMNS} FROM articles a
        WHERE a.url_path = ? AND a.feed_url = ? ORDER BY a.id LIMIT 2)
"""  # noqa: S608
_ALIAS = "INSERT INTO article_urls (url, article_id) VALUES (?, ?) ON CONFLICT (url) DO NOTHING"


class SQLiteEntries(SQLiteDatabase):
    """See `crawler.store.entries.EntryStore`."""

    async def find_article_by_url(self, url: str) -> Article | None:
        rows = await self._read(f"{_BY_URL} WHERE u.url = ?", (url,))
        return row_to_article(rows[0]) if rows else None

    async def find_entry(self, entry_key: str, link: str) -> EntryMatch:
        rows = await self._read(f"{_BY_URL} WHERE u.url IN (?, ?)", (entry_key, link))
        found = {row["alias"]: row_to_article(row) for row in rows}
        return EntryMatch(by_key=found.get(entry_key), by_link=found.get(link))

    async def find_article_by_content(
        self, feed_url: str, path: str, content_hash: str
    ) -> Article | None:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.url_path = ? AND a.current_hash = ? AND a.feed_url = ?"
            " ORDER BY a.id LIMIT 1",
            (path, content_hash, feed_url),
        )
        return row_to_article(rows[0]) if rows else None

    async def find_articles_at_path(
        self, feed_url: str, path: str, *, limit: int
    ) -> list[Article]:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.url_path = ? AND a.feed_url = ? ORDER BY a.id LIMIT ?",
            (path, feed_url, limit),
        )
        return [row_to_article(r) for r in rows]

    async def find_sighting(self, canonical_url: str, feed_url: str,
                            content_hash: str) -> SightingMatch:
        path = url_path(canonical_url)
        rows = await self._read(_SIGHTING, (canonical_url, path, content_hash, feed_url,
                                            path, feed_url))
        found: dict[str, list[Article]] = {"tracked": [], "content": [], "path": []}
        for row in rows:
            found[row["found"]].append(row_to_article(row))
        return SightingMatch(tracked=next(iter(found["tracked"]), None),
                             same_content=next(iter(found["content"]), None),
                             at_path=tuple(sorted(found["path"], key=_article_id)))

    async def add_url_alias(self, article_id: int, url: str) -> None:
        """See `EntryStore.add_url_alias`. A URL already leading to another article keeps
        leading there. Raises sqlite3.IntegrityError if the article does not exist."""
        await self.add_url_aliases(article_id, (url,))

    async def add_url_aliases(self, article_id: int, urls: Sequence[str]) -> None:
        if not urls:
            return

        async def tx(conn: aiosqlite.Connection) -> None:
            await conn.executemany(_ALIAS, [(url, article_id) for url in dict.fromkeys(urls)])

        await self._write(tx)

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
        seen = encode_time(seen_at)
        next_check = encode_time_opt(next_check_at)

        async def tx(conn: aiosqlite.Connection) -> int:
            # Each statement is a hop to the connection's thread: the unique canonical URL
            # tells of an existing article, no SELECT before.
            cursor = await conn.execute(
                """INSERT INTO articles (canonical_url, url, feed_url, first_seen_at,
                       last_checked_at, next_check_at, check_count, current_version,
                       current_hash, title, deleted, source, extractor_version, host,
                       url_path)
                   VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?, ?, 0, ?, ?, ?, ?)
                   ON CONFLICT (canonical_url) DO NOTHING""",
                (canonical_url, url, feed_url, seen, seen, next_check,
                 content.content_hash, content.title, source, extractor_version,
                 url_host(url), url_path(canonical_url)),
            )
            if cursor.rowcount != 1:
                raise ArticleExistsError(canonical_url)
            article_id = cursor.lastrowid
            assert article_id is not None
            await conn.executemany(_ALIAS, [(alias, article_id) for alias
                                            in alias_order(canonical_url, url, aliases)])
            await insert_version(conn, article_id, 1, content, seen, extractor_version)
            await insert_event(conn, event, article_id, 1)
            return article_id

        article_id = await self._write(tx)
        return Article(
            article_id=article_id,
            canonical_url=canonical_url,
            url=url,
            feed_url=feed_url,
            first_seen_at=_round_trip(seen_at),
            current_version=1,
            current_hash=content.content_hash,
            title=content.title,
            deleted=False,
            check_count=0,
            next_check_at=_round_trip(next_check_at) if next_check_at else None,
            source=source,
            extractor_version=extractor_version,
        )


async def insert_version(
    conn: aiosqlite.Connection, article_id: int, number: int, content: Content, fetched: str,
    extractor_version: int,
) -> None:
    await conn.execute(
        """INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at,
                                 extractor_version)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (article_id, number, content.content_hash, content.title, encode_text(content.text),
         fetched, extractor_version),
    )


def _article_id(article: Article) -> int:
    return article.article_id


def _round_trip(value: datetime) -> datetime:
    """What reading the value back would give (UTC, microseconds), so that a returned Article
    equals the one a later read returns."""
    return decode_time(encode_time(value))
