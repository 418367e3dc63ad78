"""The page cache of the store seam: what a re-check remembers of an article's page so that
the next one can skip what cannot have changed (`crawler.revalidation`, `crawler.recheck`).

One entry per article at most, written by `mark_checked` in the same transaction as the
check it belongs to. An entry is only ever valid for the check that wrote it and the
unchanged checks that renewed it: it records the article's `check_count` as that write left
it, and `get_page_cache` gives it back only while the count is still that one. Every other
write that records a check (a new version, a collapse, a 404 of a streak, a deletion, a
restoration, an error or an unchanged check written without an entry) counts a check too,
so it ends the entry in its own transaction, without any of them having to remember the
cache: the rules of `crawler.decision` that look at more than one check (collapses, 404
streaks, flaps, restorations) keep seeing full checks until the text is the current one
again. `mark_checked` is written once (`shared_page_cache`) but for how each store writes
the entry with the check; the rest is in each store's module (`sqlite_page_cache`,
`postgres_page_cache`). A claim (`claim_due_articles`) reads each article's valid entry in
the same query (`Article.page_cache`), so a claimed re-check makes no read of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from crawler.models import AsSeen, PageCache

__all__ = ["PageCache", "PageCacheStore", "require_present"]


class PageCacheStore(Protocol):
    """The writes and reads of the page cache (module docstring)."""

    async def mark_checked(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        present: bool = False, extractor_version: int | None = None,
        lease_owner: str | None = None, page: PageCache | None = None,
        as_seen: AsSeen | None = None,
    ) -> None:
        """Same content as before: only the check time, count and next check move (and the
        collapse streak ends). `next_check_at` None ends re-checking. `present` True (the page
        answered with the article) clears a deleted mark, so a later removal is news again,
        and ends the 404 streak (`mark_missing`).
        `extractor_version`: the extractor that found the same text, which becomes the
        article's `extractor_version` (None: no extraction took place, it stays).
        `lease_owner`: the check completes a claim; `as_seen`: written only while the
        article is as the check saw it, else `StaleArticleError` (see `crawler.store.base`).
        `page`: the page cache entry this check leaves (only with `present`: raises
        ValueError otherwise), stored in the same transaction and valid until the next
        write that records a check; without it, the entry this check found is ended."""

    async def get_page_cache(self, article_id: int) -> PageCache | None:
        """The article's page cache entry while it is valid: the last check recorded was
        the one that stored it, and the article is not deleted. None otherwise (and for an
        unknown article)."""


def require_present(present: bool, page: PageCache | None) -> None:
    """`mark_checked`'s rule: a page cache entry only for a check that found the article."""
    if page is not None and not present:
        raise ValueError("a page cache entry is stored only by a check that found the page")
