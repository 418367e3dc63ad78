"""Leases on due work in the PostgreSQL store (the rules are in `crawler.store.base`; what
both stores share, renewing and releasing included, in `shared_leases`).

A claim is one statement in one short transaction: the due rows whose lease is free are
chosen and locked with `FOR UPDATE SKIP LOCKED ... LIMIT n` in a materialized CTE, then
leased with `UPDATE ... FROM` that CTE. A row another claimer has locked is skipped, and one
it leased and committed meanwhile fails the re-check PostgreSQL makes on the locked row (its
lease is no longer free), so the LIMIT goes on to the next: a claim takes exactly the rows it
locked, never one twice. (`WHERE id IN (SELECT ... LIMIT n)` may run the subquery again and
claim more.) Times are the caller's `now`, as on SQLite: the protocol passes them.

The completing writes carry `LEASE_HELD` in their WHERE clause and `CLEAR_LEASE` in their SET
list, so holding the lease, clearing it and setting the next due time are one statement. The
conditions here are the shared ones in PostgreSQL's marks, for the article methods' own SQL.
"""

from __future__ import annotations

from crawler.store import shared_leases
from crawler.store.claims import LeaseKey, LeaseKind
from crawler.store.postgres_db import Conn
from crawler.store.postgres_queries import POSTGRES
from crawler.store.postgres_tx import PostgresTransaction, PostgresWrites
from crawler.store.shared_leases import SharedLeases, lease_params, table_of
from crawler.store.shared_leases import lease_expiry as lease_until

__all__ = [
    "CLEAR_LEASE",
    "FREE",
    "LEASE_HELD",
    "PostgresLeases",
    "lease_lost_or_missing",
    "lease_params",
    "lease_until",
    "table_of",
]

FREE = POSTGRES.sql(shared_leases.FREE)
CLEAR_LEASE = POSTGRES.sql(shared_leases.CLEAR_LEASE)
LEASE_HELD = POSTGRES.sql(shared_leases.LEASE_HELD)


async def lease_lost_or_missing(conn: Conn, kind: LeaseKind, key: LeaseKey,
                                owner: str | None) -> Exception:
    """`shared_leases.lease_lost_or_missing` on the article methods' raw connection."""
    return await shared_leases.lease_lost_or_missing(
        PostgresTransaction(conn), kind, key, owner)


class PostgresLeases(PostgresWrites, SharedLeases):
    """`Store.renew_leases` and `Store.release_leases` (`shared_leases`) on PostgreSQL."""
