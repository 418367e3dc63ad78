"""`Store.mark_checked`, the unchanged check's write, written once for both stores over their
`Transaction` (see `shared_outbox`): the article's UPDATE, its parameters and the lease rule
are shared; how the page cache entry is written with it is each store's own
(`_write_check`): SQLite adds a statement, PostgreSQL puts the UPDATE in a CTE of the entry's
INSERT so that the check stays one statement. The entry's rules are in
`crawler.store.page_cache`.

Statements use `?` marks and every time parameter goes through the dialect (`transaction`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crawler.models import AsSeen
from crawler.store.page_cache import PageCache, require_present
from crawler.store.shared_leases import (
    AS_SEEN,
    CLEAR_LEASE,
    LEASE_HELD,
    article_refusal,
    as_seen_params,
    lease_params,
)
from crawler.store.transaction import SharedWrites, Transaction

ENTRY_COLUMNS = ("article_id, check_count, final_url, digest, reader, full_at, etag,"
                 " last_modified, skipped")
# After the INSERT of an entry: the article's one entry is replaced.
ENTRY_UPSERT = """ON CONFLICT (article_id) DO UPDATE SET
                check_count = excluded.check_count, final_url = excluded.final_url,
                digest = excluded.digest, reader = excluded.reader,
                full_at = excluded.full_at, etag = excluded.etag,
                last_modified = excluded.last_modified, skipped = excluded.skipped"""


class SharedPageCache(SharedWrites):
    async def mark_checked(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        present: bool = False, extractor_version: int | None = None,
        lease_owner: str | None = None, page: PageCache | None = None,
        as_seen: AsSeen | None = None,
    ) -> None:
        """See `Store.mark_checked`. Raises KeyError for an unknown article,
        `LeaseLostError`, `StaleArticleError`, ValueError for a `page` without `present`."""
        require_present(present, page)
        dialect = self._dialect
        update = f"""UPDATE articles SET last_checked_at = ?, check_count = check_count + 1,
                  next_check_at = ?, collapse_count = 0,
                  gone_count = CASE WHEN ? THEN 0 ELSE gone_count END,
                  deleted = CASE WHEN ? THEN {dialect.false} ELSE deleted END,
                  deleted_at = CASE WHEN ? THEN NULL ELSE deleted_at END,
                  extractor_version = COALESCE(?, extractor_version), {CLEAR_LEASE}
              WHERE id = ? AND {LEASE_HELD} AND {AS_SEEN}"""  # noqa: S608
        params = (dialect.write_time(checked_at), dialect.write_time_opt(next_check_at),
                  present, present, present, extractor_version, *lease_params(lease_owner),
                  article_id, *lease_params(lease_owner), *as_seen_params(as_seen))
        entry = None if page is None else (
            page.final_url, page.digest, page.reader, dialect.write_time(page.full_at),
            page.etag, page.last_modified, page.skipped)

        async def body(tx: Transaction) -> None:
            if not await self._write_check(tx, article_id, update, params, entry):
                raise await article_refusal(tx, article_id, lease_owner, as_seen)

        await self._transact(body)

    async def _write_check(self, tx: Transaction, article_id: int, update: str,
                           params: Sequence[Any], entry: Sequence[Any] | None) -> bool:
        """Run `update` (the check's UPDATE of the article, without a RETURNING clause) and,
        given `entry` (an entry's values after its `article_id` and `check_count`), store
        the entry stamped with the check count the update left. False when the update
        matched no row; then nothing was written."""
        raise NotImplementedError  # each store's page cache class says how
