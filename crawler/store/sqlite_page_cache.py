"""The page cache on SQLite (`crawler.store.page_cache`): the unchanged check's write
(`shared_page_cache`) and the entry it leaves, in the `page_cache` table of migration 12."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crawler.store.page_cache import PageCache
from crawler.store.shared_page_cache import ENTRY_COLUMNS, ENTRY_UPSERT, SharedPageCache
from crawler.store.sqlite_rows import decode_time
from crawler.store.sqlite_tx import SQLiteWrites
from crawler.store.transaction import Transaction

# Valid only while the article's check count is the one the entry's own write left.
_VALID = """SELECT p.final_url, p.digest, p.reader, p.full_at, p.etag, p.last_modified,
                   p.skipped
            FROM page_cache p JOIN articles a ON a.id = p.article_id
            WHERE p.article_id = ? AND p.check_count = a.check_count AND a.deleted = 0"""

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
        if not rows:
            return None
        row = rows[0]
        return PageCache(final_url=row["final_url"], digest=row["digest"],
                         reader=row["reader"], full_at=decode_time(row["full_at"]),
                         etag=row["etag"], last_modified=row["last_modified"],
                         skipped=int(row["skipped"]))
