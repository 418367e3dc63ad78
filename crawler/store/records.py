"""Rows to records, the same for every store: the columns each record is read from, and one
reader per store that differs only in how a stored time becomes a datetime.

Also the one encoding of version texts and event payloads (a marker byte, then zlib or plain
UTF-8), so a text reads the same whichever store kept it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from crawler.kinds import EndpointState
from crawler.models import Article, Delivery, FeedState, PageCache, Version, VersionMark

# First byte of a stored version text: how the rest is encoded. New formats get a new marker;
# old rows stay readable.
_TEXT_ZLIB = b"z"
_TEXT_PLAIN = b"u"
_COMPRESS_FROM = 64  # shorter texts grow when compressed
# zlib's fastest level: a new article's text and its event's payload are each compressed once
# on the loop, and level 6 took 0.54 ms a 20 KB text (level 1: 0.17 ms) for 4% fewer bytes
# (article texts of 2-4 KB: 5%, at about the same cost). Any level reads back alike.
_ZLIB_LEVEL = 1

ARTICLE_COLUMNS = (
    "a.id, a.canonical_url, a.url, a.feed_url, a.first_seen_at, a.current_version, "
    "a.current_hash, a.title, a.deleted, a.check_count, a.next_check_at, a.collapse_count, "
    "a.source, a.extractor_version, a.gone_count, a.announced_version, a.entry_feed_url"
)
# An article's page cache entry (`crawler.store.page_cache`), read beside it: valid only while
# the article's check count is the one the entry's own write left, and the article is not
# deleted. `PAGE_CACHE_JOIN` joins `page_cache p` to `articles a` on that; a LEFT JOIN gives
# NULL columns for an article without a valid entry.
PAGE_CACHE_COLUMNS = (
    "p.final_url AS page_final_url, p.digest AS page_digest, p.reader AS page_reader, "
    "p.full_at AS page_full_at, p.etag AS page_etag, p.last_modified AS page_last_modified, "
    "p.skipped AS page_skipped"
)
PAGE_CACHE_JOIN = (
    "page_cache p ON p.article_id = a.id AND p.check_count = a.check_count AND NOT a.deleted"
)
DELIVERY_COLUMNS = (
    "d.id, d.event_id, e.type, d.endpoint_url, e.payload, d.attempts, d.created_at, "
    "d.next_attempt_at, d.status, d.last_status, d.last_error"
)
ENDPOINT_COLUMNS = "url, failing_since, paused_at, disabled_at, next_probe_at, reason"

class Row(Protocol):
    """A row read by column name: `sqlite3.Row`, or psycopg's dict rows."""

    def __getitem__(self, key: str, /) -> Any: ...


# A delivery attempt's outcome and the status its row takes.
_OUTCOME_STATUS = {
    "delivered": "delivered",
    "retry": "pending",
    "failed": "failed",
    "disabled": "disabled",
}


def attempt_status(outcome: str, next_attempt_at: datetime | None) -> str:
    """The delivery status an attempt's `outcome` leads to. Raises ValueError for an unknown
    outcome or a "retry" without a next attempt."""
    status = _OUTCOME_STATUS.get(outcome)
    if status is None:
        raise ValueError(f"unknown delivery outcome {outcome!r}")
    if outcome == "retry" and next_attempt_at is None:
        raise ValueError("a retry needs next_attempt_at")
    return status


def as_utc(value: datetime) -> datetime:
    """`value` in UTC. Raises ValueError for a naive datetime: guessing its zone would silently
    shift every due time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware times")
    return value.astimezone(UTC)


def encode_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) < _COMPRESS_FROM:
        return _TEXT_PLAIN + raw
    return _TEXT_ZLIB + zlib.compress(raw, _ZLIB_LEVEL)


def decode_text(blob: bytes) -> str:
    marker, body = blob[:1], blob[1:]
    if marker == _TEXT_ZLIB:
        return zlib.decompress(body).decode("utf-8")
    if marker == _TEXT_PLAIN:
        return body.decode("utf-8")
    raise ValueError(f"unknown stored text format {marker!r}")


def decode_payload(stored: str | bytes) -> str:
    """An event payload: compressed like version texts since schema 4, plain text before."""
    return stored if isinstance(stored, str) else decode_text(bytes(stored))


def deletion_status(payload: str) -> int | None:
    """The HTTP status an `article.deleted` event's payload carries (None if it has none)."""
    try:
        status = json.loads(payload)["data"]["status"]
    except (ValueError, KeyError, TypeError):
        return None
    return status if isinstance(status, int) else None


