"""Frozen records passed between the stages of the data path.

Every stage takes and returns these; none of them does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SiteRules:
    """Operator-given extraction rules for one host (`[sites."host"]`)."""

    content: str | None = None
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a parsed feed. `link` is absolute; `content_html` is the entry's own HTML."""

    entry_id: str
    link: str
    title: str
    content_html: str | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    entries: tuple[FeedEntry, ...]
    ttl_seconds: float | None
    """The feed's own <ttl> (RSS) in seconds, when it declares one."""


@dataclass(frozen=True, slots=True)
class Content:
    """What is versioned: the normalized headline and body text, and their hash."""

    title: str
    text: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class Sighting:
    """An article as found: where, from which feed, what it says, from which source, and
    the further keys that lead to it (its entry's id key: `crawler.entries.entry_key`)."""

    url: str
    canonical_url: str
    feed_url: str
    content: Content
    source: str = "page"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Changes:
    """What differs between two versions (the `changes` object of an edited event)."""

    title: bool
    lead: bool
    body: bool
    chars_added: int
    chars_removed: int
    similarity: float
    diff: str
    sentences: dict[str, int] | None = None
    """`changes.sentences` ({"added", "deleted", "edited", "moved"}): None when not measured."""
    kinds: tuple[str, ...] | None = None
    """`changes.kinds` (`crawler.change_kinds.KINDS`): None when not measured."""


@dataclass(frozen=True, slots=True)
class PageCache:
    """What the check that found an article's current text learnt of its page
    (`crawler.store.page_cache`, `crawler.revalidation`)."""

    final_url: str
    """Where the page was read (after redirects): a 304 or the same bytes count only there."""
    digest: str
    """`crawler.revalidation.page_digest` of the body read there."""
    reader: str
    """What turned the body into text (`crawler.revalidation.reader_key`: the extractor
    version and the site rules): a 304 is worth nothing once it changed."""
    full_at: datetime
    """When the page was last fetched without validators and extracted."""
    etag: str | None = None
    last_modified: str | None = None
    skipped: int = 0
    """Checks answered from this entry (304, or the same bytes) since `full_at`."""


@dataclass(frozen=True, slots=True)
class AsSeen:
    """What a check of an article was decided on: the feed it was compared from and the
    version it was compared with. A write given it (`as_seen=`) is made only while the
    article is still so (`crawler.store.base`), else `StaleArticleError` and nothing."""

    tracked_feed: str
    current_version: int
    current_hash: str


@dataclass(frozen=True, slots=True)
class Article:
    """A tracked article as stored."""

    article_id: int
    canonical_url: str
    url: str
    feed_url: str
    first_seen_at: datetime
    current_version: int
    current_hash: str
    title: str
    deleted: bool
    check_count: int
    next_check_at: datetime | None
    collapse_count: int = 0
    """Consecutive checks whose extraction collapsed (see `Pipeline`)."""
    source: str = "page"
    """"page": versions come from the article's page; "feed": from its feed entry (the page
    cannot be fetched: robots.txt, 401, 403). One article never mixes the two."""
    extractor_version: int = 1
    """The newest extractor (`crawler.extract.version`) known to give `current_hash`: the one
    the current version was stored with, or a later one whose check found the same text."""
    gone_count: int = 0
    """Consecutive checks whose page answered 404/410 while the article was not deleted: the
    deletion is announced once `recheck.delete_checks` of them confirm it."""
    announced_version: int = 1
    """The version receivers were last told of (by an event, or a re-baseline standing for
    the version announced before it); below `current_version` after a silent flap."""
    entry_feed_url: str | None = None
    """For a feed-sourced article that moved away from the feed it was first seen in
    (`feed_url`, which stays): the feed whose entries it is compared with now (see
    `tracked_feed`). None: it never moved."""
    claimed_by: str | None = None
    """The lease owner this record was claimed for (`Store.claim_due_articles`), None for any
    other read. The writes that complete the check pass it on as their `lease_owner`."""
    page_cache: PageCache | None = None
    """For a claimed record: the article's page cache entry valid at the claim (read with it,
    so a re-check needs no read of its own), None when it had none. None for any other read
    (`Store.get_page_cache` then says)."""

    @property
    def tracked_feed(self) -> str:
        """The feed whose entries a feed-sourced article is compared with."""
        return self.entry_feed_url or self.feed_url

    @property
    def as_seen(self) -> AsSeen:
        """This record's state, as a write decided on it expects to find it."""
        return AsSeen(self.tracked_feed, self.current_version, self.current_hash)


@dataclass(frozen=True, slots=True)
class Version:
    article_id: int
    number: int
    content_hash: str
    title: str
    text: str
    fetched_at: datetime
    extractor_version: int = 1
    """The extractor (`crawler.extract.version`) this text was extracted with; 1 for versions
    stored before extractors were numbered."""


@dataclass(frozen=True, slots=True)
class VersionMark:
    """A stored version without its text: what deciding about a check needs of each one."""

    number: int
    content_hash: str
    fetched_at: datetime
    extractor_version: int = 1


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A detected change, ready to store: `payload` is the complete JSON body sent to receivers.

    `endpoints` are the URLs of the configured webhooks that want this event type; the store
    writes one pending delivery per endpoint in the same transaction as the event.
    """

    event_id: str
    event_type: str
    created_at: datetime
    payload: str
    endpoints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedState:
    feed_url: str
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    last_status: str | None
    last_error: str | None
    consecutive_errors: int
    next_poll_at: datetime | None
    entries: int | None = None
    """Entries in the last feed that parsed."""
    ttl_seconds: float | None = None
    """The longest gap between polls the feed or its server asked for (RSS `<ttl>`,
    Cache-Control max-age) as of its last answer that was not an error; None: neither."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to be sent to one endpoint."""

    delivery_id: int
    event_id: str
    event_type: str
    endpoint_url: str
    payload: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    status: str
    """"pending", "delivered", "failed" or "disabled" (the endpoint answered 410)."""
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class HostTurn:
    """A shared store's answer to one ask for a request turn on a host (fleet politeness):
    `token` when a turn was taken, else how long to wait before asking again."""

    token: str | None
    wait: float = 0.0
    """Seconds until the host's next start is allowed (0 when only its turns are all held)."""
    paused: bool = False
    """The wait is a pause the host asked for (Retry-After), not the spacing."""
