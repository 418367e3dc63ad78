"""What deciding about a check reads, and the restorations it writes (`crawler.decision`'s
needs of the `Store`), written once for both stores over their `Transaction` (see
`shared_outbox`).

Statements use `?` marks and every time parameter goes through the dialect (`transaction`).
"""

from __future__ import annotations

from datetime import datetime

from crawler.models import AsSeen, EventRecord, Version, VersionMark
from crawler.store.records import decode_payload, deletion_status
from crawler.store.shared_articles import updated_version
from crawler.store.shared_leases import (
    AS_SEEN,
    CLEAR_LEASE,
    LEASE_HELD,
    as_seen_params,
    lease_params,
)
from crawler.store.shared_outbox import write_event
from crawler.store.transaction import SharedWrites, Transaction

# The host of the article given as the parameter.
_HOST = "(SELECT host FROM articles WHERE id = ?)"


class SharedChecks(SharedWrites):
    async def get_version_marks(self, article_id: int) -> list[VersionMark]:
        rows = await self._query(
            "SELECT number, content_hash, fetched_at, extractor_version FROM versions"
            " WHERE article_id = ? ORDER BY number", (article_id,),
        )
        return [self._dialect.rows.version_mark(r) for r in rows]

    async def get_last_version(self, article_id: int) -> Version | None:
        rows = await self._query(
            "SELECT * FROM versions WHERE article_id = ? ORDER BY number DESC LIMIT 1",
            (article_id,),
        )
        return self._dialect.rows.version(rows[0]) if rows else None

    async def get_deletion_status(self, article_id: int) -> int | None:
        rows = await self._query(
            "SELECT payload FROM events WHERE article_id = ? AND type = 'article.deleted'"  # noqa: S608
            f" ORDER BY created_at DESC, {self._dialect.events_tiebreak} DESC LIMIT 1",
            (article_id,),
        )
        return deletion_status(decode_payload(rows[0]["payload"])) if rows else None

    async def mark_restored(
        self, article_id: int, *, event: EventRecord, checked_at: datetime,
        next_check_at: datetime | None, extractor_version: int,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> None:
        """See `Store.mark_restored`: a restoration is the current version announced again
        (`mark_announced` also ends the deletion)."""
        await self.mark_announced(article_id, event=event, checked_at=checked_at,
                                  next_check_at=next_check_at,
                                  extractor_version=extractor_version, lease_owner=lease_owner,
                                  as_seen=as_seen)

    async def mark_announced(
        self, article_id: int, *, event: EventRecord, checked_at: datetime,
        next_check_at: datetime | None, extractor_version: int,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> None:
        """See `Store.mark_announced`. Raises KeyError for an unknown article,
        `LeaseLostError`, `StaleArticleError`."""
        dialect = self._dialect
        sql = f"""UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                      next_check_at = ?, collapse_count = 0, gone_count = 0,
                      deleted = {dialect.false}, deleted_at = NULL,
                      announced_version = current_version, extractor_version = ?,
                      {CLEAR_LEASE}
                  WHERE id = ? AND {LEASE_HELD} AND {AS_SEEN}
                  RETURNING current_version"""  # noqa: S608
        params = (dialect.write_time(checked_at), dialect.write_time_opt(next_check_at),
                  extractor_version, *lease_params(lease_owner), article_id,
                  *lease_params(lease_owner), *as_seen_params(as_seen))

        async def body(tx: Transaction) -> None:
            version = await updated_version(tx, sql, params, article_id, lease_owner,
                                            as_seen)
            await write_event(tx, event, article_id, version)

        await self._transact(body)

    async def note_site_text(self, article_id: int, *, text_hash: str, seen_at: datetime,
                             since: datetime) -> int:
        """See `Store.note_site_text`."""
        seen, oldest = self._dialect.write_time(seen_at), self._dialect.write_time(since)

        async def body(tx: Transaction) -> int:
            await tx.run(
                "INSERT INTO site_texts (host, text_hash, article_id, seen_at)"
                " SELECT host, ?, id, ? FROM articles WHERE id = ?"
                " ON CONFLICT (host, text_hash, article_id) DO UPDATE"
                " SET seen_at = excluded.seen_at", (text_hash, seen, article_id))
            await tx.run(f"DELETE FROM site_texts WHERE host = {_HOST} AND seen_at < ?",  # noqa: S608
                         (article_id, oldest))
            rows = await tx.rows(
                "SELECT count(*) AS n FROM site_texts"  # noqa: S608
                f" WHERE host = {_HOST} AND text_hash = ? AND article_id != ?",
                (article_id, text_hash, article_id))
            return int(rows[0]["n"])

        return await self._transact(body)
