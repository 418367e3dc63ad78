"""The page cache on PostgreSQL (`crawler.store.page_cache`): the unchanged check's write and
the entry it leaves, in the `page_cache` table of migration 12 (as on SQLite)."""

from __future__ import annotations

from datetime import datetime

from crawler.store.page_cache import PageCache, require_present
from crawler.store.postgres_db import Conn, PostgresDatabase
from crawler.store.postgres_leases import (
    CLEAR_LEASE,
    LEASE_HELD,
    lease_lost_or_missing,
    lease_params,
)
from crawler.store.postgres_rows import ROWS, utc, utc_opt
from crawler.store.records import PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN

# Valid only while the article's check count is the one the entry's own write left
# (`records.PAGE_CACHE_JOIN`, which the claims use too).
_VALID = (f"SELECT {PAGE_CACHE_COLUMNS} FROM articles a JOIN {PAGE_CACHE_JOIN}"  # noqa: S608
          " WHERE a.id = %s")

_UPDATE = f"""UPDATE articles SET last_checked_at = %s, check_count = check_count + 1,
                  next_check_at = %s, collapse_count = 0,
                  gone_count = CASE WHEN %s THEN 0 ELSE gone_count END,
                  deleted = CASE WHEN %s THEN false ELSE deleted END,
                  deleted_at = CASE WHEN %s THEN NULL ELSE deleted_at END,
                  extractor_version = COALESCE(%s, extractor_version), {CLEAR_LEASE}
              WHERE id = %s AND {LEASE_HELD} RETURNING id, check_count"""  # noqa: S608

# The entry is written by the same statement as the check (one round trip, where two
# statements would take two): the article's UPDATE in a CTE, the entry stamped with the
# check count it returns. No row back: the UPDATE matched none (the lease was lost, or there
# is no such article), and nothing at all was written.
_WITH_ENTRY = f"""WITH checked AS ({_UPDATE})
            INSERT INTO page_cache (article_id, check_count, final_url, digest, reader,
                                    full_at, etag, last_modified, skipped)
            SELECT id, check_count, %s, %s, %s, %s, %s, %s, %s FROM checked
            ON CONFLICT (article_id) DO UPDATE SET
                check_count = excluded.check_count, final_url = excluded.final_url,
                digest = excluded.digest, reader = excluded.reader,
                full_at = excluded.full_at, etag = excluded.etag,
                last_modified = excluded.last_modified, skipped = excluded.skipped
            RETURNING article_id"""  # noqa: S608


class PostgresPageCache(PostgresDatabase):
    async def mark_checked(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        present: bool = False, extractor_version: int | None = None,
        lease_owner: str | None = None, page: PageCache | None = None,
    ) -> None:
        """See `Store.mark_checked`. Raises KeyError for an unknown article,
        `LeaseLostError`, ValueError for a `page` without `present`."""
        require_present(present, page)
        params: tuple[object, ...] = (
            utc(checked_at), utc_opt(next_check_at), present, present, present,
            extractor_version, *lease_params(lease_owner), article_id,
            *lease_params(lease_owner))
        sql = _UPDATE
        if page is not None:
            sql = _WITH_ENTRY
            params = (*params, page.final_url, page.digest, page.reader, utc(page.full_at),
                      page.etag, page.last_modified, page.skipped)

        async def tx(conn: Conn) -> None:
            cur = await conn.execute(sql, params)
            if await cur.fetchone() is None:
                raise await lease_lost_or_missing(conn, "article", article_id, lease_owner)

        await self._write(tx)

    async def get_page_cache(self, article_id: int) -> PageCache | None:
        rows = await self._read(_VALID, (article_id,))
        return ROWS.page_cache(rows[0]) if rows else None
