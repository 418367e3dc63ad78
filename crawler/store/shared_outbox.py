"""The outbox, written once for both stores: events' deliveries, their attempts and the
endpoints' health (`crawler.store.outbox.StoreOutbox`).

Events and their pending deliveries are written by the article methods (`write_event`, in the
same transaction as the version); the deliverer reads due deliveries and records each attempt
in its own transaction. What differs between the stores is left to them: how a claim chooses
its rows (`claim_due_deliveries`, from the `_claimable` query both build on) and how an
endpoint's row is kept from two writers at once (`_lock_endpoint`).

Statements use `?` marks and every time parameter goes through the dialect (`transaction`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from crawler.kinds import EndpointState, Transition
from crawler.models import Delivery, EventRecord
from crawler.store.dialect import Dialect
from crawler.store.records import (
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    IN_ARTICLE_ORDER,
    attempt_status,
    encode_text,
)
from crawler.store.shared_leases import (
    CLEAR_LEASE,
    FREE,
    LEASE_HELD,
    lease_lost_or_missing,
    lease_params,
)
from crawler.store.transaction import SharedWrites, Transaction

_DELIVERIES = (f"SELECT {DELIVERY_COLUMNS} FROM deliveries d"  # noqa: S608
               " JOIN events e ON e.id = d.event_id")


def to_endpoints(dialect: Dialect, column: str, endpoints: Collection[str] | None
                 ) -> tuple[str, list[Any]] | None:
    """The condition " AND `column` is one of `endpoints`" and its parameters; nothing when
    `endpoints` is None (every endpoint). None when `endpoints` is empty: nothing can match,
    and the caller answers without asking the database."""
    if endpoints is None:
        return "", []
    wanted = sorted(set(endpoints))
    if not wanted:
        return None
    condition, params = dialect.one_of(column, wanted)
    return f" AND {condition}", params


class SharedOutbox(SharedWrites):
    """Delivery and endpoint-health methods of `Store` (plus `next_delivery_due`)."""

    async def _lock_endpoint(self, tx: Transaction, url: str) -> None:
        """Keep other writers from `url`'s endpoint row until `tx` ends (also when it has no
        row yet)."""
        raise NotImplementedError  # each store's outbox class says how

    def _claimable(self, now: datetime, limit: int, endpoints: Collection[str] | None
                  ) -> tuple[str, list[Any]] | None:
        """The query of the ids of at most `limit` deliveries a claim at `now` may take, in
        the order they are due, and its parameters; None when `endpoints` is empty."""
        at = self._dialect.write_time(now)
        only = to_endpoints(self._dialect, "endpoint_url", endpoints)
        if only is None:
            return None
        sql = ("SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"  # noqa: S608
               f" AND {FREE} AND {IN_ARTICLE_ORDER}{only[0]}"
               " ORDER BY next_attempt_at, id LIMIT ?")
        return sql, [at, at, *only[1], limit]

    async def due_deliveries(
        self, now: datetime, limit: int, *, endpoints: Collection[str] | None = None
    ) -> list[Delivery]:
        """See `Store.due_deliveries`. `endpoints`, when given, restricts the answer to those
        endpoint URLs, so deliveries to a disabled or removed endpoint cannot fill `limit` and
        starve the others."""
        at = self._dialect.write_time(now)
        only = to_endpoints(self._dialect, "d.endpoint_url", endpoints)
        if only is None:
            return []
        rows = await self._query(
            f"{_DELIVERIES} WHERE d.status = 'pending' AND d.next_attempt_at <= ?{only[0]}"
            " ORDER BY d.next_attempt_at, d.id LIMIT ?", [at, *only[1], limit])
        return [self._dialect.rows.delivery(r) for r in rows]

    async def next_delivery_due(
        self, *, endpoints: Collection[str] | None = None
    ) -> datetime | None:
        """When the earliest pending delivery (to `endpoints`, if given) is due and
        claimable: a delivery under a lease counts from the later of its due time and its
        lease's expiry. None if none is pending. Lets the deliverer sleep exactly until there
        is work."""
        only = to_endpoints(self._dialect, "endpoint_url", endpoints)
        if only is None:
            return None
        rows = await self._query(
            "SELECT min(CASE WHEN lease_owner IS NOT NULL"  # noqa: S608
            " AND lease_expires_at > next_attempt_at THEN lease_expires_at"
            " ELSE next_attempt_at END) AS due FROM deliveries WHERE status = 'pending'"
            f" AND {IN_ARTICLE_ORDER}{only[0]}", only[1])
        return self._dialect.rows.time_opt(rows[0]["due"])

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
        attempted = self._dialect.write_time(attempted_at)
        next_at = self._dialect.write_time_opt(next_attempt_at) if outcome == "retry" else None
        delivered_at = attempted if outcome == "delivered" else None

        async def body(tx: Transaction) -> None:
            changed = await tx.run(
                f"""UPDATE deliveries SET status = ?, attempts = attempts + 1,
                       next_attempt_at = ?, last_status = ?, last_error = ?,
                       delivered_at = coalesce(?, delivered_at), {CLEAR_LEASE}
                   WHERE id = ? AND {LEASE_HELD}""",  # noqa: S608
                (status, next_at, status_code, error, delivered_at,
                 *lease_params(lease_owner), delivery_id, *lease_params(lease_owner)),
            )
            if changed == 0:
                raise await lease_lost_or_missing(tx, "delivery", delivery_id, lease_owner)
            await tx.run(
                """INSERT INTO delivery_attempts (delivery_id, attempted_at, status_code, error,
                       duration_ms, outcome) VALUES (?, ?, ?, ?, ?, ?)""",
                (delivery_id, attempted, status_code, error, duration_ms, outcome),
            )

        await self._transact(body)

    async def list_deliveries(self, statuses: tuple[str, ...]) -> list[Delivery]:
        if not statuses:
            return []
        wanted, params = self._dialect.one_of("d.status", statuses)
        rows = await self._query(f"{_DELIVERIES} WHERE {wanted} ORDER BY d.id", params)
        return [self._dialect.rows.delivery(r) for r in rows]

    async def requeue_deliveries(
        self, *, event_id: str | None, failed: bool, endpoint_url: str | None, now: datetime
    ) -> int:
        """See `Store.requeue_deliveries`. The filters combine (AND): `event_id` -> that
        event's deliveries (any status, so a delivered event can be replayed); `endpoint_url`
        -> that endpoint's; `failed` -> only those "failed" or "disabled". Raises ValueError
        when no filter is given, rather than replaying every event ever sent."""
        if event_id is None and endpoint_url is None and not failed:
            raise ValueError("requeue needs an event id, an endpoint or failed=True")
        where: list[str] = []
        params: list[Any] = [self._dialect.write_time(now)]
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

        async def body(tx: Transaction) -> int:
            return await tx.run(sql, params)

        return await self._transact(body)

    async def count_pending_deliveries(self) -> int:
        rows = await self._query("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'")
        return int(rows[0]["n"])

    # --- endpoint health ---------------------------------------------------------------------
    async def list_endpoint_states(self) -> list[EndpointState]:
        """See `Store.list_endpoint_states`."""
        rows = await self._query(f"SELECT {ENDPOINT_COLUMNS} FROM endpoints ORDER BY url")  # noqa: S608
        return [self._dialect.rows.endpoint(r) for r in rows]

    async def update_endpoint_state(
        self, url: str, change: Callable[[EndpointState], EndpointState]
    ) -> Transition:
        """See `Store.update_endpoint_state`: read, `change`, write, in one transaction with
        the endpoint locked, so two daemons, or a daemon and a `crawler deliveries resume` in
        another process, never overwrite each other's decision with a stale one."""
        time = self._dialect.write_time_opt

        async def body(tx: Transaction) -> Transition:
            before = await self._endpoint(tx, url)
            after = change(before)
            if after.url != url:
                raise ValueError("an endpoint state change may not rename the endpoint")
            if after == EndpointState(url):
                await tx.run("DELETE FROM endpoints WHERE url = ?", (url,))
            elif after != before:
                await tx.run(
                    f"INSERT INTO endpoints ({ENDPOINT_COLUMNS})"  # noqa: S608
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
                    " failing_since = excluded.failing_since, paused_at = excluded.paused_at,"
                    " disabled_at = excluded.disabled_at,"
                    " next_probe_at = excluded.next_probe_at, reason = excluded.reason",
                    (url, time(after.failing_since), time(after.paused_at),
                     time(after.disabled_at), time(after.next_probe_at), after.reason),
                )
            return Transition(before, after)

        return await self._transact(body)

    async def resume_endpoint(self, url: str, *, now: datetime) -> tuple[EndpointState, int]:
        """See `Store.resume_endpoint`."""
        at = self._dialect.write_time(now)

        async def body(tx: Transaction) -> tuple[EndpointState, int]:
            before = await self._endpoint(tx, url)
            await tx.run("DELETE FROM endpoints WHERE url = ?", (url,))
            requeued = await tx.run(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?"
                " WHERE endpoint_url = ? AND status = 'disabled'",
                (at, url),
            )
            # The backlog flows now, not at the backed-off times the probes left behind.
            await tx.run(
                "UPDATE deliveries SET next_attempt_at = ?"
                " WHERE endpoint_url = ? AND status = 'pending' AND next_attempt_at > ?",
                (at, url, at),
            )
            return before, requeued

        return await self._transact(body)

    async def _endpoint(self, tx: Transaction, url: str) -> EndpointState:
        """The stored state of `url`, locked until `tx` ends; healthy when it has no row."""
        await self._lock_endpoint(tx, url)
        rows = await tx.rows(f"SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE url = ?", (url,))  # noqa: S608
        return self._dialect.rows.endpoint(rows[0]) if rows else EndpointState(url)


async def write_event(tx: Transaction, event: EventRecord, article_id: int, version: int
                      ) -> None:
    """The event and one pending delivery per endpoint, due at once (the outbox)."""
    created = tx.dialect.write_time(event.created_at)
    await tx.run(
        """INSERT INTO events (id, type, article_id, version, created_at, payload)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (event.event_id, event.event_type, article_id, version, created,
         encode_text(event.payload)),
    )
    endpoints = list(dict.fromkeys(event.endpoints))  # de-duplicated, order kept
    if endpoints:
        await tx.run_many(
            """INSERT INTO deliveries (event_id, endpoint_url, status, attempts,
                   next_attempt_at, created_at) VALUES (?, ?, 'pending', 0, ?, ?)""",
            [(event.event_id, endpoint, created, created) for endpoint in endpoints],
        )
