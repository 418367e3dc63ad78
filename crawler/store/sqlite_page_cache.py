"""The page cache on SQLite (`crawler.store.page_cache`): the unchanged check's write and the
entry it leaves, in the `page_cache` table of migration 12."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from crawler.store.page_cache import PageCache, require_present
from crawler.store.records import PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN
from crawler.store.sqlite_db import SQLiteDatabase
from crawler.store.sqlite_leases import CLEAR_LEASE, LEASE_HELD, lease_params, require_lease
from crawler.store.sqlite_rows import ROWS, encode_time, encode_time_opt

# Valid only while the article's check count is the one the entry's own write left
# (`records.PAGE_CACHE_JOIN`, which the claims use too).
_VALID = (f"SELECT {PAGE_CACHE_COLUMNS} FROM articles a JOIN {PAGE_CACHE_JOIN}"  # noqa: S608
          " WHERE a.id = ?")

_STORE = """INSERT INTO page_cache (article_id, check_count, final_url, digest, reader,
                                    full_at, etag, last_modified, skipped)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (article_id) DO UPDATE SET
                check_count = excluded.check_count, final_url = excluded.final_url,
                digest = excluded.digest, reader = excluded.reader,
                full_at = excluded.full_at, etag = excluded.etag,
                last_modified = excluded.last_modified, skipped = excluded.skipped"""


class SQLitePageCache(SQLiteDatabase):
    async def mark_checked(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        present: bool = False, extractor_version: int | None = None,
        lease_owner: str | None = None, page: PageCache | None = None,
    ) -> None:
        """See `Store.mark_checked`. Raises KeyError for an unknown article,
        `LeaseLostError`, ValueError for a `page` without `present`."""
        require_present(present, page)
        params = (encode_time(checked_at), encode_time_opt(next_check_at), int(present),
                  int(present), int(present), extractor_version, *lease_params(lease_owner),
                  article_id, *lease_params(lease_owner))

        async def tx(conn: aiosqlite.Connection) -> None:
            rows = list(await conn.execute_fetchall(
                f"""UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                       next_check_at = ?, collapse_count = 0,
                       gone_count = CASE WHEN ? THEN 0 ELSE gone_count END,
                       deleted = CASE WHEN ? THEN 0 ELSE deleted END,
                       deleted_at = CASE WHEN ? THEN NULL ELSE deleted_at END,
                       extractor_version = COALESCE(?, extractor_version), {CLEAR_LEASE}
                   WHERE id = ? AND {LEASE_HELD} RETURNING check_count""",  # noqa: S608
                params,
            ))
            if not rows:
                await require_lease(conn, "article", article_id, lease_owner)
                raise KeyError(article_id)
            if page is not None:
                await conn.execute(_STORE, (
                    article_id, int(rows[0][0]), page.final_url, page.digest, page.reader,
                    encode_time(page.full_at), page.etag, page.last_modified, page.skipped))

        await self._write(tx)

    async def get_page_cache(self, article_id: int) -> PageCache | None:
        rows = await self._read(_VALID, (article_id,))
        return ROWS.page_cache(rows[0]) if rows else None
