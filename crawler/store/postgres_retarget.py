"""Deliveries whose endpoint left the config, on PostgreSQL (`shared_retarget`)."""

from __future__ import annotations

from crawler.store.postgres_tx import PostgresWrites
from crawler.store.shared_retarget import SharedRetarget


class PostgresRetarget(PostgresWrites, SharedRetarget):
    """`Store.count_unsent_by_endpoint` and `Store.retarget_deliveries` on PostgreSQL."""
