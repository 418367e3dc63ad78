"""The store seam: what the rest of the crawler needs from a database.

`crawler.store.open_store` builds the implementation `[storage]` names; nothing outside
`crawler/store/` may know which one it talks to. Every method that writes does so in one
transaction: either all of its rows are there afterwards or none is.
Times are timezone-aware UTC datetimes.

Due work (feed polls, article re-checks, delivery attempts) is claimed with leases, so that any
number of daemons can share one database (DESIGN.md, "A claim is a lease"):

- A row is *leased* while its `lease_owner` is set; the lease is *free* when no owner is set
  or its `lease_expires_at` is <= the time of the claim (a dead daemon's work is taken over).
  An owner names one process start (`crawler.leases.new_owner`), never reused.
- `claim_due_*` selects due rows whose lease is free, earliest due first, at most `limit`,
  and leases exactly those to the owner until `now + lease_seconds`, in one short write
  transaction (on PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED LIMIT n` in a CTE, then
  `UPDATE ... FROM` it; never `WHERE id IN (SELECT ... LIMIT n)`, which may claim more).
  Nothing stays open while the work runs.
- `renew_leases` extends the leases the owner still holds while the work runs.
- The write that completes the work takes `lease_owner=`: it is made only while that owner
  holds the row (`lease_owner` equal, expired or not: nobody has claimed it since), clears
  the lease and sets the next due time in the same statement; otherwise nothing at all is
  written and `LeaseLostError` is raised. Without `lease_owner` these writes ignore leases
  and leave them as they are (`crawler once`, feed entries of known articles).
- A write that records a check takes `as_seen=` (`models.AsSeen`: the feed the article was
  compared from, its version and hash, as the check read them) when what it records was
  decided on that state: it is made only while the article is still so, tested in the same
  statement as the write; otherwise nothing at all is written and `StaleArticleError` is
  raised (another poll moved the article to another feed or stored another version since:
  the next check decides afresh). KeyError and `LeaseLostError` are told first.
- `release_leases` gives work back undone (a stop, a reload that dropped a feed): it is due
  again at once for anyone, its due time unchanged.

Errors the seam raises for the operator to read (a missing database, a schema from another
program version, a database another daemon holds) are `StoreError`s with a message meant to be
printed as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from crawler.clockstep import DueCaps
from crawler.models import (
    Article,
    AsSeen,
    Content,
    EventRecord,
    FeedState,
    Version,
    VersionMark,
)
from crawler.store.claims import LeaseKey, LeaseKind, StoreClaims
from crawler.store.entries import EntryStore
from crawler.store.errors import (
    ArticleExistsError,
    BackupError,
    DatabaseConnectionError,
    DatabaseMissingError,
    LeaseLostError,
    SchemaError,
    SchemaOutdatedError,
    SchemaTooNewError,
    StaleArticleError,
    StoreClosedError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from crawler.store.maintenance import Maintenance
from crawler.store.outbox import StoreOutbox
from crawler.store.page_cache import PageCacheStore
from crawler.store.reads import StoreReads

# The seam's names, importable from here as from the modules that define them.
__all__ = [
    "ArticleExistsError",
    "BackupError",
    "DatabaseConnectionError",
    "DatabaseMissingError",
    "EntryStore",
    "EventBuilder",
    "LeaseKey",
    "LeaseKind",
    "LeaseLostError",
    "Maintenance",
    "PageCacheStore",
    "SchemaError",
    "SchemaOutdatedError",
    "SchemaTooNewError",
    "StaleArticleError",
    "Store",
    "StoreClaims",
    "StoreClosedError",
    "StoreError",
    "StoreLockedError",
    "StoreOutbox",
    "StoreReads",
    "StoreUnavailableError",
    "url_host",
    "url_path",
]

# Builds the event of a new version once the writing transaction has assigned its number.
EventBuilder = Callable[[int], EventRecord]


def url_host(url: str) -> str:
    """The authority of `url`, lower-cased: how re-check claims group articles per host and
    feed claims group feeds (each store's migration 7 derives the same from stored article
    URLs, migration 14 from feed URLs)."""
    return urlsplit(url).netloc.lower()


def url_path(url: str) -> str:
    """`url` (normalized: no fragment) without its query: the path key under which
    `Store.find_article_by_content` finds articles (each store's migration 10 derives the same
    from stored canonical URLs)."""
    return url.split("?", 1)[0]


class Store(EntryStore, StoreReads, PageCacheStore, StoreOutbox, StoreClaims, Protocol):
    """The whole seam: the methods below, the article lookups and creation of `EntryStore`,
    the read queries of `StoreReads`, the page cache of `PageCacheStore` (`mark_checked`
    among them), the outbox of `StoreOutbox` and the claims of `StoreClaims`."""

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

    def failing_writes(self) -> tuple[float, str] | None:
        """While the store's writes fail for a storage fault (a full disk, an I/O error, a
        damaged file, a lost database): seconds since the first failure of the streak and
        the last error; None once a write gets through (`crawler.store.write_health`)."""

    async def ping(self) -> bool:
        """True when the database answers a trivial query (for health checks)."""

    # --- feeds -------------------------------------------------------------------------------
    async def get_feed_state(self, feed_url: str) -> FeedState | None:
        """The stored poll state of a feed; None if the store does not know it (never polled
        nor configured by `sync_feeds`). A configured feed not polled yet has no
        `last_polled_at`."""

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
        lease_owner: str | None = None,
        ttl_seconds: float | None = None,
    ) -> None:
        """Store a poll's outcome. `status` is "ok", "not_modified" or "error"; an error
        increments `consecutive_errors` and keeps the previous etag/last_modified, any other
        status resets it to 0 and replaces them. `entries`: how many the feed had, when it
        was parsed (None keeps the last count). `lease_owner`: the poll completes a claim
        (see the module docstring: written only while the owner holds the feed's lease,
        which is cleared; else `LeaseLostError` and nothing written). Without it the feed's
        row is created if missing (as a configured feed). `ttl_seconds` (the gap the feed
        asked for, `FeedState.ttl_seconds`) replaces the stored one unless the poll failed."""

    async def list_feed_states(self) -> list[FeedState]:
        """Every feed known to the store (polled, or configured by `sync_feeds`), by URL."""

    async def sync_feeds(self, first_polls: Mapping[str, datetime],
                         due_by: Mapping[str, datetime] | None = None) -> None:
        """Make the store's configured feeds exactly the keys of `first_polls` (feed URLs),
        in one transaction: a feed not known yet is created, due at its value in
        `first_polls`; a known feed is marked configured and keeps its `next_poll_at`
        (backoff and ttl survive restarts and reloads; one with none gets its value) unless
        `due_by` names it: then it is due no later than its value there (a reload shortened
        its interval); every other feed is marked not configured and is no longer claimed
        (its row, history and any lease stay). Leases are not touched."""

    # --- articles (lookups by URL and creation: `crawler.store.entries.EntryStore`) ------
    async def add_version(
        self,
        article_id: int,
        *,
        content: Content,
        event: EventBuilder | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
        lease_owner: str | None = None,
        announces: bool | None = None,
        feed_url: str | None = None,
        as_seen: AsSeen | None = None,
    ) -> int:
        """A new distinct version: the next version number, the event and its deliveries, one
        transaction; clears the deleted mark. `announces`: the version becomes the article's
        `announced_version` (None: when an event is stored; a re-baseline passes True, a flap
        back to the announced text too). The number is assigned inside the transaction and
        handed to `event`, which returns the event to store with it (it may be called again if
        the transaction is retried; it must be pure). `event` None records the version
        silently (a flap back to a recent version, a re-baseline after an extractor upgrade).
        `extractor_version`: what extracted `content`. Returns the new version number.
        `lease_owner`: the check completes a claim (see the module docstring; on
        `LeaseLostError` no version, event or delivery is stored). `feed_url`: the article is
        compared with that feed's entries from now on, in the same transaction (see
        `move_to_feed`). `as_seen`: only while the article is so (see the module docstring;
        on `StaleArticleError` no version, event or delivery is stored)."""

    async def move_to_feed(self, article_id: int, feed_url: str, *,
                           as_seen: AsSeen | None = None) -> None:
        """The feed whose entries the article is compared with becomes `feed_url`
        (`Article.entry_feed_url`; `Article.feed_url`, the feed it was first seen in, stays):
        a feed-sourced article moving to a feed whose entries carry more of it, or away from
        a feed no longer configured. Raises KeyError for an unknown article; `as_seen`: only
        while the article is so (else `StaleArticleError`: a move decided on another state)."""

    async def mark_collapsed(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> int:
        """A check whose extraction collapsed: like `mark_checked`, but the collapse streak
        grows by one instead of ending. Returns the streak's new length. `lease_owner`,
        `as_seen`: as in `mark_checked`."""

    async def mark_deleted(
        self,
        article_id: int,
        *,
        event: EventRecord,
        checked_at: datetime,
        next_check_at: datetime | None,
        lease_owner: str | None = None,
        as_seen: AsSeen | None = None,
    ) -> None:
        """The page is gone (404/410): mark deleted, store the event and its deliveries.
        `lease_owner`, `as_seen`: as in `mark_checked` (refused, no event is stored)."""

    async def due_articles(self, now: datetime, limit: int) -> list[Article]:
        """Articles whose `next_check_at` <= now, oldest due first (an indexed query). A read:
        leases are neither looked at nor taken (`claim_due_articles` claims)."""

    async def get_versions(self, article_id: int) -> list[Version]:
        """Every stored version of an article, oldest first."""

    async def count_articles(self) -> int: ...

    async def count_versions(self) -> int: ...

    async def count_due_articles(self, now: datetime) -> int:
        """Articles whose re-check is due at `now` (the same indexed range as `due_articles`)."""

    # --- what deciding about a check reads, and restorations (crawler.decision) -------------
    async def get_version_marks(self, article_id: int) -> list[VersionMark]:
        """Every stored version of an article without its text, oldest first (empty for an
        unknown article)."""

    async def get_last_version(self, article_id: int) -> Version | None:
        """The article's current (highest-numbered) version with its text; None for an
        unknown article."""

    async def get_deletion_status(self, article_id: int) -> int | None:
        """The `status` (404, 410) of the article's latest `article.deleted` event; None when
        it has none (or an unknown article)."""

    async def mark_restored(
        self, article_id: int, *, event: EventRecord, checked_at: datetime,
        next_check_at: datetime | None, extractor_version: int,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> None:
        """A deleted article's page answered with its current text again: what
        `mark_checked(present=True, extractor_version=...)` does, plus the event
        (`article.restored`, stored with the current version number) and its deliveries, in
        one transaction. (A return with another text is `add_version`, which clears the
        deleted mark too.) Raises KeyError for an unknown article; `lease_owner`, `as_seen`:
        as in `mark_checked` (refused, no event is stored)."""

    async def mark_announced(
        self, article_id: int, *, event: EventRecord, checked_at: datetime,
        next_check_at: datetime | None, extractor_version: int,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> None:
        """A check that found the current text, now announced (`event`, stored with the
        current version number, e.g. the edit a silent flap turned out to be): the write of
        `mark_restored` (a deleted mark, if any, ends too); both make the current version the
        `announced_version`. Raises KeyError for an unknown article; `lease_owner`,
        `as_seen`: as in `mark_checked` (refused, no event is stored)."""

    async def mark_missing(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        lease_owner: str | None = None, as_seen: AsSeen | None = None,
    ) -> int:
        """A check whose page answered 404/410, not yet a confirmed deletion: like
        `mark_checked`, but the article's `gone_count` grows by one (any check whose page
        answered with a text, and `mark_deleted`, set it back to 0). Returns the new count.
        Raises KeyError for an unknown article; `lease_owner`, `as_seen`: as in
        `mark_checked`."""

    async def note_site_text(self, article_id: int, *, text_hash: str, seen_at: datetime,
                             since: datetime) -> int:
        """Remember that a check of the article found the text `text_hash` (see
        `crawler.error_pages.text_fingerprint`) at `seen_at`, forget what its host's checks
        found before `since`, and return how many other articles of the same host were found
        with that text since then (0 for an unknown article). One short write; not part of
        a check's lease."""


    # --- due times moved from outside their work ---------------------------------------------
    async def clamp_due_times(self, now: datetime, caps: DueCaps) -> int:
        """Repair stored due times after a wall-clock step (`crawler.clockstep.clamp_due`),
        in one transaction: each feed's `next_poll_at`, article's `next_check_at` and pending
        delivery's `next_attempt_at` later than `now` becomes `clamp_due(due, written, now,
        cap)` with `written` the row's last write time (last poll, last check; the last
        attempt, else the delivery's creation) and its kind's cap in `caps`; an endpoint's
        `next_probe_at` is at most `now + caps.endpoint_probe` and its `failing_since` at
        most `now`. Leases and everything else are untouched; a row that changes meanwhile
        keeps its new value. Returns how many values moved (0 when the clock did not step)."""

    async def postpone_check(self, article_id: int, *, next_check_at: datetime | None,
                             lease_owner: str | None = None) -> None:
        """Move a check's due time before its work starts, leaving its lease and everything
        else as they are: a process that dies during the check (killed by a watchdog while
        extracting a hostile page) leaves the article due at `next_check_at`, not at once.
        `lease_owner`: written only while that owner holds the article's lease, else
        `LeaseLostError`; None writes regardless."""
