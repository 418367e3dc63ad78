"""Deliveries whose endpoint left the config (SQLite): how many wait for each endpoint, and
moving them to the URL that replaced it (`crawler deliveries retarget`)."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from crawler.store.sqlite_db import SQLiteDatabase
from crawler.store.sqlite_rows import encode_time

# Not delivered yet: what an endpoint's backlog is.
_UNSENT = "('pending', 'failed', 'disabled')"


class RetargetStore(SQLiteDatabase):
    async def count_unsent_by_endpoint(self) -> dict[str, int]:
        rows = await self._read(
            f"SELECT endpoint_url, count(*) FROM deliveries WHERE status IN {_UNSENT}"  # noqa: S608
            " GROUP BY endpoint_url")
        return {str(r[0]): int(r[1]) for r in rows}

    async def retarget_deliveries(self, from_url: str, to_url: str, *, now: datetime) -> int:
        if from_url == to_url:
            raise ValueError("the old and the new endpoint are the same URL")

        async def tx(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute(
                f"UPDATE deliveries SET endpoint_url = ?, lease_owner = NULL,"  # noqa: S608
                " lease_expires_at = NULL, status = 'pending', attempts = 0,"
                " next_attempt_at = ?, last_status = NULL, last_error = NULL"
                f" WHERE endpoint_url = ? AND status IN {_UNSENT} AND NOT EXISTS ("
                " SELECT 1 FROM deliveries AS there"
                " WHERE there.event_id = deliveries.event_id AND there.endpoint_url = ?)",
                (to_url, encode_time(now), from_url, to_url))
            return int(cursor.rowcount)

        return await self._write(tx)
