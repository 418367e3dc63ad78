"""The outbox half of the PostgreSQL store: events' deliveries, their attempts, endpoint
health. Same semantics as `sqlite_outbox` (its docstrings are the reference); events and their
deliveries are written by the article methods (`insert_event`, in the version's transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from psycopg import sql

from crawler.kinds import EndpointState, Transition
from crawler.models import Delivery, EventRecord
from crawler.store.postgres_db import Conn
from crawler.store.postgres_leases import (
    CLEAR_LEASE,
    FREE,
    LEASE_HELD,
    PostgresLeases,
    lease_lost_or_missing,
    lease_params,
    lease_until,
)
from crawler.store.postgres_rows import (
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    encode_text,
    row_to_delivery,
    row_to_endpoint,
    utc,
    utc_opt,
)
from crawler.store.records import IN_ARTICLE_ORDER, attempt_status

# pg_advisory_xact_lock's first key for endpoint rows (the second is the URL's hash).
_ENDPOINT_LOCK = 0x656E64


class PostgresOutbox(PostgresLeases):
    """Delivery and endpoint-health methods of `Store`."""

    async def due_deliveries(
        self, now: datetime, limit: int, *, endpoints: Collection[str] | None = None
    ) -> list[Delivery]:
        """See `Store.due_deliveries` and `OutboxStore.due_deliveries`."""
        query = (f"SELECT {DELIVERY_COLUMNS} FROM deliveries d"  # noqa: S608
                 " JOIN events e ON e.id = d.event_id"
                 " WHERE d.status = 'pending' AND d.next_attempt_at <= %s")
        params: list[Any] = [utc(now)]
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return []
            query += " AND d.endpoint_url = ANY(%s)"
            params.append(wanted)
        query += " ORDER BY d.next_attempt_at, d.id LIMIT %s"
        params.append(limit)
        return [row_to_delivery(r) for r in await self._read(query, params)]

    async def claim_due_deliveries(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        endpoints: Collection[str] | None = None,
    ) -> list[Delivery]:
        """See `Store.claim_due_deliveries` (and `postgres_leases` for how a claim is made)."""
        at, until = utc(now), lease_until(utc(now), lease_seconds)
        where = f"status = 'pending' AND next_attempt_at <= %s AND {FREE} AND {IN_ARTICLE_ORDER}"
        params: list[Any] = [at, at]
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return []
            where += " AND endpoint_url = ANY(%s)"
            params.append(wanted)
        query = f"""
            WITH chosen AS MATERIALIZED (
                SELECT id FROM deliveries WHERE {where}
                ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED
            ), taken AS (
                UPDATE deliveries d SET lease_owner = %s, lease_expires_at = %s
                FROM chosen WHERE d.id = chosen.id RETURNING d.*
            )
            SELECT {DELIVERY_COLUMNS} FROM taken d JOIN events e ON e.id = d.event_id
            ORDER BY d.next_attempt_at, d.id"""  # noqa: S608
        params += [limit, owner, until]

        async def tx(conn: Conn) -> list[Delivery]:
            cur = await conn.execute(query, params)
            return [row_to_delivery(r) for r in await cur.fetchall()]

        return await self._write(tx)

    async def next_delivery_due(
        self, *, endpoints: Collection[str] | None = None
    ) -> datetime | None:
        """See `Store.next_delivery_due`: a delivery under a lease counts from the later of
        its due time and its lease's expiry."""
        query = ("SELECT min(CASE WHEN lease_owner IS NOT NULL"  # noqa: S608
                 " AND lease_expires_at > next_attempt_at THEN lease_expires_at"
                 " ELSE next_attempt_at END) AS due FROM deliveries WHERE status = 'pending'"
                 f" AND {IN_ARTICLE_ORDER}")
        params: list[Any] = []
        if endpoints is not None:
            wanted = sorted(set(endpoints))
            if not wanted:
                return None
            query += " AND endpoint_url = ANY(%s)"
            params.append(wanted)
        rows = await self._read(query, params)
        value = rows[0]["due"]
        return None if value is None else utc(value)

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
        attempted = utc(attempted_at)
        next_at = utc_opt(next_attempt_at) if outcome == "retry" else None
        delivered_at = attempted if outcome == "delivered" else None

        async def tx(conn: Conn) -> None:
            cur = await conn.execute(
                f"""UPDATE deliveries SET status = %s, attempts = attempts + 1,
                       next_attempt_at = %s, last_status = %s, last_error = %s,
                       delivered_at = coalesce(%s, delivered_at), {CLEAR_LEASE}
                   WHERE id = %s AND {LEASE_HELD}""",  # noqa: S608
                (status, next_at, status_code, error, delivered_at,
                 *lease_params(lease_owner), delivery_id, *lease_params(lease_owner)),
            )
            if cur.rowcount == 0:
                raise await lease_lost_or_missing(conn, "delivery", delivery_id, lease_owner)
            await conn.execute(
                """INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error,
                       duration_ms, outcome) VALUES (%s, %s, %s, %s, %s, %s)""",
                (delivery_id, attempted, status_code, error, duration_ms, outcome),
            )

        await self._write(tx)

    async def list_deliveries(self, statuses: tuple[str, ...]) -> list[Delivery]:
        if not statuses:
            return []
        rows = await self._read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"  # noqa: S608
            " WHERE d.status = ANY(%s) ORDER BY d.id",
            (list(statuses),),
        )
        return [row_to_delivery(r) for r in rows]

    async def requeue_deliveries(
        self, *, event_id: str | None, failed: bool, endpoint_url: str | None, now: datetime
    ) -> int:
        """See `Store.requeue_deliveries` and `OutboxStore.requeue_deliveries` (the filters
        combine; no filter at all is a ValueError)."""
        if event_id is None and endpoint_url is None and not failed:
            raise ValueError("requeue needs an event id, an endpoint or failed=True")
        where = [sql.SQL("true")]
        params: list[Any] = [utc(now)]
        if event_id is not None:
            where.append(sql.SQL("event_id = %s"))
            params.append(event_id)
        if endpoint_url is not None:
            where.append(sql.SQL("endpoint_url = %s"))
            params.append(endpoint_url)
        if failed:
            where.append(sql.SQL("status IN ('failed', 'disabled')"))
        query = sql.SQL(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = %s,"
            " last_status = NULL, last_error = NULL, delivered_at = NULL WHERE {}"
        ).format(sql.SQL(" AND ").join(where))

        async def tx(conn: Conn) -> int:
            cur = await conn.execute(query, params)
            return int(cur.rowcount)

        return await self._write(tx)

    async def count_pending_deliveries(self) -> int:
        rows = await self._read(
            "SELECT count(*) AS n FROM deliveries WHERE status = 'pending'")
        return int(rows[0]["n"])

    # --- endpoint health ---------------------------------------------------------------------
    async def list_endpoint_states(self) -> list[EndpointState]:
        rows = await self._read(f"SELECT {ENDPOINT_COLUMNS} FROM endpoints ORDER BY url")  # noqa: S608
        return [row_to_endpoint(r) for r in rows]

    async def update_endpoint_state(
        self, url: str, change: Callable[[EndpointState], EndpointState]
    ) -> Transition:
        """See `Store.update_endpoint_state`: read, `change`, write in one transaction under a
        lock on the endpoint (also when it has no row yet), so two daemons, or a daemon and
        `crawler deliveries resume`, never overwrite each other's decision with a stale one."""

        async def tx(conn: Conn) -> Transition:
            before = await _locked_endpoint(conn, url)
            after = change(before)
            if after.url != url:
                raise ValueError("an endpoint state change may not rename the endpoint")
            if after == EndpointState(url):
                await conn.execute("DELETE FROM endpoints WHERE url = %s", (url,))
            elif after != before:
                await conn.execute(
                    f"INSERT INTO endpoints ({ENDPOINT_COLUMNS})"  # noqa: S608
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (url) DO UPDATE SET"
                    " failing_since = excluded.failing_since, paused_at = excluded.paused_at,"
                    " disabled_at = excluded.disabled_at,"
                    " next_probe_at = excluded.next_probe_at, reason = excluded.reason",
                    (url, utc_opt(after.failing_since), utc_opt(after.paused_at),
                     utc_opt(after.disabled_at), utc_opt(after.next_probe_at), after.reason),
                )
            return Transition(before, after)

        return await self._write(tx)

    async def resume_endpoint(self, url: str, *, now: datetime) -> tuple[EndpointState, int]:
        """See `Store.resume_endpoint`."""
        at = utc(now)

        async def tx(conn: Conn) -> tuple[EndpointState, int]:
            before = await _locked_endpoint(conn, url)
            await conn.execute("DELETE FROM endpoints WHERE url = %s", (url,))
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = %s"
                " WHERE endpoint_url = %s AND status = 'disabled'",
                (at, url),
            )
            requeued = int(cur.rowcount)
            # The backlog flows now, not at the backed-off times the probes left behind.
            await conn.execute(
                "UPDATE deliveries SET next_attempt_at = %s"
                " WHERE endpoint_url = %s AND status = 'pending' AND next_attempt_at > %s",
                (at, url, at),
            )
            return before, requeued

        return await self._write(tx)


async def insert_event(conn: Conn, event: EventRecord, article_id: int, version: int) -> None:
    """The event and one pending delivery per endpoint, due at once (the outbox)."""
    created = utc(event.created_at)
    await conn.execute(
        """INSERT INTO events (id, type, article_id, version, created_at, payload)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (event.event_id, event.event_type, article_id, version, created,
         encode_text(event.payload)),
    )
    endpoints = list(dict.fromkeys(event.endpoints))  # de-duplicated, order kept
    if endpoints:
        async with conn.cursor() as cur:
            await cur.executemany(
                """INSERT INTO deliveries (event_id, endpoint_url, status, attempts,
                       next_attempt_at, created_at) VALUES (%s, %s, 'pending', 0, %s, %s)""",
                [(event.event_id, endpoint, created, created) for endpoint in endpoints],
            )


async def _locked_endpoint(conn: Conn, url: str) -> EndpointState:
    """The stored state of `url`, with the endpoint locked until the transaction ends;
    healthy when it has no row."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_ENDPOINT_LOCK, url))
    cur = await conn.execute(
        f"SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE url = %s", (url,)  # noqa: S608
    )
    row = await cur.fetchone()
    return row_to_endpoint(row) if row else EndpointState(url)
