"""Deliveries whose endpoint left the config, written once for both stores: how many wait for
each endpoint, and moving them to the URL that replaced it (`crawler deliveries retarget`).

Statements use `?` marks and every time parameter goes through the dialect (`transaction`).
"""

from __future__ import annotations

from datetime import datetime

from crawler.store.transaction import SharedWrites, Transaction

# Not delivered yet: what an endpoint's backlog is.
_UNSENT = "('pending', 'failed', 'disabled')"


class SharedRetarget(SharedWrites):
    async def count_unsent_by_endpoint(self) -> dict[str, int]:
        rows = await self._query(
            "SELECT endpoint_url, count(*) AS n FROM deliveries"  # noqa: S608
            f" WHERE status IN {_UNSENT} GROUP BY endpoint_url")
        return {str(r["endpoint_url"]): int(r["n"]) for r in rows}

    async def retarget_deliveries(self, from_url: str, to_url: str, *, now: datetime) -> int:
        if from_url == to_url:
            raise ValueError("the old and the new endpoint are the same URL")
        at = self._dialect.write_time(now)

        async def body(tx: Transaction) -> int:
            # A delivery the new endpoint already has for the same event stays behind (the
            # event must not reach it twice).
            return await tx.run(
                "UPDATE deliveries SET endpoint_url = ?, lease_owner = NULL,"  # noqa: S608
                " lease_expires_at = NULL, status = 'pending', attempts = 0,"
                " next_attempt_at = ?, last_status = NULL, last_error = NULL"
                f" WHERE endpoint_url = ? AND status IN {_UNSENT} AND NOT EXISTS ("
                " SELECT 1 FROM deliveries AS there"
                " WHERE there.event_id = deliveries.event_id AND there.endpoint_url = ?)",
                (to_url, at, from_url, to_url))

        return await self._transact(body)
