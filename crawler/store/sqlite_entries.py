"""`EntryStore` on SQLite: article lookups by URL, aliases, and new articles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from crawler.models import Article, Content, EventRecord
from crawler.store.base import ArticleExistsError, url_host, url_path
from crawler.store.entries import alias_order
from crawler.store.shared_articles import write_version
from crawler.store.shared_outbox import write_event
from crawler.store.sqlite_db import SQLiteDatabase
from crawler.store.sqlite_rows import decode_time, encode_time, encode_time_opt
from crawler.store.sqlite_tx import SQLiteTransaction

_ALIAS = "INSERT INTO article_urls (url, article_id) VALUES (?, ?) ON CONFLICT (url) DO NOTHING"


class SQLiteEntries(SQLiteDatabase):
    """See `crawler.store.entries.EntryStore`."""

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
            tx = SQLiteTransaction(conn)
            await write_version(tx, article_id, 1, content, seen, extractor_version)
            await write_event(tx, event, article_id, 1)
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


def _round_trip(value: datetime) -> datetime:
    """What reading the value back would give (UTC, microseconds), so that a returned Article
    equals the one a later read returns."""
    return decode_time(encode_time(value))
