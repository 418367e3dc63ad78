"""What deciding about a check reads, and the restorations it writes (PostgreSQL): the
`Store` methods of `crawler.decision`'s needs, apart from the article methods in
`crawler.store.postgres`."""

from __future__ import annotations

from datetime import datetime

from crawler.models import EventRecord, Version, VersionMark
from crawler.store.postgres_db import Conn
from crawler.store.postgres_leases import (
    CLEAR_LEASE,
    LEASE_HELD,
    lease_lost_or_missing,
    lease_params,
)
from crawler.store.postgres_outbox import PostgresOutbox, insert_event
from crawler.store.postgres_rows import (
    decode_payload,
    row_to_version,
    row_to_version_mark,
    utc,
    utc_opt,
)
from crawler.store.records import deletion_status
from crawler.store.shared_streaks import SharedStreaks


class PostgresChecks(PostgresOutbox, SharedStreaks):
    async def get_version_marks(self, article_id: int) -> list[VersionMark]:
        rows = await self._read(
            "SELECT number, content_hash, fetched_at, extractor_version FROM versions"
            " WHERE article_id = %s ORDER BY number", (article_id,),
        )
        return [row_to_version_mark(r) for r in rows]

    async def get_last_version(self, article_id: int) -> Version | None:
        rows = await self._read(
            "SELECT * FROM versions WHERE article_id = %s ORDER BY number DESC LIMIT 1",
            (article_id,),
        )
        return row_to_version(rows[0]) if rows else None

    async def get_deletion_status(self, article_id: int) -> int | None:
        rows = await self._read(
            "SELECT payload FROM events WHERE article_id = %s AND type = 'article.deleted'"
            " ORDER BY created_at DESC, version DESC LIMIT 1", (article_id,),
        )
        return deletion_status(decode_payload(rows[0]["payload"])) if rows else None

    async def mark_restored(
        self, article_id: int, *, event: EventRecord, checked_at: datetime,
        next_check_at: datetime | None, extractor_version: int,
        lease_owner: str | None = None,
    ) -> None:
        """See `Store.mark_restored`: a restoration is the current version announced again
        (`mark_announced` also ends the deletion)."""
        await self.mark_announced(article_id, event=event, checked_at=checked_at,
                                  next_check_at=next_check_at,
                                  extractor_version=extractor_version, lease_owner=lease_owner)

    async def mark_announced(
        self, article_id: int, *, event: EventRecord, checked_at: datetime,
        next_check_at: datetime | None, extractor_version: int,
        lease_owner: str | None = None,
    ) -> None:
        """See `Store.mark_announced`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        params = (utc(checked_at), utc_opt(next_check_at), extractor_version,
                  *lease_params(lease_owner), article_id, *lease_params(lease_owner))

        async def tx(conn: Conn) -> None:
            cur = await conn.execute(
                f"""UPDATE articles SET last_checked_at = %s, check_count = check_count + 1,
                       next_check_at = %s, collapse_count = 0, gone_count = 0, deleted = false,
                       deleted_at = NULL, announced_version = current_version,
                       extractor_version = %s, {CLEAR_LEASE}
                   WHERE id = %s AND {LEASE_HELD} RETURNING current_version""",  # noqa: S608
                params,
            )
            row = await cur.fetchone()
            if row is None:
                raise await lease_lost_or_missing(conn, "article", article_id, lease_owner)
            await insert_event(conn, event, article_id, int(row["current_version"]))

        await self._write(tx)

    async def note_site_text(self, article_id: int, *, text_hash: str, seen_at: datetime,
                             since: datetime) -> int:
        """See `Store.note_site_text`."""
        host = "(SELECT host FROM articles WHERE id = %s)"

        async def tx(conn: Conn) -> int:
            await conn.execute(
                "INSERT INTO site_texts (host, text_hash, article_id, seen_at)"
                " SELECT host, %s, id, %s FROM articles WHERE id = %s"
                " ON CONFLICT (host, text_hash, article_id) DO UPDATE"
                " SET seen_at = excluded.seen_at", (text_hash, utc(seen_at), article_id))
            await conn.execute(
                f"DELETE FROM site_texts WHERE host = {host} AND seen_at < %s",  # noqa: S608
                (article_id, utc(since)))
            cur = await conn.execute(
                "SELECT count(*) AS n FROM site_texts"  # noqa: S608
                f" WHERE host = {host} AND text_hash = %s AND article_id != %s",
                (article_id, text_hash, article_id))
            row = await cur.fetchone()
            return int(row["n"]) if row is not None else 0

        return await self._write(tx)
