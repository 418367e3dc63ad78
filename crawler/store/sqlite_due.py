"""Moving due times in the SQLite store: the clamp after a wall-clock step, a check's
postponement while it runs, and an endpoint's backlog made due when it recovers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from crawler.clockstep import DueCaps, clamp_due
from crawler.store.sqlite_leases import LEASE_HELD, lease_params, require_lease
from crawler.store.sqlite_outbox import OutboxStore
from crawler.store.sqlite_rows import decode_time, decode_time_opt, encode_time, encode_time_opt


async def _clamp_rows(conn: aiosqlite.Connection, select: str, update: str,
                      params: tuple[Any, ...], now: datetime, cap: float) -> int:
    """Clamp the due time of each row `select` gives as (key, due, written_at); `update`
    takes (new due, key, old due), so a row written meanwhile is left alone."""
    moved = 0
    for key, due_text, written_text in await conn.execute_fetchall(select, params):
        due = decode_time(due_text)
        clamped = clamp_due(due, decode_time_opt(written_text), now, cap)
        if clamped != due:
            await conn.execute(update, (encode_time(clamped), key, due_text))
            moved += 1
    return moved


class DueStore(OutboxStore):
    """`Store.clamp_due_times`, `Store.postpone_check` and `Store.hasten_deliveries`."""

    async def clamp_due_times(self, now: datetime, caps: DueCaps) -> int:
        """See `Store.clamp_due_times`. Only rows due later than now are read: those
        beyond their cap (an indexed range) and those written after now (a scan of the
        write times, which SQLite does in C; cheap next to a pass)."""
        at = encode_time(now)

        def beyond(cap: float) -> str:
            return encode_time(now + timedelta(seconds=cap))

        # Looked for on the reader first: in the usual case (the clock did not step) nothing
        # is found and the single writer is not held for the scans.
        if not await self._read(
                "SELECT 1 FROM feeds WHERE next_poll_at > ? AND (next_poll_at > ?"
                " OR last_polled_at > ?) UNION ALL SELECT 1 FROM articles"
                " WHERE next_check_at > ? AND (next_check_at > ? OR last_checked_at > ?)"
                " UNION ALL SELECT 1 FROM deliveries WHERE status = 'pending'"
                " AND next_attempt_at > ? UNION ALL SELECT 1 FROM endpoints"
                " WHERE next_probe_at > ? OR failing_since > ? LIMIT 1",
                (at, beyond(caps.feed_poll), at, at, beyond(caps.article_check), at, at,
                 beyond(caps.endpoint_probe), at)):
            return 0

        async def tx(conn: aiosqlite.Connection) -> int:
            moved = await _clamp_rows(
                conn,
                "SELECT url, next_poll_at, last_polled_at FROM feeds"
                " WHERE next_poll_at > ? AND (next_poll_at > ? OR last_polled_at > ?)",
                "UPDATE feeds SET next_poll_at = ? WHERE url = ? AND next_poll_at = ?",
                (at, beyond(caps.feed_poll), at), now, caps.feed_poll)
            moved += await _clamp_rows(
                conn,
                "SELECT id, next_check_at, last_checked_at FROM articles"
                " WHERE next_check_at > ? AND (next_check_at > ? OR last_checked_at > ?)",
                "UPDATE articles SET next_check_at = ? WHERE id = ? AND next_check_at = ?",
                (at, beyond(caps.article_check), at), now, caps.article_check)
            moved += await _clamp_rows(
                conn,
                "SELECT d.id, d.next_attempt_at, coalesce((SELECT max(a.attempted_at)"
                " FROM delivery_attempts a WHERE a.delivery_id = d.id), d.created_at)"
                " FROM deliveries d WHERE d.status = 'pending' AND d.next_attempt_at > ?",
                "UPDATE deliveries SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ?",
                (at,), now, caps.delivery_attempt)
            moved += await _clamp_rows(
                conn,
                "SELECT url, next_probe_at, NULL FROM endpoints WHERE next_probe_at > ?",
                "UPDATE endpoints SET next_probe_at = ? WHERE url = ? AND next_probe_at = ?",
                (beyond(caps.endpoint_probe),), now, caps.endpoint_probe)
            # A failure streak that "began" after now would never last long enough to pause.
            cursor = await conn.execute(
                "UPDATE endpoints SET failing_since = ? WHERE failing_since > ?", (at, at))
            return moved + int(cursor.rowcount)

        return await self._write(tx)

    async def postpone_check(self, article_id: int, *, next_check_at: datetime | None,
                             lease_owner: str | None = None) -> None:
        """See `Store.postpone_check`. Raises KeyError for an unknown article,
        `LeaseLostError`."""

        async def tx(conn: aiosqlite.Connection) -> None:
            cursor = await conn.execute(
                f"UPDATE articles SET next_check_at = ? WHERE id = ? AND {LEASE_HELD}",  # noqa: S608
                (encode_time_opt(next_check_at), article_id, *lease_params(lease_owner)))
            if cursor.rowcount == 0:
                await require_lease(conn, "article", article_id, lease_owner)
                raise KeyError(article_id)

        await self._write(tx)

    async def hasten_deliveries(self, endpoint_url: str, *, now: datetime) -> int:
        """See `Store.hasten_deliveries`."""
        at = encode_time(now)

        async def tx(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute(
                "UPDATE deliveries SET next_attempt_at = ? WHERE endpoint_url = ?"
                " AND status = 'pending' AND next_attempt_at > ?", (at, endpoint_url, at))
            return int(cursor.rowcount)

        return await self._write(tx)
