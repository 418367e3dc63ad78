"""Leases on due work in the PostgreSQL store (the rules are in `crawler.store.base`).

A claim is one statement in one short transaction: the due rows whose lease is free are
chosen and locked with `FOR UPDATE SKIP LOCKED ... LIMIT n` in a materialized CTE, then
leased with `UPDATE ... FROM` that CTE. A row another claimer has locked is skipped, and one
it leased and committed meanwhile fails the re-check PostgreSQL makes on the locked row (its
lease is no longer free), so the LIMIT goes on to the next: a claim takes exactly the rows it
locked, never one twice. (`WHERE id IN (SELECT ... LIMIT n)` may run the subquery again and
claim more.) Times are the caller's `now`, as on SQLite: the protocol passes them.

The completing writes carry `LEASE_HELD` in their WHERE clause and `CLEAR_LEASE` in their SET
list, so holding the lease, clearing it and setting the next due time are one statement.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crawler.store.base import LeaseKey, LeaseKind, LeaseLostError
from crawler.store.postgres_db import Conn, PostgresDatabase

# A lease is free when nobody holds it or it has expired (`%s` = the time of the claim).
FREE = "(lease_owner IS NULL OR lease_expires_at <= %s)"

# Appended to the SET list of a completing UPDATE: `lease_owner` given clears the lease (the
# WHERE clause has `LEASE_HELD` with the same value); None leaves it as it is.
CLEAR_LEASE = (
    "lease_owner = CASE WHEN %s::text IS NULL THEN lease_owner ELSE NULL END, "
    "lease_expires_at = CASE WHEN %s::text IS NULL THEN lease_expires_at ELSE NULL END"
)
LEASE_HELD = "(%s::text IS NULL OR lease_owner = %s)"


def lease_params(owner: str | None) -> tuple[Any, Any]:
    return owner, owner


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    key: str
    key_type: str


_TABLES: dict[str, _Table] = {
    "feed": _Table("feeds", "url", "text"),
    "article": _Table("articles", "id", "bigint"),
    "delivery": _Table("deliveries", "id", "bigint"),
}


def table_of(kind: LeaseKind) -> _Table:
    """Raises ValueError for an unknown kind."""
    try:
        return _TABLES[kind]
    except KeyError:
        raise ValueError(f"unknown lease kind {kind!r}") from None


def lease_until(now: datetime, lease_seconds: float) -> datetime:
    """The expiry of a lease taken at `now`. Raises ValueError for a lease that is not
    positive (it would be free the moment it is taken)."""
    if lease_seconds <= 0:
        raise ValueError(f"a lease must last some time, not {lease_seconds!r} s")
    return now + timedelta(seconds=lease_seconds)


async def lease_lost_or_missing(conn: Conn, kind: LeaseKind, key: LeaseKey,
                                owner: str | None) -> Exception:
    """After a completing write matched no row: `LeaseLostError` when the row exists and
    `owner` was given (it no longer holds it), else KeyError (no such row)."""
    if owner is not None:
        table = table_of(kind)
        cur = await conn.execute(
            f"SELECT 1 FROM {table.name} WHERE {table.key} = %s", (key,))  # noqa: S608
        if await cur.fetchone() is not None:
            return LeaseLostError(kind, key, owner)
    return KeyError(key)


class PostgresLeases(PostgresDatabase):
    """`Store.renew_leases` and `Store.release_leases`; the claims live with their tables."""

    async def renew_leases(
        self, kind: LeaseKind, owner: str, keys: Collection[LeaseKey], *, now: datetime,
        lease_seconds: float,
    ) -> set[LeaseKey]:
        table = table_of(kind)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        until = lease_until(now, lease_seconds)

        async def tx(conn: Conn) -> set[LeaseKey]:
            cur = await conn.execute(
                f"UPDATE {table.name} SET lease_expires_at = %s"  # noqa: S608
                f" WHERE lease_owner = %s AND {table.key} = ANY(%s::{table.key_type}[])"
                f" RETURNING {table.key} AS key",
                (until, owner, wanted),
            )
            return {row["key"] for row in await cur.fetchall()}

        return await self._write(tx)

    async def release_leases(
        self, kind: LeaseKind, owner: str, keys: Collection[LeaseKey]
    ) -> int:
        table = table_of(kind)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return 0

        async def tx(conn: Conn) -> int:
            cur = await conn.execute(
                f"UPDATE {table.name} SET lease_owner = NULL, lease_expires_at = NULL"  # noqa: S608
                f" WHERE lease_owner = %s AND {table.key} = ANY(%s::{table.key_type}[])",
                (owner, wanted),
            )
            return int(cur.rowcount)

        return await self._write(tx)
