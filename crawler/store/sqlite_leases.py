"""Leases on due work in the SQLite store (the rules are in `crawler.store.base`; what both
stores share, renewing and releasing included, in `shared_leases`).

On SQLite every claim runs in the one writer's `BEGIN IMMEDIATE` transaction: the rows are
chosen with `LIMIT` and then leased by their keys (`claim_chosen`, `take`), so a claim takes
exactly the rows it chose, and no other writer (another process on the file included) can
choose them in between. The helpers here work on the raw aiosqlite connection the claims
hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from crawler.store.claims import LeaseKey, LeaseKind
from crawler.store.shared_leases import FREE, SharedLeases, lease_expiry, table_of
from crawler.store.sqlite_rows import encode_time
from crawler.store.sqlite_tx import SQLiteWrites

# `?` is SQLite's own mark: the shared condition serves as it is.
__all__ = [
    "FREE",
    "LeaseStore",
    "capped_choice",
    "claim_chosen",
    "lease_until",
    "placeholders",
    "table_of",
    "take",
]


def lease_until(now: datetime, lease_seconds: float) -> str:
    """The stored expiry of a lease taken at `now`. Raises ValueError for a lease that is
    not positive (it would be free the moment it is taken)."""
    return encode_time(lease_expiry(now, lease_seconds))


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def capped_choice(table: str, key: str, due_at: str, due: str) -> str:
    """The keys of the rows of `table` that `due` selects, earliest `due_at` first (ties by
    `key`), capped per host: each host's due rows are ranked (a window over the due range)
    and the unexpired leases the host already has, whoever holds them, are added to the
    rank. Parameters: those of `due`, then the time of the claim, the cap and the limit."""
    return f"""
        WITH due AS (
            SELECT {key}, host, {due_at}, row_number() OVER (
                PARTITION BY host ORDER BY {due_at}, {key}) AS rank
            FROM {table} WHERE {due}
        ), held AS (
            SELECT host, count(*) AS n FROM {table}
            WHERE lease_owner IS NOT NULL AND lease_expires_at > ? GROUP BY host
        )
        SELECT due.{key} FROM due LEFT JOIN held ON held.host = due.host
        WHERE due.rank + coalesce(held.n, 0) <= ?
        ORDER BY due.{due_at}, due.{key} LIMIT ?"""  # noqa: S608


def due_choice(table: str, key: str, due_at: str, due: str, *, at: str, limit: int,
               per_host: int | None) -> tuple[str, tuple[object, ...]]:
    """The query choosing the keys a claim leases and its parameters: the `limit` rows of
    `table` that `due` selects (its two parameters both `at`), earliest `due_at` first
    (ties by `key`); capped per host (`capped_choice`) unless `per_host` is None."""
    if per_host is None:
        return (f"SELECT {key} FROM {table} WHERE {due}"  # noqa: S608
                f" ORDER BY {due_at}, {key} LIMIT ?", (at, at, limit))
    return capped_choice(table, key, due_at, due), (at, at, at, per_host, limit)


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


async def claim_chosen(conn: aiosqlite.Connection, kind: LeaseKind, choose: str,
                       params: Sequence[Any], owner: str, until: str, read: str
                       ) -> list[sqlite3.Row]:
    """A claim, inside the writer's transaction: lease the rows whose keys `choose` gives (in
    the order it gives them) and read them with `read`, whose `{keys}` stands for their
    marks. Nothing is written when nothing is chosen."""
    keys = [r[0] for r in await conn.execute_fetchall(choose, params)]
    if not keys:
        return []
    await take(conn, kind, keys, owner, until)
    return list(await conn.execute_fetchall(read.format(keys=placeholders(len(keys))), keys))


class LeaseStore(SQLiteWrites, SharedLeases):
    """`Store.renew_leases` and `Store.release_leases` (`shared_leases`) on SQLite."""
