"""Moving due times in the PostgreSQL store: the clamp after a wall-clock step, a check's
postponement while it runs, and an endpoint's backlog made due when it recovers (the same
rules as `crawler.store.sqlite_due`, with the same pure `clamp_due`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crawler.clockstep import DueCaps, clamp_due
from crawler.store.postgres_db import Conn
from crawler.store.postgres_leases import LEASE_HELD, lease_lost_or_missing, lease_params
from crawler.store.postgres_outbox import PostgresOutbox
from crawler.store.postgres_rows import utc


async def _clamp_rows(conn: Conn, select: str, update: str, params: tuple[Any, ...],
                      now: datetime, cap: float) -> int:
    """Clamp the due time of each row `select` gives as (key, due, written_at); `update`
    takes (new due, key, old due), so a row another daemon wrote meanwhile is left alone."""
    cur = await conn.execute(select, params)
    moved = 0
    for row in await cur.fetchall():
        key, due, written = (row[k] for k in ("key", "due", "written"))
        clamped = clamp_due(due, written, now, cap)
        if clamped != due:
            await conn.execute(update, (clamped, key, due))
            moved += 1
    return moved


class PostgresDue(PostgresOutbox):
    """`Store.clamp_due_times`, `Store.postpone_check` and `Store.hasten_deliveries`."""

    async def clamp_due_times(self, now: datetime, caps: DueCaps) -> int:
        """See `Store.clamp_due_times`."""
        at = utc(now)

        def beyond(cap: float) -> datetime:
            return at + timedelta(seconds=cap)

        async def tx(conn: Conn) -> int:
            moved = await _clamp_rows(
                conn,
                "SELECT url AS key, next_poll_at AS due, last_polled_at AS written"
                " FROM feeds WHERE next_poll_at > %s"
                " AND (next_poll_at > %s OR last_polled_at > %s)",
                "UPDATE feeds SET next_poll_at = %s WHERE url = %s AND next_poll_at = %s",
                (at, beyond(caps.feed_poll), at), at, caps.feed_poll)
            moved += await _clamp_rows(
                conn,
                "SELECT id AS key, next_check_at AS due, last_checked_at AS written"
                " FROM articles WHERE next_check_at > %s"
                " AND (next_check_at > %s OR last_checked_at > %s)",
                "UPDATE articles SET next_check_at = %s WHERE id = %s AND next_check_at = %s",
                (at, beyond(caps.article_check), at), at, caps.article_check)
            moved += await _clamp_rows(
                conn,
                "SELECT d.id AS key, d.next_attempt_at AS due, coalesce((SELECT"
                " max(a.attempted_at) FROM delivery_attempts a WHERE a.delivery_id = d.id),"
                " d.created_at) AS written FROM deliveries d"
                " WHERE d.status = 'pending' AND d.next_attempt_at > %s",
                "UPDATE deliveries SET next_attempt_at = %s WHERE id = %s"
                " AND next_attempt_at = %s",
                (at,), at, caps.delivery_attempt)
            moved += await _clamp_rows(
                conn,
                "SELECT url AS key, next_probe_at AS due, NULL::timestamptz AS written"
                " FROM endpoints WHERE next_probe_at > %s",
                "UPDATE endpoints SET next_probe_at = %s WHERE url = %s AND next_probe_at = %s",
                (beyond(caps.endpoint_probe),), at, caps.endpoint_probe)
            # A failure streak that "began" after now would never last long enough to pause.
            cur = await conn.execute(
                "UPDATE endpoints SET failing_since = %s WHERE failing_since > %s", (at, at))
            return moved + cur.rowcount

        return await self._write(tx)

    async def postpone_check(self, article_id: int, *, next_check_at: datetime | None,
                             lease_owner: str | None = None) -> None:
        """See `Store.postpone_check`. Raises KeyError for an unknown article,
        `LeaseLostError`."""

        async def tx(conn: Conn) -> None:
            cur = await conn.execute(
                f"UPDATE articles SET next_check_at = %s WHERE id = %s AND {LEASE_HELD}",  # noqa: S608
                (None if next_check_at is None else utc(next_check_at), article_id,
                 *lease_params(lease_owner)))
            if cur.rowcount == 0:
                raise await lease_lost_or_missing(conn, "article", article_id, lease_owner)

        await self._write(tx)

    async def hasten_deliveries(self, endpoint_url: str, *, now: datetime) -> int:
        """See `Store.hasten_deliveries`."""
        at = utc(now)

        async def tx(conn: Conn) -> int:
            cur = await conn.execute(
                "UPDATE deliveries SET next_attempt_at = %s WHERE endpoint_url = %s"
                " AND status = 'pending' AND next_attempt_at > %s", (at, endpoint_url, at))
            return cur.rowcount

        return await self._write(tx)
