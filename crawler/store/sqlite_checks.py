"""What deciding about a check reads, and the restorations it writes (SQLite): the
`Store` methods of `crawler.decision`'s needs, apart from the article methods in
`crawler.store.sqlite`."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from crawler.models import EventRecord, Version, VersionMark
from crawler.store.records import deletion_status
from crawler.store.shared_streaks import SharedStreaks
from crawler.store.sqlite_leases import CLEAR_LEASE, LEASE_HELD, lease_params, require_lease
from crawler.store.sqlite_outbox import OutboxStore, insert_event
from crawler.store.sqlite_rows import (
    decode_payload,
    encode_time,
    encode_time_opt,
    row_to_version,
    row_to_version_mark,
)


class CheckStore(OutboxStore, SharedStreaks):
    async def get_version_marks(self, article_id: int) -> list[VersionMark]:
        rows = await self._read(
            "SELECT number, content_hash, fetched_at, extractor_version FROM versions"
            " WHERE article_id = ? ORDER BY number", (article_id,),
        )
        return [row_to_version_mark(r) for r in rows]

    async def get_last_version(self, article_id: int) -> Version | None:
        rows = await self._read(
            "SELECT * FROM versions WHERE article_id = ? ORDER BY number DESC LIMIT 1",
            (article_id,),
        )
        return row_to_version(rows[0]) if rows else None

    async def get_deletion_status(self, article_id: int) -> int | None:
        rows = await self._read(
            "SELECT payload FROM events WHERE article_id = ? AND type = 'article.deleted'"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1", (article_id,),
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
        params = (encode_time(checked_at), encode_time_opt(next_check_at), extractor_version,
                  *lease_params(lease_owner), article_id, *lease_params(lease_owner))

        async def tx(conn: aiosqlite.Connection) -> None:
            rows = list(await conn.execute_fetchall(
                f"""UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                       next_check_at = ?, collapse_count = 0, gone_count = 0, deleted = 0,
                       deleted_at = NULL, announced_version = current_version,
                       extractor_version = ?, {CLEAR_LEASE}
                   WHERE id = ? AND {LEASE_HELD} RETURNING current_version""",  # noqa: S608
                params,
            ))
            if not rows:
                await require_lease(conn, "article", article_id, lease_owner)
                raise KeyError(article_id)
            await insert_event(conn, event, article_id, int(rows[0][0]))

        await self._write(tx)

    async def note_site_text(self, article_id: int, *, text_hash: str, seen_at: datetime,
                             since: datetime) -> int:
        """See `Store.note_site_text`."""
        seen, oldest = encode_time(seen_at), encode_time(since)
        host = "(SELECT host FROM articles WHERE id = ?)"

        async def tx(conn: aiosqlite.Connection) -> int:
            await conn.execute(
                "INSERT INTO site_texts (host, text_hash, article_id, seen_at)"
                " SELECT host, ?, id, ? FROM articles WHERE id = ?"
                " ON CONFLICT (host, text_hash, article_id) DO UPDATE"
                " SET seen_at = excluded.seen_at", (text_hash, seen, article_id))
            await conn.execute(
                f"DELETE FROM site_texts WHERE host = {host} AND seen_at < ?",  # noqa: S608
                (article_id, oldest))
            rows = list(await conn.execute_fetchall(
                "SELECT count(*) FROM site_texts"  # noqa: S608
                f" WHERE host = {host} AND text_hash = ? AND article_id != ?",
                (article_id, text_hash, article_id)))
            return int(rows[0][0])

        return await self._write(tx)
