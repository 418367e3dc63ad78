"""`EntryStore` on PostgreSQL: article lookups by URL, aliases, and new articles.

A new article is one statement (data-modifying CTEs: the article, its aliases, version 1, its
event and the event's deliveries), sent as its own transaction: one round trip instead of a
BEGIN, seven statements and a COMMIT. The statement is atomic like the transaction was, and
a racing create of the same canonical URL waits for the other on the unique index, then
inserts nothing at all (`ArticleExistsError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crawler.models import Article, Content, EventRecord
from crawler.store.base import ArticleExistsError, url_host, url_path
from crawler.store.entries import EntryMatch, SightingMatch, alias_order
from crawler.store.postgres_db import Conn, PostgresDatabase
from crawler.store.postgres_rows import (
    ARTICLE_COLUMNS,
    encode_text,
    row_to_article,
    utc,
    utc_opt,
)

_BY_URL = (f"SELECT u.url AS alias, {ARTICLE_COLUMNS} FROM article_urls u"  # noqa: S608
           " JOIN articles a ON a.id = u.article_id")
# The three lookups of `find_sighting` as one statement, each row tagged with its lookup.
_SIGHTING = f"""
    (SELECT 'tracked' AS found, {ARTICLE_COLUMNS}
     FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url = %s)
    UNION ALL
    (SELECT 'content', {ARTICLE_COLUMNS} FROM articles a
     WHERE a.url_path = %s AND a.current_hash = %s AND a.feed_url = %s ORDER BY a.id LIMIT 1)
    UNION ALL
    (SELECT 'path', {ARTICLE_COLUMNS} FROM articles a
     WHERE a.url_path = %s AND a.feed_url = %s ORDER BY a.id LIMIT 2)
"""  # noqa: S608
_ALIASES = """
    INSERT INTO article_urls (url, article_id)
    SELECT u.url, %s FROM unnest(%s::text[]) WITH ORDINALITY AS u (url, n) ORDER BY u.n
    ON CONFLICT (url) DO NOTHING
"""
# The aliases go in sorted (`alias_order`), so two creates sharing one take its key in the
# same order; deliveries go in the event's endpoint order, as SQLite's ids do.
_CREATE = """
    WITH article AS (
        INSERT INTO articles (canonical_url, url, feed_url, first_seen_at, last_checked_at,
                              next_check_at, check_count, current_version, current_hash,
                              title, deleted, source, extractor_version, host, url_path)
        VALUES (%(canonical)s, %(url)s, %(feed)s, %(seen)s, %(seen)s, %(next_check)s, 0, 1,
                %(hash)s, %(title)s, false, %(source)s, %(extractor)s, %(host)s, %(path)s)
        ON CONFLICT (canonical_url) DO NOTHING RETURNING id
    ), aliases AS (
        INSERT INTO article_urls (url, article_id)
        SELECT u.url, article.id
        FROM article, unnest(%(aliases)s::text[]) WITH ORDINALITY AS u (url, n) ORDER BY u.n
        ON CONFLICT (url) DO NOTHING
    ), version AS (
        INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at,
                              extractor_version)
        SELECT article.id, 1, %(hash)s::text, %(title)s::text, %(text)s::bytea,
               %(seen)s::timestamptz, %(extractor)s::integer FROM article
    ), event AS (
        INSERT INTO events (id, type, article_id, version, created_at, payload)
        SELECT %(event_id)s::text, %(event_type)s::text, article.id, 1,
               %(created)s::timestamptz, %(payload)s::bytea FROM article
    ), deliveries AS (
        INSERT INTO deliveries (event_id, endpoint_url, status, attempts, next_attempt_at,
                                created_at)
        SELECT %(event_id)s::text, e.url, 'pending', 0, %(created)s::timestamptz,
               %(created)s::timestamptz
        FROM article, unnest(%(endpoints)s::text[]) WITH ORDINALITY AS e (url, n) ORDER BY e.n
    )
    SELECT id FROM article
"""


class PostgresEntries(PostgresDatabase):
    """See `crawler.store.entries.EntryStore`."""

    async def find_article_by_url(self, url: str) -> Article | None:
        rows = await self._read(f"{_BY_URL} WHERE u.url = %s", (url,))
        return row_to_article(rows[0]) if rows else None

    async def find_entry(self, entry_key: str, link: str) -> EntryMatch:
        rows = await self._read(f"{_BY_URL} WHERE u.url = ANY(%s)", ([entry_key, link],))
        found = {row["alias"]: row_to_article(row) for row in rows}
        return EntryMatch(by_key=found.get(entry_key), by_link=found.get(link))

    async def find_article_by_content(
        self, feed_url: str, path: str, content_hash: str
    ) -> Article | None:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.url_path = %s AND a.current_hash = %s AND a.feed_url = %s"
            " ORDER BY a.id LIMIT 1",
            (path, content_hash, feed_url),
        )
        return row_to_article(rows[0]) if rows else None

    async def find_articles_at_path(
        self, feed_url: str, path: str, *, limit: int
    ) -> list[Article]:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.url_path = %s AND a.feed_url = %s ORDER BY a.id LIMIT %s",
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
        leading there. Raises psycopg's ForeignKeyViolation if the article does not exist."""
        await self.add_url_aliases(article_id, (url,))

    async def add_url_aliases(self, article_id: int, urls: Sequence[str]) -> None:
        if urls:
            await self._write_one(_ALIASES, (article_id, list(dict.fromkeys(urls))))

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
        seen = utc(seen_at)
        next_check = utc_opt(next_check_at)
        rows = await self._write_one(_CREATE, {
            "canonical": canonical_url, "url": url, "feed": feed_url, "seen": seen,
            "next_check": next_check, "hash": content.content_hash, "title": content.title,
            "source": source, "extractor": extractor_version, "host": url_host(url),
            "path": url_path(canonical_url), "aliases": alias_order(canonical_url, url, aliases),
            "text": encode_text(content.text), "event_id": event.event_id,
            "event_type": event.event_type, "created": utc(event.created_at),
            "payload": encode_text(event.payload),
            "endpoints": list(dict.fromkeys(event.endpoints)),  # de-duplicated, order kept
        })
        if not rows:
            raise ArticleExistsError(canonical_url)
        return Article(
            article_id=int(rows[0]["id"]),
            canonical_url=canonical_url,
            url=url,
            feed_url=feed_url,
            first_seen_at=seen,
            current_version=1,
            current_hash=content.content_hash,
            title=content.title,
            deleted=False,
            check_count=0,
            next_check_at=next_check,
            source=source,
            extractor_version=extractor_version,
        )


async def insert_version(
    conn: Conn, article_id: int, number: int, content: Content, fetched: datetime,
    extractor_version: int,
) -> None:
    await conn.execute(
        """INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at,
                                 extractor_version)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (article_id, number, content.content_hash, content.title, encode_text(content.text),
         fetched, extractor_version),
    )


def _article_id(article: Article) -> int:
    return article.article_id
