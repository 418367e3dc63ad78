"""The store seam: what the rest of the crawler needs from a database.

`crawler.store.open_store` builds the implementation `[storage]` names; nothing outside
`crawler/store/` may know which one it talks to. Every method that writes does so in one
transaction: either all of its rows are there afterwards or none is.
Times are timezone-aware UTC datetimes.

Errors the seam raises for the operator to read (a missing database, a schema from another
program version, a database another daemon holds) are `StoreError`s with a message meant to be
printed as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from crawler.models import Article, Content, Delivery, EventRecord, FeedState, Version
from crawler.webhooks.health import EndpointState, Transition

# Builds the event of a new version once the writing transaction has assigned its number.
EventBuilder = Callable[[int], EventRecord]


class Store(Protocol):
    def describe(self) -> str:
        """Where the data lives, for logs and operators (no secrets)."""

    async def migrate(self) -> tuple[int, int]:
        """Apply pending schema migrations (creating the database if there is none yet), under
        the store's lock; returns the schema version before and after. Call it before `open()`.
        Only for a daemon's store (`open_store(..., daemon=True)`); raises `StoreError` on a
        read-only one, `SchemaTooNewError` for a database of a newer program."""

    async def open(self) -> None:
        """Open the database. Never migrates and, read-only, never writes nor creates anything.
        Idempotent. Raises `DatabaseMissingError` when there is no database,
        `SchemaOutdatedError` / `SchemaTooNewError` when its schema is not this program's,
        `StoreLockedError` when another daemon holds a store that admits only one."""

    async def close(self) -> None:
        """Close (and release the store's lock). Safe to call twice, and before `open()`."""

    async def ping(self) -> bool:
        """True when the database answers a trivial query (for health checks)."""

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
        event: EventBuilder | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
    ) -> int:
        """A new distinct version: the next version number, the event and its deliveries, one
        transaction; clears the deleted mark. The number is assigned inside the transaction and
        handed to `event`, which returns the event to store with it (it may be called again if
        the transaction is retried; it must be pure). `event` None records the version
        silently (a flap back to a recent version, a re-baseline after an extractor upgrade).
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


@runtime_checkable
class Maintenance(Protocol):
    """Housekeeping that only a store kept in local files needs (SQLite). A store offers it
    when `crawler.store.maintenance_of` returns it; the daemon then schedules `checkpoint`."""

    async def checkpoint(self) -> bool:
        """Fold the write-ahead log back into the database so it does not grow without bound.
        False when a reader kept it from finishing (try again later)."""

    async def backup(self, dest: Path) -> None:
        """A consistent online copy at `dest`, verified, while writes go on; works whether the
        store is open or not. Raises `BackupError` (`dest` exists, no database, bad copy)."""

    def size_bytes(self) -> int:
        """Bytes the database takes on disk, its write-ahead log included."""


class ArticleExistsError(Exception):
    """create_article() for a canonical URL that is already tracked."""


class StoreClosedError(RuntimeError):
    """A method was called before open() or after close(), or a write on a read-only store."""


class StoreError(Exception):
    """The store cannot be used as asked; the message says why and what to do."""


class StoreUnavailableError(StoreError):
    """`[storage]` names a database this program cannot use."""


class DatabaseMissingError(StoreError):
    """There is no database yet (reading commands never create one)."""


class DatabaseConnectionError(StoreError):
    """The database server cannot be reached or dropped the connection: the operation did not
    complete (or, lost during its commit, may have). Server stores reconnect by themselves; the
    same call can be tried again later."""


class StoreLockedError(StoreError):
    """Another process holds the store, and this store admits only one daemon."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class SchemaError(StoreError):
    """The database's schema version is not the one this program reads and writes."""

    def __init__(self, message: str, *, database: int, program: int) -> None:
        super().__init__(message)
        self.database = database
        self.program = program


class SchemaOutdatedError(SchemaError):
    """The database is older than the program: `crawler migrate` (or the daemon) upgrades it."""

    def __init__(self, *, database: int, program: int) -> None:
        super().__init__(
            f"the database schema is version {database}, older than this crawler's {program}:"
            " run `crawler migrate` (or start the daemon, which migrates) first",
            database=database, program=program)


class SchemaTooNewError(SchemaError):
    """The database was written by a newer program."""

    def __init__(self, *, database: int, program: int) -> None:
        super().__init__(
            f"the database schema is version {database}, newer than this crawler's {program}:"
            " this crawler is too old for the database; upgrade it",
            database=database, program=program)


class BackupError(StoreError):
    """The backup could not be made or did not verify; the message says why."""
