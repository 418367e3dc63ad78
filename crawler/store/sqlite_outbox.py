"""The outbox of the SQLite store: the shared methods (`shared_outbox`), and what SQLite does
its own way: the claim, and (not) locking an endpoint's row.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import aiosqlite

from crawler.models import Delivery
from crawler.store.records import DELIVERY_COLUMNS
from crawler.store.shared_outbox import SharedOutbox
from crawler.store.sqlite_leases import LeaseStore, claim_chosen, lease_until
from crawler.store.sqlite_rows import ROWS
from crawler.store.transaction import Transaction


class OutboxStore(LeaseStore, SharedOutbox):
    """Delivery methods of `Store` (plus `next_delivery_due`) on SQLite."""

    async def claim_due_deliveries(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        endpoints: Collection[str] | None = None,
    ) -> list[Delivery]:
        """See `Store.claim_due_deliveries`: chosen, then taken by their ids, by the one
        writer (`sqlite_leases`)."""
        until = lease_until(now, lease_seconds)
        claimable = self._claimable(now, limit, endpoints)
        if claimable is None:
            return []
        choose, params = claimable

        async def tx(conn: aiosqlite.Connection) -> list[Delivery]:
            rows = await claim_chosen(
                conn, "delivery", choose, params, owner, until,
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e"  # noqa: S608
                " ON e.id = d.event_id WHERE d.id IN ({keys}) ORDER BY d.next_attempt_at, d.id")
            return [ROWS.delivery(r) for r in rows]

        return await self._write(tx)

    async def _lock_endpoint(self, tx: Transaction, url: str) -> None:
        # Nothing to take: a write transaction is `BEGIN IMMEDIATE`, which already holds the
        # database's one write lock until it ends.
        return
