"""Moving due times in the SQLite store (`shared_due`)."""

from __future__ import annotations

from crawler.store.shared_due import SharedDue
from crawler.store.sqlite_outbox import OutboxStore


class DueStore(OutboxStore, SharedDue):
    """`Store.clamp_due_times`, `Store.postpone_check` and `Store.hasten_deliveries` on
    SQLite."""

    # One writer for the whole file: the clamp's scans, which in the usual case find nothing,
    # are made on the reader first rather than holding the writer (the write times are
    # scanned without an index, which SQLite does in C: cheap next to a pass).
    _clamp_looks_first = True
