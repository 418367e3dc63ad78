"""The read queries of the SQLite store (`crawler.store.reads.StoreReads`): the shared ones
(`shared_reads`, `shared_lookups`) in SQLite's dialect, and the database's size."""

from __future__ import annotations

from crawler.store.dialect import Dialect
from crawler.store.shared_lookups import SharedLookups
from crawler.store.sqlite_db import SQLiteDatabase
from crawler.store.sqlite_rows import ROWS, encode_time

SQLITE = Dialect(
    name="sqlite", mark="?", write_time=encode_time, rows=ROWS,
    title_contains="instr(lower(a.title), ?) > 0",
    # A correlated lookup, not a filter on the joined `a`: on `a` SQLite would start from the
    # feed's articles and sort all their events, or build a Bloom filter by reading every
    # article (measured: 10-25 ms with 100,000). This way events are read in time order from
    # `events_recent`, each article found by its key, and the scan stops at `limit` matches
    # (under 1 ms).
    event_of_feed="(SELECT f.feed_url FROM articles f WHERE f.id = e.article_id) = ?",
    values_as_array=False,
    true="1", false="0",
    events_tiebreak="rowid",  # the order they were written in
)


class SQLiteReads(SQLiteDatabase, SharedLookups):
    """`StoreReads` on SQLite."""

    _dialect = SQLITE

    async def database_bytes(self) -> int:
        return self.size_bytes()
