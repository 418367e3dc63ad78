"""The read queries of the PostgreSQL store (`crawler.store.reads.StoreReads`): the shared ones
(`shared_reads`, `shared_lookups`) in PostgreSQL's dialect, and the database's size."""

from __future__ import annotations

from crawler.store.dialect import Dialect
from crawler.store.postgres_db import PostgresDatabase
from crawler.store.postgres_rows import ROWS, utc
from crawler.store.shared_lookups import SharedLookups

POSTGRES = Dialect(
    name="postgresql", mark="%s", write_time=utc, rows=ROWS,
    # Case folded under the "C" collation: A-Z only, as SQLite's `lower()` does, whatever the
    # database's locale (and twenty times faster than `translate()`).
    title_contains='strpos(lower(a.title COLLATE "C"), ?) > 0',
    event_of_feed="a.feed_url = ?",
    values_as_array=True,
    true="true", false="false",
    # Events carry no order of their writing here; of one time, the higher version is later.
    events_tiebreak="version",
)


class PostgresReads(PostgresDatabase, SharedLookups):
    """`StoreReads` on PostgreSQL."""

    _dialect = POSTGRES

    async def database_bytes(self) -> int:
        rows = await self._read("SELECT pg_database_size(current_database()) AS size")
        return int(rows[0]["size"])
