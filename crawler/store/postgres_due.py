"""Moving due times in the PostgreSQL store (`shared_due`)."""

from __future__ import annotations

from crawler.store.postgres_outbox import PostgresOutbox
from crawler.store.shared_due import SharedDue


class PostgresDue(PostgresOutbox, SharedDue):
    """`Store.clamp_due_times`, `Store.postpone_check` and `Store.hasten_deliveries` on
    PostgreSQL."""

    # No single writer to spare: the clamp's transaction holds no lock the others wait for
    # until it finds a row to move, so it is not preceded by a read of its own.
    _clamp_looks_first = False
