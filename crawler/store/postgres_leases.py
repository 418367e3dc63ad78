"""Leases on due work in the PostgreSQL store (the rules are in `crawler.store.base`; what
both stores share, renewing and releasing included, in `shared_leases`).

A claim is one statement in one short transaction: the due rows whose lease is free are
chosen and locked with `FOR UPDATE SKIP LOCKED ... LIMIT n` in a materialized CTE, then
leased with `UPDATE ... FROM` that CTE. A row another claimer has locked is skipped, and one
it leased and committed meanwhile fails the re-check PostgreSQL makes on the locked row (its
lease is no longer free), so the LIMIT goes on to the next: a claim takes exactly the rows it
locked, never one twice. (`WHERE id IN (SELECT ... LIMIT n)` may run the subquery again and
claim more.) Times are the caller's `now`, as on SQLite: the protocol passes them.

The completing writes (`shared_leases`) carry `LEASE_HELD` in their WHERE clause and
`CLEAR_LEASE` in their SET list, so holding the lease, clearing it and setting the next due
time are one statement. `FREE` here is the shared condition in PostgreSQL's marks, for the
claims' own SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crawler.store import shared_leases
from crawler.store.postgres_queries import POSTGRES
from crawler.store.postgres_tx import PostgresWrites
from crawler.store.shared_leases import SharedLeases
from crawler.store.shared_leases import lease_expiry as lease_until

__all__ = ["FREE", "PostgresLeases", "capped_choice", "due_choice", "lease_until"]

FREE = POSTGRES.sql(shared_leases.FREE)


def capped_choice(table: str, key: str, due_at: str, due: str) -> str:
    """The CTEs of a claim capped per host, ending in `chosen` (the keys to lease): the rows
    of `table` that `due` selects are ranked per host (a window over the due range, earliest
    `due_at` first, ties by `key`), the unexpired leases each host already has, whoever
    holds them, are added to the rank, and the rows picked are locked `FOR UPDATE SKIP
    LOCKED` (PostgreSQL cannot lock in a query with a window function; a row skipped there
    only lowers the count). Parameters: those of `due`, the time of the claim, the cap, the
    limit, those of `due` again."""
    return f"""
        ranked AS MATERIALIZED (
            SELECT {key}, host, {due_at}, row_number() OVER (
                PARTITION BY host ORDER BY {due_at}, {key}) AS rank
            FROM {table} WHERE {due}
        ), held AS MATERIALIZED (
            SELECT host, count(*) AS n FROM {table}
            WHERE lease_owner IS NOT NULL AND lease_expires_at > %s GROUP BY host
        ), picked AS MATERIALIZED (
            SELECT ranked.{key} FROM ranked LEFT JOIN held ON held.host = ranked.host
            WHERE ranked.rank + coalesce(held.n, 0) <= %s
            ORDER BY ranked.{due_at}, ranked.{key} LIMIT %s
        ), chosen AS MATERIALIZED (
            SELECT t.{key} FROM {table} t JOIN picked ON picked.{key} = t.{key}
            WHERE {due}
            FOR UPDATE OF t SKIP LOCKED
        )"""  # noqa: S608


def due_choice(table: str, key: str, due_at: str, due: str, *, at: datetime, limit: int,
               per_host: int | None) -> tuple[str, tuple[Any, ...]]:
    """The CTEs of a claim ending in `chosen` (the keys to lease, locked) and their
    parameters: the `limit` rows of `table` that `due` selects (its two parameters both
    `at`), earliest `due_at` first (ties by `key`); capped per host (`capped_choice`) unless
    `per_host` is None."""
    if per_host is None:
        return f"""
            chosen AS MATERIALIZED (
                SELECT {key} FROM {table} WHERE {due}
                ORDER BY {due_at}, {key} LIMIT %s FOR UPDATE SKIP LOCKED
            )""", (at, at, limit)  # noqa: S608
    return capped_choice(table, key, due_at, due), (at, at, at, per_host, limit, at, at)


class PostgresLeases(PostgresWrites, SharedLeases):
    """`Store.renew_leases` and `Store.release_leases` (`shared_leases`) on PostgreSQL."""
