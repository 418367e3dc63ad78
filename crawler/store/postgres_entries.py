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
from crawler.store.entries import alias_order
from crawler.store.postgres_db import PostgresDatabase
from crawler.store.postgres_rows import utc, utc_opt
from crawler.store.records import encode_text

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
