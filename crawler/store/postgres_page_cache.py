"""The page cache on PostgreSQL (`crawler.store.page_cache`): the unchanged check's write
(`shared_page_cache`) and the entry it leaves, in the `page_cache` table of migration 12 (as
on SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crawler.store.page_cache import PageCache
from crawler.store.postgres_rows import ROWS
from crawler.store.postgres_tx import PostgresWrites
from crawler.store.records import PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN
from crawler.store.shared_page_cache import ENTRY_COLUMNS, ENTRY_UPSERT, SharedPageCache
from crawler.store.transaction import Transaction

# Valid only while the article's check count is the one the entry's own write left
# (`records.PAGE_CACHE_JOIN`, which the claims use too).
_VALID = (f"SELECT {PAGE_CACHE_COLUMNS} FROM articles a JOIN {PAGE_CACHE_JOIN}"  # noqa: S608
          " WHERE a.id = %s")

# The entry is written by the same statement as the check (one round trip, where two
# statements would take two): the article's UPDATE in a CTE, the entry stamped with the
# check count it returns. No row back: the UPDATE matched none (the lease was lost, or there
# is no such article), and nothing at all was written.
_WITH_ENTRY = """WITH checked AS ({update} RETURNING id, check_count)
            INSERT INTO page_cache ({columns})
            SELECT id, check_count, ?, ?, ?, ?, ?, ?, ? FROM checked
            {upsert} RETURNING article_id"""


class PostgresPageCache(PostgresWrites, SharedPageCache):
    async def _write_check(self, tx: Transaction, article_id: int, update: str,
                           params: Sequence[Any], entry: Sequence[Any] | None) -> bool:
        if entry is None:
            return bool(await tx.rows(f"{update} RETURNING id, check_count", params))
        sql = _WITH_ENTRY.format(update=update, columns=ENTRY_COLUMNS, upsert=ENTRY_UPSERT)
        return bool(await tx.rows(sql, (*params, *entry)))

    async def get_page_cache(self, article_id: int) -> PageCache | None:
        rows = await self._read(_VALID, (article_id,))
        return ROWS.page_cache(rows[0]) if rows else None
