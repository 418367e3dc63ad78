"""Deliveries whose endpoint left the config, on SQLite (`shared_retarget`)."""

from __future__ import annotations

from crawler.store.shared_retarget import SharedRetarget
from crawler.store.sqlite_tx import SQLiteWrites


class RetargetStore(SQLiteWrites, SharedRetarget):
    """`Store.count_unsent_by_endpoint` and `Store.retarget_deliveries` on SQLite."""
