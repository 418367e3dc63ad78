"""Moving due times, written once for both stores: the clamp after a wall-clock step
(`crawler.clockstep.clamp_due` decides each row), a check's postponement while it runs, and
an endpoint's backlog made due when it recovers.

Statements use `?` marks and every time parameter goes through the dialect (`transaction`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from crawler.clockstep import DueCaps, clamp_due
from crawler.store.shared_leases import LEASE_HELD, lease_lost_or_missing, lease_params
from crawler.store.transaction import SharedWrites, Transaction


def _scheduled(due: str, written: str) -> str:
    """Rows due later than now (the first `?`) and beyond their cap (the second: an indexed
    range) or written after now (the third: a scan of the write times)."""
    return f"{due} > ? AND ({due} > ? OR {written} > ?)"


# Whether any row may need the clamp, all four tables in one query. Parameters: now, beyond
# the feeds' cap, now, now, beyond the articles' cap, now, now, beyond the probes' cap, now.
_ANY_TO_CLAMP = (
    f"SELECT 1 FROM feeds WHERE {_scheduled('next_poll_at', 'last_polled_at')}"  # noqa: S608
    f" UNION ALL SELECT 1 FROM articles WHERE {_scheduled('next_check_at', 'last_checked_at')}"
    " UNION ALL SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at > ?"
    " UNION ALL SELECT 1 FROM endpoints WHERE next_probe_at > ? OR failing_since > ? LIMIT 1"
)


async def _clamp_rows(tx: Transaction, table: str, key: str, due: str, written: str,
                      where: str, params: tuple[Any, ...], now: datetime, cap: float) -> int:
    """Clamp the `due` column of each row of `table` that matches `where`, by the time it
    was `written` (an expression; NULL if unknown). The update compares the stored due time
    too, so a row written meanwhile is left alone."""
    read = tx.dialect.rows
    select = f"SELECT {key} AS key, {due} AS due, {written} AS written FROM {table} WHERE {where}"  # noqa: S608
    update = f"UPDATE {table} SET {due} = ? WHERE {key} = ? AND {due} = ?"  # noqa: S608
    moved = 0
    for row in await tx.rows(select, params):
        stored = read.time(row["due"])
        clamped = clamp_due(stored, read.time_opt(row["written"]), now, cap)
        if clamped != stored:
            await tx.run(update, (tx.dialect.write_time(clamped), row["key"], row["due"]))
            moved += 1
    return moved


class SharedDue(SharedWrites):
    """`Store.clamp_due_times`, `Store.postpone_check` and `Store.hasten_deliveries`."""

    _clamp_looks_first: ClassVar[bool]
    """Whether `clamp_due_times` first asks, outside any transaction, if any row needs it.
    On SQLite it does: in the usual case (the clock did not step) nothing is found, and the
    single writer is not held for the scans."""

    async def clamp_due_times(self, now: datetime, caps: DueCaps) -> int:
        """See `Store.clamp_due_times`. Only rows due later than now are read (`_scheduled`)."""
        time = self._dialect.write_time
        at = time(now)

        def beyond(cap: float) -> Any:
            return time(now + timedelta(seconds=cap))

        if self._clamp_looks_first and not await self._query(
                _ANY_TO_CLAMP,
                (at, beyond(caps.feed_poll), at, at, beyond(caps.article_check), at, at,
                 beyond(caps.endpoint_probe), at)):
            return 0

        async def body(tx: Transaction) -> int:
            moved = await _clamp_rows(
                tx, "feeds", "url", "next_poll_at", "last_polled_at",
                _scheduled("next_poll_at", "last_polled_at"),
                (at, beyond(caps.feed_poll), at), now, caps.feed_poll)
            moved += await _clamp_rows(
                tx, "articles", "id", "next_check_at", "last_checked_at",
                _scheduled("next_check_at", "last_checked_at"),
                (at, beyond(caps.article_check), at), now, caps.article_check)
            # A delivery was written when last attempted, or made.
            moved += await _clamp_rows(
                tx, "deliveries", "id", "next_attempt_at",
                "coalesce((SELECT max(a.attempted_at) FROM delivery_attempts a"
                " WHERE a.delivery_id = deliveries.id), created_at)",
                "status = 'pending' AND next_attempt_at > ?", (at,), now, caps.delivery_attempt)
            # A probe's row keeps no write time: the cap alone applies.
            moved += await _clamp_rows(
                tx, "endpoints", "url", "next_probe_at", "NULL", "next_probe_at > ?",
                (beyond(caps.endpoint_probe),), now, caps.endpoint_probe)
            # A failure streak that "began" after now would never last long enough to pause.
            return moved + await tx.run(
                "UPDATE endpoints SET failing_since = ? WHERE failing_since > ?", (at, at))

        return await self._transact(body)

    async def postpone_check(self, article_id: int, *, next_check_at: datetime | None,
                             lease_owner: str | None = None) -> None:
        """See `Store.postpone_check`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        next_check = self._dialect.write_time_opt(next_check_at)

        async def body(tx: Transaction) -> None:
            changed = await tx.run(
                f"UPDATE articles SET next_check_at = ? WHERE id = ? AND {LEASE_HELD}",  # noqa: S608
                (next_check, article_id, *lease_params(lease_owner)))
            if changed == 0:
                raise await lease_lost_or_missing(tx, "article", article_id, lease_owner)

        await self._transact(body)

    async def hasten_deliveries(self, endpoint_url: str, *, now: datetime) -> int:
        """See `Store.hasten_deliveries`."""
        at = self._dialect.write_time(now)

        async def body(tx: Transaction) -> int:
            return await tx.run(
                "UPDATE deliveries SET next_attempt_at = ? WHERE endpoint_url = ?"
                " AND status = 'pending' AND next_attempt_at > ?", (at, endpoint_url, at))

        return await self._transact(body)
