"""The outbox half of the SQLite store: events' deliveries and their attempts.

Events and their pending deliveries are written by the article methods (`insert_event`, in
the same transaction as the version); the deliverer reads due deliveries and records each
attempt in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import aiosqlite

from crawler.models import Delivery, EventRecord
from crawler.store.records import IN_ARTICLE_ORDER, attempt_status
from crawler.store.sqlite_leases import (
    CLEAR_LEASE,
    FREE,
    LEASE_HELD,
    LeaseStore,
    lease_params,
    lease_until,
    placeholders,
    require_lease,
    take,
)
from crawler.store.sqlite_rows import (
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    decode_time,
    encode_text,
    encode_time,
    encode_time_opt,
    row_to_delivery,
    row_to_endpoint,
)
from crawler.webhooks.health import EndpointState, Transition


class OutboxStore(LeaseStore):
    """Delivery methods of `Store` (plus `next_delivery_due`)."""

    async def due_deliveries(
        self, now: datetime, limit: int, *, endpoints: Collection[str] | None = None
    ) -> list[Delivery]:
        """See `Store.due_deliveries`. `endpoints`, when given, restricts the answer to those
        endpoint URLs, so deliveries to a disabled or removed endpoint cannot fill `limit` and
        starve the others."""
        sql = (
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"  # noqa: S608
            " WHERE d.status = 'pending' AND d.next_attempt_at <= ?"
        )
        params: list[Any] = [encode_time(now)]
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return []
            sql += f" AND d.endpoint_url IN ({', '.join('?' * len(wanted))})"
            params.extend(wanted)
        sql += " ORDER BY d.next_attempt_at, d.id LIMIT ?"
        params.append(limit)
        return [row_to_delivery(r) for r in await self._read(sql, params)]

    async def claim_due_deliveries(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        endpoints: Collection[str] | None = None,
    ) -> list[Delivery]:
        """See `Store.claim_due_deliveries`."""
        at, until = encode_time(now), lease_until(now, lease_seconds)
        sql = ("SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"  # noqa: S608
               f" AND {FREE} AND {IN_ARTICLE_ORDER}")
        params: list[Any] = [at, at]
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return []
            sql += f" AND endpoint_url IN ({placeholders(len(wanted))})"
            params.extend(wanted)
        sql += " ORDER BY next_attempt_at, id LIMIT ?"
        params.append(limit)

        async def tx(conn: aiosqlite.Connection) -> list[Delivery]:
            ids = [int(r[0]) for r in await conn.execute_fetchall(sql, params)]
            if not ids:
                return []
            await take(conn, "delivery", ids, owner, until)
            rows = await conn.execute_fetchall(
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e"  # noqa: S608
                f" ON e.id = d.event_id WHERE d.id IN ({placeholders(len(ids))})"
                " ORDER BY d.next_attempt_at, d.id",
                ids,
            )
            return [row_to_delivery(r) for r in rows]

        return await self._write(tx)

    async def next_delivery_due(
        self, *, endpoints: Collection[str] | None = None
    ) -> datetime | None:
        """When the earliest pending delivery (to `endpoints`, if given) is due and
        claimable; None if none is pending. Lets the deliverer sleep exactly until there is
        work."""
        sql = ("SELECT min(CASE WHEN lease_owner IS NOT NULL"  # noqa: S608
               " AND lease_expires_at > next_attempt_at THEN lease_expires_at"
               " ELSE next_attempt_at END) FROM deliveries WHERE status = 'pending'"
               f" AND {IN_ARTICLE_ORDER}")
        params: list[Any] = []
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return None
            sql += f" AND endpoint_url IN ({', '.join('?' * len(wanted))})"
            params.extend(wanted)
        rows = await self._read(sql, params)
        value = rows[0][0]
        return None if value is None else decode_time(value)

    async def record_delivery_attempt(
        self,
        delivery_id: int,
        *,
        attempted_at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        outcome: str,
        next_attempt_at: datetime | None,
        lease_owner: str | None = None,
    ) -> None:
        """See `Store.record_delivery_attempt`. Raises ValueError for an unknown outcome or a
        "retry" without `next_attempt_at`, KeyError for an unknown delivery,
        `LeaseLostError`."""
        status = attempt_status(outcome, next_attempt_at)
        attempted = encode_time(attempted_at)
        next_at = encode_time_opt(next_attempt_at) if outcome == "retry" else None
        delivered_at = attempted if outcome == "delivered" else None

        async def tx(conn: aiosqlite.Connection) -> None:
            cursor = await conn.execute(
                f"""UPDATE deliveries SET status = ?, attempts = attempts + 1,
                       next_attempt_at = ?, last_status = ?, last_error = ?,
                       delivered_at = coalesce(?, delivered_at), {CLEAR_LEASE}
                   WHERE id = ? AND {LEASE_HELD}""",  # noqa: S608
                (status, next_at, status_code, error, delivered_at,
                 *lease_params(lease_owner), delivery_id, *lease_params(lease_owner)),
            )
            if cursor.rowcount == 0:
                await require_lease(conn, "delivery", delivery_id, lease_owner)
                raise KeyError(delivery_id)
            await conn.execute(
                """INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error,
                       duration_ms, outcome) VALUES (?, ?, ?, ?, ?, ?)""",
                (delivery_id, attempted, status_code, error, duration_ms, outcome),
            )

        await self._write(tx)

    async def list_deliveries(self, statuses: tuple[str, ...]) -> list[Delivery]:
        if not statuses:
            return []
        rows = await self._read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"  # noqa: S608
            f" WHERE d.status IN ({', '.join('?' * len(statuses))}) ORDER BY d.id",
            statuses,
        )
        return [row_to_delivery(r) for r in rows]

    async def requeue_deliveries(
        self, *, event_id: str | None, failed: bool, endpoint_url: str | None, now: datetime
    ) -> int:
        """See `Store.requeue_deliveries`. The filters combine (AND): `event_id` -> that
        event's deliveries (any status, so a delivered event can be replayed); `endpoint_url`
        -> that endpoint's; `failed` -> only those "failed" or "disabled". Raises ValueError
        when no filter is given, rather than replaying every event ever sent."""
        if event_id is None and endpoint_url is None and not failed:
            raise ValueError("requeue needs an event id, an endpoint or failed=True")
        where = ["1 = 1"]
        params: list[Any] = [encode_time(now)]
        if event_id is not None:
            where.append("event_id = ?")
            params.append(event_id)
        if endpoint_url is not None:
            where.append("endpoint_url = ?")
            params.append(endpoint_url)
        if failed:
            where.append("status IN ('failed', 'disabled')")
        sql = (
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"  # noqa: S608
            " last_status = NULL, last_error = NULL, delivered_at = NULL"
            f" WHERE {' AND '.join(where)}"
        )

        async def tx(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute(sql, params)
            return int(cursor.rowcount)

        return await self._write(tx)

    async def count_pending_deliveries(self) -> int:
        rows = await self._read("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        return int(rows[0][0])

    # --- endpoint health ---------------------------------------------------------------------
    async def list_endpoint_states(self) -> list[EndpointState]:
        """See `Store.list_endpoint_states`."""
        rows = await self._read(f"SELECT {ENDPOINT_COLUMNS} FROM endpoints ORDER BY url")  # noqa: S608
        return [row_to_endpoint(r) for r in rows]

    async def update_endpoint_state(
        self, url: str, change: Callable[[EndpointState], EndpointState]
    ) -> Transition:
        """See `Store.update_endpoint_state`: read, `change`, write, in one transaction, so
        the daemon and a `crawler deliveries resume` in another process never overwrite each
        other's decision with a stale one."""

        async def tx(conn: aiosqlite.Connection) -> Transition:
            before = await _endpoint(conn, url)
            after = change(before)
            if after.url != url:
                raise ValueError("an endpoint state change may not rename the endpoint")
            if after == EndpointState(url):
                await conn.execute("DELETE FROM endpoints WHERE url = ?", (url,))
            elif after != before:
                await conn.execute(
                    f"INSERT OR REPLACE INTO endpoints ({ENDPOINT_COLUMNS})"  # noqa: S608
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (url, encode_time_opt(after.failing_since), encode_time_opt(after.paused_at),
                     encode_time_opt(after.disabled_at), encode_time_opt(after.next_probe_at),
                     after.reason),
                )
            return Transition(before, after)

        return await self._write(tx)

    async def resume_endpoint(self, url: str, *, now: datetime) -> tuple[EndpointState, int]:
        """See `Store.resume_endpoint`."""
        at = encode_time(now)

        async def tx(conn: aiosqlite.Connection) -> tuple[EndpointState, int]:
            before = await _endpoint(conn, url)
            await conn.execute("DELETE FROM endpoints WHERE url = ?", (url,))
            cursor = await conn.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?"
                " WHERE endpoint_url = ? AND status = 'disabled'",
                (at, url),
            )
            requeued = int(cursor.rowcount)
            # The backlog flows now, not at the backed-off times the probes left behind.
            await conn.execute(
                "UPDATE deliveries SET next_attempt_at = ?"
                " WHERE endpoint_url = ? AND status = 'pending' AND next_attempt_at > ?",
                (at, url, at),
            )
            return before, requeued

        return await self._write(tx)


async def insert_event(
    conn: aiosqlite.Connection, event: EventRecord, article_id: int, version: int
) -> None:
    """The event and one pending delivery per endpoint, due at once (the outbox)."""
    created = encode_time(event.created_at)
    await conn.execute(
        """INSERT INTO events (id, type, article_id, version, created_at, payload)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (event.event_id, event.event_type, article_id, version, created,
         encode_text(event.payload)),
    )
    endpoints = list(dict.fromkeys(event.endpoints))  # de-duplicated, order kept
    if endpoints:  # (a statement is a hop to the connection's thread, even with no rows)
        await conn.executemany(
            """INSERT INTO deliveries (event_id, endpoint_url, status, attempts,
                   next_attempt_at, created_at) VALUES (?, ?, 'pending', 0, ?, ?)""",
            [(event.event_id, endpoint, created, created) for endpoint in endpoints],
        )


async def _endpoint(conn: aiosqlite.Connection, url: str) -> EndpointState:
    """The stored state of `url` inside a transaction; healthy when it has no row."""
    rows = list(await conn.execute_fetchall(
        f"SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE url = ?", (url,)  # noqa: S608
    ))
    return row_to_endpoint(rows[0]) if rows else EndpointState(url)
