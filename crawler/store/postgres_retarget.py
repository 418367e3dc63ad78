"""Deliveries whose endpoint left the config (PostgreSQL): how many wait for each endpoint,
and moving them to the URL that replaced it (`crawler deliveries retarget`)."""

from __future__ import annotations

from datetime import datetime

from crawler.store.postgres_db import Conn, PostgresDatabase
from crawler.store.postgres_rows import utc

# Not delivered yet: what an endpoint's backlog is.
_UNSENT = "('pending', 'failed', 'disabled')"


class PostgresRetarget(PostgresDatabase):
    async def count_unsent_by_endpoint(self) -> dict[str, int]:
        rows = await self._read(
            "SELECT endpoint_url, count(*) AS n FROM deliveries"  # noqa: S608
            f" WHERE status IN {_UNSENT} GROUP BY endpoint_url")
        return {str(r["endpoint_url"]): int(r["n"]) for r in rows}

    async def retarget_deliveries(self, from_url: str, to_url: str, *, now: datetime) -> int:
        if from_url == to_url:
            raise ValueError("the old and the new endpoint are the same URL")

        async def tx(conn: Conn) -> int:
            cur = await conn.execute(
                "UPDATE deliveries SET endpoint_url = %s, lease_owner = NULL,"  # noqa: S608
                " lease_expires_at = NULL, status = 'pending', attempts = 0,"
                " next_attempt_at = %s, last_status = NULL, last_error = NULL"
                f" WHERE endpoint_url = %s AND status IN {_UNSENT} AND NOT EXISTS ("
                " SELECT 1 FROM deliveries AS there"
                " WHERE there.event_id = deliveries.event_id AND there.endpoint_url = %s)",
                (to_url, utc(now), from_url, to_url))
            return int(cur.rowcount)

        return await self._write(tx)
