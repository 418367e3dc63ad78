"""An article's versions, written once for both stores over their `Transaction` (see
`shared_outbox`): a new version, a deletion, a collapse, and the reads of versions and of
due articles. How a claim chooses due articles differs and stays with each store.

A completing write is one UPDATE under the article's lease (`shared_leases.LEASE_HELD`) that
returns the number the next rows are written with: on PostgreSQL the update takes the
article's row lock, so a racing writer waits, then reads the number this one stored and
goes one further; on SQLite the one writer runs the transaction alone.

Statements use `?` marks and every time parameter goes through the dialect (`transaction`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crawler.models import Article, AsSeen, Content, EventRecord, Version
from crawler.store.base import EventBuilder
from crawler.store.records import ARTICLE_COLUMNS, encode_text
from crawler.store.shared_leases import (
    AS_SEEN,
    CLEAR_LEASE,
    LEASE_HELD,
    article_refusal,
    as_seen_params,
    lease_params,
)
from crawler.store.shared_outbox import write_event
from crawler.store.shared_streaks import SharedStreaks
from crawler.store.transaction import Transaction


class SharedArticles(SharedStreaks):
    """`Store.add_version`, `mark_collapsed`, `mark_deleted` and the reads of versions and
    due articles."""

    async def add_version(
        self,
        article_id: int,
        *,
        content: Content,
        event: EventBuilder | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
        lease_owner: str | None = None,
        announces: bool | None = None,
        feed_url: str | None = None,
        as_seen: AsSeen | None = None,
    ) -> int:
        """See `Store.add_version`. Raises KeyError for an unknown article,
        `LeaseLostError`, `StaleArticleError`."""
        dialect = self._dialect
        fetched = dialect.write_time(fetched_at)
        announced = event is not None if announces is None else announces
        sql = f"""UPDATE articles SET current_version = current_version + 1,
                      current_hash = ?, title = ?, deleted = {dialect.false},
                      deleted_at = NULL, last_checked_at = ?, check_count = check_count + 1,
                      next_check_at = ?, collapse_count = 0, gone_count = 0,
                      extractor_version = ?,
                      announced_version = CASE WHEN ? THEN current_version + 1
                                               ELSE announced_version END,
                      entry_feed_url = COALESCE(?, entry_feed_url),
                      {CLEAR_LEASE}
                  WHERE id = ? AND {LEASE_HELD} AND {AS_SEEN}
                  RETURNING current_version"""  # noqa: S608
        params = (content.content_hash, content.title, fetched,
                  dialect.write_time_opt(next_check_at), extractor_version, announced,
                  feed_url, *lease_params(lease_owner), article_id,
                  *lease_params(lease_owner), *as_seen_params(as_seen))

        async def body(tx: Transaction) -> int:
            # Only while the owner (if any) holds the lease, cleared by the same statement,
            # and the article is as seen (if given): otherwise nothing is written, no
            # version, no event.
            number = await updated_version(tx, sql, params, article_id, lease_owner,
                                           as_seen)
            await write_version(tx, article_id, number, content, fetched, extractor_version)
            if event is not None:
                await write_event(tx, event(number), article_id, number)
            return number

        return await self._transact(body)

    async def mark_collapsed(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> int:
        """See `Store.mark_collapsed`. Raises KeyError for an unknown article,
        `LeaseLostError`, `StaleArticleError`."""
        return await self._grow_streak(article_id, "collapse_count", also="gone_count = 0,",
                                       checked_at=checked_at, next_check_at=next_check_at,
                                       lease_owner=lease_owner, as_seen=as_seen)

    async def mark_deleted(
        self,
        article_id: int,
        *,
        event: EventRecord,
        checked_at: datetime,
        next_check_at: datetime | None,
        lease_owner: str | None = None,
        as_seen: AsSeen | None = None,
    ) -> None:
        """See `Store.mark_deleted`. Raises KeyError for an unknown article,
        `LeaseLostError`, `StaleArticleError`."""
        dialect = self._dialect
        checked = dialect.write_time(checked_at)
        sql = f"""UPDATE articles SET deleted = {dialect.true}, deleted_at = ?,
                      last_checked_at = ?, check_count = check_count + 1, next_check_at = ?,
                      gone_count = 0, {CLEAR_LEASE}
                  WHERE id = ? AND {LEASE_HELD} AND {AS_SEEN}
                  RETURNING current_version"""  # noqa: S608
        params = (checked, checked, dialect.write_time_opt(next_check_at),
                  *lease_params(lease_owner), article_id, *lease_params(lease_owner),
                  *as_seen_params(as_seen))

        async def body(tx: Transaction) -> None:
            version = await updated_version(tx, sql, params, article_id, lease_owner,
                                            as_seen)
            await write_event(tx, event, article_id, version)

        await self._transact(body)

    async def move_to_feed(self, article_id: int, feed_url: str, *,
                           as_seen: AsSeen | None = None) -> None:
        """See `Store.move_to_feed`. Raises KeyError for an unknown article,
        `StaleArticleError`."""

        async def body(tx: Transaction) -> None:
            if not await tx.run(
                    f"UPDATE articles SET entry_feed_url = ? WHERE id = ? AND {AS_SEEN}",  # noqa: S608
                    (feed_url, article_id, *as_seen_params(as_seen))):
                raise await article_refusal(tx, article_id, None, as_seen)

        await self._transact(body)

    async def due_articles(self, now: datetime, limit: int) -> list[Article]:
        rows = await self._query(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.next_check_at IS NOT NULL AND a.next_check_at <= ?"
            " ORDER BY a.next_check_at, a.id LIMIT ?",
            (self._dialect.write_time(now), limit),
        )
        return [self._dialect.rows.article(r) for r in rows]

    async def get_versions(self, article_id: int) -> list[Version]:
        rows = await self._query(
            "SELECT * FROM versions WHERE article_id = ? ORDER BY number", (article_id,))
        return [self._dialect.rows.version(r) for r in rows]

    async def count_articles(self) -> int:
        return await self._count("SELECT count(*) AS n FROM articles")

    async def count_due_articles(self, now: datetime) -> int:
        return await self._count(
            "SELECT count(*) AS n FROM articles"
            " WHERE next_check_at IS NOT NULL AND next_check_at <= ?",
            (self._dialect.write_time(now),))

    async def count_versions(self) -> int:
        return await self._count("SELECT count(*) AS n FROM versions")

    async def _count(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        rows = await self._query(sql, params)
        return int(rows[0]["n"])


async def updated_version(tx: Transaction, sql: str, params: tuple[Any, ...],
                          article_id: int, lease_owner: str | None,
                          as_seen: AsSeen | None) -> int:
    """Run a completing UPDATE of the article (under `LEASE_HELD` and `AS_SEEN`) that returns
    its `current_version`; the number. Raises KeyError for an unknown article,
    `LeaseLostError`, `StaleArticleError`."""
    rows = await tx.rows(sql, params)
    if not rows:
        raise await article_refusal(tx, article_id, lease_owner, as_seen)
    return int(rows[0]["current_version"])


async def write_version(tx: Transaction, article_id: int, number: int, content: Content,
                        fetched: Any, extractor_version: int) -> None:
    """Version `number` of the article; `fetched` as the dialect writes a time."""
    await tx.run(
        """INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at,
                                 extractor_version)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (article_id, number, content.content_hash, content.title, encode_text(content.text),
         fetched, extractor_version),
    )
