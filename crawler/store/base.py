"""The store seam: what the rest of the crawler needs from a database.

SQLite (`crawler.store.sqlite.SQLiteStore`) is the first implementation; nothing outside
`crawler/store/` may know which one it talks to. Every method that writes does so in one
transaction: either all of its rows are there afterwards or none is.
Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Protocol

from crawler.models import Article, Content, Delivery, EventRecord, FeedState, Version
from crawler.webhooks.health import EndpointState, Transition


class Store(Protocol):
    async def open(self) -> None:
        """Open the database, apply pending migrations. Idempotent."""

    async def close(self) -> None:
        """Checkpoint and close. Safe to call twice."""

    async def ping(self) -> bool:
        """True when the database answers a trivial query (for health checks)."""

    async def checkpoint(self) -> tuple[int, int, int]:
        """Fold the write-ahead log back into the database so it does not grow without bound:
        (busy, log pages, pages checkpointed)."""

    # --- feeds -------------------------------------------------------------------------------
    async def get_feed_state(self, feed_url: str) -> FeedState | None:
        """The stored poll state of a feed; None if it was never polled."""

    async def record_feed_poll(
        self,
        feed_url: str,
        *,
        polled_at: datetime,
        status: str,
        error: str | None,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: datetime | None,
        entries: int | None = None,
    ) -> None:
        """Store a poll's outcome. `status` is "ok", "not_modified" or "error"; an error
        increments `consecutive_errors` and keeps the previous etag/last_modified, any other
        status resets it to 0 and replaces them. `entries`: how many the feed had, when it
        was parsed (None keeps the last count)."""

    async def list_feed_states(self) -> list[FeedState]:
        """Every feed ever polled, ordered by URL."""

    # --- articles ----------------------------------------------------------------------------
    async def find_article_by_url(self, url: str) -> Article | None:
        """The article that `url` (an entry link or a canonical URL, normalized) points to."""

    async def add_url_alias(self, article_id: int, url: str) -> None:
        """Record that `url` also leads to the article (no-op if already known)."""

    async def create_article(
        self,
        *,
        canonical_url: str,
        url: str,
        feed_url: str,
        content: Content,
        event: EventRecord,
        seen_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
        source: str = "page",
    ) -> Article:
        """First sight: article + version 1 + its event + deliveries, one transaction. `url`
        (the entry link) and `canonical_url` both become aliases; `source` is "page" or "feed"
        (see `Article.source`); `extractor_version`: what extracted `content` (see
        `crawler.extract.version`). Raises `ArticleExistsError` if the canonical URL is already
        tracked."""

    async def add_version(
        self,
        article_id: int,
        *,
        content: Content,
        event: EventRecord | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
    ) -> int:
        """A new distinct version: the next version number, the event and its deliveries, one
        transaction; clears the deleted mark. `event` None records the version silently (a
        flap back to a recent version, a re-baseline after an extractor upgrade).
        `extractor_version`: what extracted `content`. Returns the new version number."""

    async def mark_checked(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        present: bool = False, extractor_version: int | None = None,
    ) -> None:
        """Same content as before: only the check time, count and next check move (and the
        collapse streak ends). `next_check_at` None ends re-checking. `present` True (the page
        answered with the article) clears a deleted mark, so a later removal is news again.
        `extractor_version`: the extractor that found the same text, which becomes the
        article's `extractor_version` (None: no extraction took place, it stays)."""

    async def mark_collapsed(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None
    ) -> int:
        """A check whose extraction collapsed: like `mark_checked`, but the collapse streak
        grows by one instead of ending. Returns the streak's new length."""

    async def mark_deleted(
        self,
        article_id: int,
        *,
        event: EventRecord,
        checked_at: datetime,
        next_check_at: datetime | None,
    ) -> None:
        """The page is gone (404/410): mark deleted, store the event and its deliveries."""

    async def due_articles(self, now: datetime, limit: int) -> list[Article]:
        """Articles whose `next_check_at` <= now, oldest due first (an indexed query)."""

    async def get_versions(self, article_id: int) -> list[Version]:
        """Every stored version of an article, oldest first."""

    async def count_articles(self) -> int: ...

    async def count_versions(self) -> int: ...

    async def count_due_articles(self, now: datetime) -> int:
        """Articles whose re-check is due at `now` (the same indexed range as `due_articles`)."""

    # --- deliveries (the outbox) -------------------------------------------------------------
    async def due_deliveries(
        self, now: datetime, limit: int, *, endpoints: Collection[str] | None = None
    ) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first; only to `endpoints`
        when given (so a disabled or removed endpoint's backlog cannot fill `limit`)."""

    async def next_delivery_due(
        self, *, endpoints: Collection[str] | None = None
    ) -> datetime | None:
        """When the earliest pending delivery is due; None if none is pending."""

    async def record_delivery_attempt(
        self,
        delivery_id: int,
        *,
        attempted_at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        outcome: str,
        next_attempt_at: datetime | None,
    ) -> None:
        """One attempt, in its own transaction. `outcome` is "delivered", "retry" (then
        `next_attempt_at` is set), "failed" (schedule exhausted) or "disabled" (410)."""

    async def list_deliveries(self, statuses: tuple[str, ...]) -> list[Delivery]:
        """Deliveries in the given statuses, for operators."""

    async def requeue_deliveries(
        self, *, event_id: str | None, failed: bool, endpoint_url: str | None, now: datetime
    ) -> int:
        """Set matching deliveries back to pending, due now, attempts reset; returns how many."""

    async def count_pending_deliveries(self) -> int: ...

    # --- endpoint health (see crawler.webhooks.health) ---------------------------------------
    async def list_endpoint_states(self) -> list[EndpointState]:
        """Every endpoint with a stored health row (failing, paused or disabled), by URL."""

    async def update_endpoint_state(
        self, url: str, change: Callable[[EndpointState], EndpointState]
    ) -> Transition:
        """Apply `change` (a pure function) to the endpoint's stored state (a healthy one if
        none is stored), in one transaction; returns the states before and after."""

    async def resume_endpoint(self, url: str, *, now: datetime) -> tuple[EndpointState, int]:
        """An operator's resume: the endpoint is healthy again, its deliveries held by a 410
        are pending again and its backlog is due `now`, in one transaction. Returns its state
        before and how many deliveries were put back from "disabled"."""


class ArticleExistsError(Exception):
    """create_article() for a canonical URL that is already tracked."""
