"""Checks that count one more in a row (a 404 not confirmed yet, an extraction collapse),
written once for both stores over their `Transaction` (see `shared_outbox`)."""

from __future__ import annotations

from datetime import datetime

from crawler.models import AsSeen
from crawler.store.shared_leases import (
    AS_SEEN,
    CLEAR_LEASE,
    LEASE_HELD,
    article_refusal,
    as_seen_params,
    lease_params,
)
from crawler.store.transaction import SharedWrites, Transaction


class SharedStreaks(SharedWrites):
    async def mark_missing(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> int:
        """See `Store.mark_missing`. Raises KeyError for an unknown article,
        `LeaseLostError`, `StaleArticleError`."""
        return await self._grow_streak(article_id, "gone_count", checked_at=checked_at,
                                       next_check_at=next_check_at, lease_owner=lease_owner,
                                       as_seen=as_seen)

    async def _grow_streak(
        self, article_id: int, streak: str, *, checked_at: datetime,
        next_check_at: datetime | None, lease_owner: str | None,
        as_seen: AsSeen | None = None, also: str = "",
    ) -> int:
        """A check that counts one more in a row of `streak` (`gone_count`, a 404; or
        `collapse_count`, a collapse), with the SET items `also` adds; returns the new count.
        Under the article's lease, as every completing write, and only while it is as seen."""
        params = (self._dialect.write_time(checked_at), self._dialect.write_time_opt(next_check_at),
                  *lease_params(lease_owner), article_id, *lease_params(lease_owner),
                  *as_seen_params(as_seen))

        async def body(tx: Transaction) -> int:
            rows = await tx.rows(
                f"""UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                       next_check_at = ?, {streak} = {streak} + 1, {also} {CLEAR_LEASE}
                   WHERE id = ? AND {LEASE_HELD} AND {AS_SEEN}
                   RETURNING {streak} AS streak""",  # noqa: S608
                params,
            )
            if not rows:
                raise await article_refusal(tx, article_id, lease_owner, as_seen)
            return int(rows[0]["streak"])

        return await self._transact(body)
