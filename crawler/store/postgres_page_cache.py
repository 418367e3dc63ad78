"""The page cache on PostgreSQL (`crawler.store.page_cache`): the unchanged check's write
(`shared_page_cache`) and the entry it leaves, in the `page_cache` table of migration 12 (as
on SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from crawler.store.page_cache import PageCache
from crawler.store.postgres_tx import PostgresWrites
from crawler.store.shared_page_cache import ENTRY_COLUMNS, ENTRY_UPSERT, SharedPageCache
from crawler.store.transaction import Transaction

# Valid only while the article's check count is the one the entry's own write left.
_VALID = """SELECT p.final_url, p.digest, p.reader, p.full_at, p.etag, p.last_modified,
                   p.skipped
            FROM page_cache p JOIN articles a ON a.id = p.article_id
            WHERE p.article_id = %s AND p.check_count = a.check_count AND NOT a.deleted"""

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
        if not rows:
            return None
        row = rows[0]
        return PageCache(final_url=row["final_url"], digest=row["digest"],
                         reader=row["reader"], full_at=row["full_at"].astimezone(UTC),
                         etag=row["etag"], last_modified=row["last_modified"],
                         skipped=int(row["skipped"]))
