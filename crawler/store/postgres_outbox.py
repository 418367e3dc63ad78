"""The outbox of the PostgreSQL store: the shared methods (`shared_outbox`), and what
PostgreSQL does its own way: the claim (`FOR UPDATE SKIP LOCKED`, see `postgres_leases`),
and an advisory lock on an endpoint while its state is read and written.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from crawler.models import Delivery
from crawler.store.postgres_leases import PostgresLeases, lease_until
from crawler.store.postgres_rows import utc
from crawler.store.records import DELIVERY_COLUMNS
from crawler.store.shared_outbox import SharedOutbox
from crawler.store.transaction import Transaction

# pg_advisory_xact_lock's first key for endpoint rows (the second is the URL's hash).
_ENDPOINT_LOCK = 0x656E64


class PostgresOutbox(PostgresLeases, SharedOutbox):
    """Delivery and endpoint-health methods of `Store` on PostgreSQL."""

    async def claim_due_deliveries(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        endpoints: Collection[str] | None = None,
    ) -> list[Delivery]:
        """See `Store.claim_due_deliveries` (and `postgres_leases` for how a claim is made)."""
        until = lease_until(utc(now), lease_seconds)
        claimable = self._claimable(now, limit, endpoints)
        if claimable is None:
            return []
        chosen, params = claimable
        sql = f"""
            WITH chosen AS MATERIALIZED ({chosen} FOR UPDATE SKIP LOCKED),
            taken AS (
                UPDATE deliveries d SET lease_owner = ?, lease_expires_at = ?
                FROM chosen WHERE d.id = chosen.id RETURNING d.*
            )
            SELECT {DELIVERY_COLUMNS} FROM taken d JOIN events e ON e.id = d.event_id
            ORDER BY d.next_attempt_at, d.id"""  # noqa: S608

        async def body(tx: Transaction) -> list[Delivery]:
            return [self._dialect.rows.delivery(r)
                    for r in await tx.rows(sql, [*params, owner, until])]

        return await self._transact(body)

    async def _lock_endpoint(self, tx: Transaction, url: str) -> None:
        # Many daemons may share the database: without the lock two could read the same
        # state and each write its own decision over the other's.
        await tx.run("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_ENDPOINT_LOCK, url))
