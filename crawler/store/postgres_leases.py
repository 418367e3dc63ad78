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

from crawler.store import shared_leases
from crawler.store.postgres_queries import POSTGRES
from crawler.store.postgres_tx import PostgresWrites
from crawler.store.shared_leases import SharedLeases
from crawler.store.shared_leases import lease_expiry as lease_until

__all__ = ["FREE", "PostgresLeases", "lease_until"]

FREE = POSTGRES.sql(shared_leases.FREE)


class PostgresLeases(PostgresWrites, SharedLeases):
    """`Store.renew_leases` and `Store.release_leases` (`shared_leases`) on PostgreSQL."""
