"""Checks that count one more in a row (a 404 not confirmed yet, an extraction collapse),
written once for both stores over their `Transaction` (see `shared_outbox`)."""

from __future__ import annotations

from datetime import datetime

from crawler.store.shared_leases import (
    CLEAR_LEASE,
    LEASE_HELD,
    lease_lost_or_missing,
    lease_params,
)
from crawler.store.transaction import SharedWrites, Transaction


class SharedStreaks(SharedWrites):
    async def mark_missing(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        lease_owner: str | None = None,
    ) -> int:
        """See `Store.mark_missing`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        return await self._grow_streak(article_id, "gone_count", checked_at=checked_at,
                                       next_check_at=next_check_at, lease_owner=lease_owner)

    async def _grow_streak(
        self, article_id: int, streak: str, *, checked_at: datetime,
        next_check_at: datetime | None, lease_owner: str | None, also: str = "",
    ) -> int:
        """A check that counts one more in a row of `streak` (`gone_count`, a 404; or
        `collapse_count`, a collapse), with the SET items `also` adds; returns the new count.
        Under the article's lease, as every completing write."""
        params = (self._dialect.write_time(checked_at), self._dialect.write_time_opt(next_check_at),
                  *lease_params(lease_owner), article_id, *lease_params(lease_owner))

        async def body(tx: Transaction) -> int:
            rows = await tx.rows(
                f"""UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                       next_check_at = ?, {streak} = {streak} + 1, {also} {CLEAR_LEASE}
                   WHERE id = ? AND {LEASE_HELD} RETURNING {streak} AS streak""",  # noqa: S608
                params,
            )
            if not rows:
                raise await lease_lost_or_missing(tx, "article", article_id, lease_owner)
            return int(rows[0]["streak"])

        return await self._transact(body)
