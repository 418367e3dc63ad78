"""The page cache on SQLite (`crawler.store.page_cache`): the unchanged check's write
(`shared_page_cache`) and the entry it leaves, in the `page_cache` table of migration 12."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crawler.store.page_cache import PageCache
from crawler.store.records import PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN
from crawler.store.shared_page_cache import ENTRY_COLUMNS, ENTRY_UPSERT, SharedPageCache
from crawler.store.sqlite_rows import ROWS
from crawler.store.sqlite_tx import SQLiteWrites
from crawler.store.transaction import Transaction

# Valid only while the article's check count is the one the entry's own write left
# (`records.PAGE_CACHE_JOIN`, which the claims use too).
_VALID = (f"SELECT {PAGE_CACHE_COLUMNS} FROM articles a JOIN {PAGE_CACHE_JOIN}"  # noqa: S608
          " WHERE a.id = ?")

_STORE = (f"INSERT INTO page_cache ({ENTRY_COLUMNS})"  # noqa: S608
          f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) {ENTRY_UPSERT}")


class SQLitePageCache(SQLiteWrites, SharedPageCache):
    async def _write_check(self, tx: Transaction, article_id: int, update: str,
                           params: Sequence[Any], entry: Sequence[Any] | None) -> bool:
        # The entry is a statement of its own: with one writer, a second statement in the
        # same transaction costs a hop to its thread, not a round trip.
        rows = await tx.rows(f"{update} RETURNING check_count", params)
        if not rows:
            return False
        if entry is not None:
            await tx.run(_STORE, (article_id, int(rows[0]["check_count"]), *entry))
        return True

    async def get_page_cache(self, article_id: int) -> PageCache | None:
        rows = await self._read(_VALID, (article_id,))
        return ROWS.page_cache(rows[0]) if rows else None
