"""Conversions between PostgreSQL rows (dicts, `timestamptz` as datetimes) and the crawler's
records. Texts and payloads are encoded exactly as on SQLite (`sqlite_rows.encode_text`):
one format, so a text reads the same whichever store kept it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.models import Article, Delivery, FeedState, Version
from crawler.store.sqlite_rows import decode_payload, decode_text, encode_text
from crawler.webhooks.health import EndpointState

__all__ = [
    "ARTICLE_COLUMNS",
    "DELIVERY_COLUMNS",
    "ENDPOINT_COLUMNS",
    "decode_payload",
    "decode_text",
    "encode_text",
    "row_to_article",
    "row_to_delivery",
    "row_to_endpoint",
    "row_to_feed_state",
    "row_to_version",
    "utc",
    "utc_opt",
]

Row = dict[str, Any]


def utc(value: datetime) -> datetime:
    """A timezone-aware datetime as stored (UTC). Raises ValueError for a naive datetime, as
    the SQLite store does: guessing its zone would silently shift every due time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware times")
    return value.astimezone(UTC)


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def _read_time(value: datetime) -> datetime:
    # The session's zone is UTC, but as a ZoneInfo: records carry datetime.UTC like SQLite's.
    return value.astimezone(UTC)


def _read_time_opt(value: datetime | None) -> datetime | None:
    return None if value is None else _read_time(value)


ARTICLE_COLUMNS = (
    "a.id, a.canonical_url, a.url, a.feed_url, a.first_seen_at, a.current_version, "
    "a.current_hash, a.title, a.deleted, a.check_count, a.next_check_at, a.collapse_count, "
    "a.source, a.extractor_version"
)


def row_to_article(row: Row) -> Article:
    return Article(
        article_id=int(row["id"]),
        canonical_url=row["canonical_url"],
        url=row["url"],
        feed_url=row["feed_url"],
        first_seen_at=_read_time(row["first_seen_at"]),
        current_version=int(row["current_version"]),
        current_hash=row["current_hash"],
        title=row["title"],
        deleted=bool(row["deleted"]),
        check_count=int(row["check_count"]),
        next_check_at=_read_time_opt(row["next_check_at"]),
        collapse_count=int(row["collapse_count"]),
        source=row["source"],
        extractor_version=int(row["extractor_version"]),
    )


def row_to_version(row: Row) -> Version:
    return Version(
        article_id=int(row["article_id"]),
        number=int(row["number"]),
        content_hash=row["content_hash"],
        title=row["title"],
        text=decode_text(bytes(row["text"])),
        fetched_at=_read_time(row["fetched_at"]),
        extractor_version=int(row["extractor_version"]),
    )


def row_to_feed_state(row: Row) -> FeedState:
    return FeedState(
        feed_url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_polled_at=_read_time_opt(row["last_polled_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        consecutive_errors=int(row["consecutive_errors"]),
        next_poll_at=_read_time_opt(row["next_poll_at"]),
        entries=row["last_entries"],
    )


DELIVERY_COLUMNS = (
    "d.id, d.event_id, e.type, d.endpoint_url, e.payload, d.attempts, d.created_at, "
    "d.next_attempt_at, d.status, d.last_status, d.last_error"
)


def row_to_delivery(row: Row) -> Delivery:
    return Delivery(
        delivery_id=int(row["id"]),
        event_id=row["event_id"],
        event_type=row["type"],
        endpoint_url=row["endpoint_url"],
        payload=decode_payload(bytes(row["payload"])),
        attempts=int(row["attempts"]),
        created_at=_read_time(row["created_at"]),
        next_attempt_at=_read_time_opt(row["next_attempt_at"]),
        status=row["status"],
        last_status=None if row["last_status"] is None else int(row["last_status"]),
        last_error=row["last_error"],
    )


ENDPOINT_COLUMNS = "url, failing_since, paused_at, disabled_at, next_probe_at, reason"


def row_to_endpoint(row: Row) -> EndpointState:
    return EndpointState(
        url=row["url"],
        failing_since=_read_time_opt(row["failing_since"]),
        paused_at=_read_time_opt(row["paused_at"]),
        disabled_at=_read_time_opt(row["disabled_at"]),
        next_probe_at=_read_time_opt(row["next_probe_at"]),
        reason=row["reason"],
    )

