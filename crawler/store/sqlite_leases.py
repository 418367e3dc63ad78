"""Leases on due work in the SQLite store (the rules are in `crawler.store.base`).

On SQLite every claim runs in the one writer's `BEGIN IMMEDIATE` transaction: the rows are
chosen with `LIMIT` and then leased by their keys, so a claim takes exactly the rows it chose,
and no other writer (another process on the file included) can choose them in between.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from crawler.store.base import LeaseKey, LeaseKind, LeaseLostError
from crawler.store.sqlite_db import SQLiteDatabase
from crawler.store.sqlite_rows import encode_time

# A lease is free when nobody holds it or it has expired (`?` = the time of the claim).
FREE = "(lease_owner IS NULL OR lease_expires_at <= ?)"


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    key: str


_TABLES: dict[str, _Table] = {
    "feed": _Table("feeds", "url"),
    "article": _Table("articles", "id"),
    "delivery": _Table("deliveries", "id"),
}


def table_of(kind: LeaseKind) -> _Table:
    """Raises ValueError for an unknown kind."""
    try:
        return _TABLES[kind]
    except KeyError:
        raise ValueError(f"unknown lease kind {kind!r}") from None


def lease_until(now: datetime, lease_seconds: float) -> str:
    """The stored expiry of a lease taken at `now`. Raises ValueError for a lease that is
    not positive (it would be free the moment it is taken)."""
    if lease_seconds <= 0:
        raise ValueError(f"a lease must last some time, not {lease_seconds!r} s")
    return encode_time(now + timedelta(seconds=lease_seconds))


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


async def take(conn: aiosqlite.Connection, kind: LeaseKind, keys: Sequence[LeaseKey],
               owner: str, until: str) -> None:
    """Lease the chosen rows (inside the claiming transaction)."""
    if not keys:
        return
    table = table_of(kind)
    await conn.execute(
        f"UPDATE {table.name} SET lease_owner = ?, lease_expires_at = ?"  # noqa: S608
        f" WHERE {table.key} IN ({placeholders(len(keys))})",
        (owner, until, *keys),
    )


async def require_lease(conn: aiosqlite.Connection, kind: LeaseKind, key: LeaseKey,
                        owner: str | None) -> None:
    """Inside a completing transaction: raise `LeaseLostError` unless `owner` (when given)
    holds the row's lease. An unknown row is left to the caller's own check."""
    if owner is None:
        return
    table = table_of(kind)
    rows = list(await conn.execute_fetchall(
        f"SELECT lease_owner FROM {table.name} WHERE {table.key} = ?", (key,)  # noqa: S608
    ))
    if rows and rows[0][0] != owner:
        raise LeaseLostError(kind, key, owner)


# Appended to the SET list of a completing UPDATE: `lease_owner` given clears the lease (the
# WHERE clause has `LEASE_HELD` with the same value); None leaves it as it is.
CLEAR_LEASE = (
    "lease_owner = CASE WHEN ? IS NULL THEN lease_owner ELSE NULL END, "
    "lease_expires_at = CASE WHEN ? IS NULL THEN lease_expires_at ELSE NULL END"
)
LEASE_HELD = "(? IS NULL OR lease_owner = ?)"


def lease_params(owner: str | None) -> tuple[Any, Any]:
    return owner, owner


class LeaseStore(SQLiteDatabase):
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

        async def tx(conn: aiosqlite.Connection) -> set[LeaseKey]:
            rows = await conn.execute_fetchall(
                f"UPDATE {table.name} SET lease_expires_at = ?"  # noqa: S608
                f" WHERE lease_owner = ? AND {table.key} IN ({placeholders(len(wanted))})"
                f" RETURNING {table.key}",
                (until, owner, *wanted),
            )
            return {row[0] for row in rows}

        return await self._write(tx)

    async def release_leases(
        self, kind: LeaseKind, owner: str, keys: Collection[LeaseKey]
    ) -> int:
        table = table_of(kind)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return 0

        async def tx(conn: aiosqlite.Connection) -> int:
            cursor = await conn.execute(
                f"UPDATE {table.name} SET lease_owner = NULL, lease_expires_at = NULL"  # noqa: S608
                f" WHERE lease_owner = ? AND {table.key} IN ({placeholders(len(wanted))})",
                (owner, *wanted),
            )
            return int(cursor.rowcount)

        return await self._write(tx)