@dataclass(frozen=True, slots=True)
class RowReader:
    """Records from rows (anything indexable by column name)."""

    time: Callable[[Any], datetime]
    """A stored time (never None) as an aware UTC datetime."""

    def time_opt(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)

    def article(self, row: Row, *, claimed_by: str | None = None,
                page_cache: PageCache | None = None) -> Article:
        return Article(
            article_id=int(row["id"]),
            canonical_url=row["canonical_url"],
            url=row["url"],
            feed_url=row["feed_url"],
            first_seen_at=self.time(row["first_seen_at"]),
            current_version=int(row["current_version"]),
            current_hash=row["current_hash"],
            title=row["title"],
            deleted=bool(row["deleted"]),
            check_count=int(row["check_count"]),
            next_check_at=self.time_opt(row["next_check_at"]),
            collapse_count=int(row["collapse_count"]),
            source=row["source"],
            extractor_version=int(row["extractor_version"]),
            gone_count=int(row["gone_count"]),
            announced_version=int(row["announced_version"]),
            entry_feed_url=row["entry_feed_url"],
            claimed_by=claimed_by,
            page_cache=page_cache,
        )

    def claimed_article(self, row: Row, owner: str) -> Article:
        """An article claimed by `owner`, read with `ARTICLE_COLUMNS` and
        `PAGE_CACHE_COLUMNS` (LEFT JOIN `PAGE_CACHE_JOIN`)."""
        return self.article(row, claimed_by=owner, page_cache=self.page_cache(row))

    def page_cache(self, row: Row) -> PageCache | None:
        """The entry read with `PAGE_CACHE_COLUMNS`; None when the join found none."""
        if row["page_digest"] is None:
            return None
        return PageCache(final_url=row["page_final_url"], digest=row["page_digest"],
                         reader=row["page_reader"], full_at=self.time(row["page_full_at"]),
                         etag=row["page_etag"], last_modified=row["page_last_modified"],
                         skipped=int(row["page_skipped"]))

    def version(self, row: Row) -> Version:
        return Version(
            article_id=int(row["article_id"]),
            number=int(row["number"]),
            content_hash=row["content_hash"],
            title=row["title"],
            text=decode_text(bytes(row["text"])),
            fetched_at=self.time(row["fetched_at"]),
            extractor_version=int(row["extractor_version"]),
        )

    def version_mark(self, row: Row) -> VersionMark:
        return VersionMark(
            number=int(row["number"]),
            content_hash=row["content_hash"],
            fetched_at=self.time(row["fetched_at"]),
            extractor_version=int(row["extractor_version"]),
        )

    def feed_state(self, row: Row) -> FeedState:
        return FeedState(
            feed_url=row["url"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            last_polled_at=self.time_opt(row["last_polled_at"]),
            last_status=row["last_status"],
            last_error=row["last_error"],
            consecutive_errors=int(row["consecutive_errors"]),
            next_poll_at=self.time_opt(row["next_poll_at"]),
            entries=row["last_entries"],
            ttl_seconds=None if row["ttl_seconds"] is None else float(row["ttl_seconds"]),
        )

    def delivery(self, row: Row) -> Delivery:
        return Delivery(
            delivery_id=int(row["id"]),
            event_id=row["event_id"],
            event_type=row["type"],
            endpoint_url=row["endpoint_url"],
            payload=decode_payload(row["payload"]),
            attempts=int(row["attempts"]),
            created_at=self.time(row["created_at"]),
            next_attempt_at=self.time_opt(row["next_attempt_at"]),
            status=row["status"],
            last_status=None if row["last_status"] is None else int(row["last_status"]),
            last_error=row["last_error"],
        )

    def endpoint(self, row: Row) -> EndpointState:
        return EndpointState(
            url=row["url"],
            failing_since=self.time_opt(row["failing_since"]),
            paused_at=self.time_opt(row["paused_at"]),
            disabled_at=self.time_opt(row["disabled_at"]),
            next_probe_at=self.time_opt(row["next_probe_at"]),
            reason=row["reason"],
        )


# A pending delivery waits for every earlier pending delivery of the same article to the same
# endpoint, so a receiver gets an article's events in order (never an edit before its
# `article.new`, even when the `article.new` is waiting for a retry). For the claims and
# `next_delivery_due` of both stores, on the unaliased `deliveries` table; the lookups go
# through the indexes on events (article_id) and deliveries (event_id, endpoint_url), in
# that order: the delivery's event, the article's other events, their deliveries to the
# endpoint. CROSS JOIN makes SQLite keep that order (PostgreSQL plans it so anyway); left to
# itself SQLite scanned each endpoint's earlier pending deliveries first, which made the
# condition quadratic in the backlog (7.4 s for `next_delivery_due` with 6,400 pending).
IN_ARTICLE_ORDER = (
    "NOT EXISTS (SELECT 1 FROM events me CROSS JOIN events pe CROSS JOIN deliveries p"
    " WHERE me.id = deliveries.event_id AND pe.article_id = me.article_id"
    " AND p.event_id = pe.id AND p.endpoint_url = deliveries.endpoint_url"
    " AND p.status = 'pending' AND p.id < deliveries.id)"
)
