"""Conversions between SQLite column values and the crawler's records.

Kept apart from the store so the encoding rules (time format, text compression) live in one
place and can be tested without a database.
"""

from __future__ import annotations

import sqlite3
import zlib
from datetime import UTC, datetime

from crawler.models import Article, Delivery, FeedState, Version

# Fixed width, so that text order in SQL is time order (indexes on due times rely on it).
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# First byte of a stored version text: how the rest is encoded. New formats get a new marker;
# old rows stay readable.
_TEXT_ZLIB = b"z"
_TEXT_PLAIN = b"u"
_COMPRESS_FROM = 64  # shorter texts grow when compressed


def encode_time(value: datetime) -> str:
    """A timezone-aware datetime as stored. Raises ValueError for a naive datetime: guessing
    its zone would silently shift every due time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware times")
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def encode_time_opt(value: datetime | None) -> str | None:
    return None if value is None else encode_time(value)


def decode_time(value: str) -> datetime:
    return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)


def decode_time_opt(value: str | None) -> datetime | None:
    return None if value is None else decode_time(value)


def encode_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) < _COMPRESS_FROM:
        return _TEXT_PLAIN + raw
    return _TEXT_ZLIB + zlib.compress(raw, 6)


def decode_payload(stored: str | bytes) -> str:
    """An event payload: compressed like version texts since schema 4, plain text before."""
    return stored if isinstance(stored, str) else decode_text(bytes(stored))


def decode_text(blob: bytes) -> str:
    marker, body = blob[:1], blob[1:]
    if marker == _TEXT_ZLIB:
        return zlib.decompress(body).decode("utf-8")
    if marker == _TEXT_PLAIN:
        return body.decode("utf-8")
    raise ValueError(f"unknown stored text format {marker!r}")


ARTICLE_COLUMNS = (
    "a.id, a.canonical_url, a.url, a.feed_url, a.first_seen_at, a.current_version, "
    "a.current_hash, a.title, a.deleted, a.check_count, a.next_check_at, a.collapse_count, "
    "a.source, a.extractor_version"
)


def row_to_article(row: sqlite3.Row) -> Article:
    return Article(
        article_id=int(row["id"]),
        canonical_url=row["canonical_url"],
        url=row["url"],
        feed_url=row["feed_url"],
        first_seen_at=decode_time(row["first_seen_at"]),
        current_version=int(row["current_version"]),
        current_hash=row["current_hash"],
        title=row["title"],
        deleted=bool(row["deleted"]),
        check_count=int(row["check_count"]),
        next_check_at=decode_time_opt(row["next_check_at"]),
        collapse_count=int(row["collapse_count"]),
        source=row["source"],
        extractor_version=int(row["extractor_version"]),
    )


def row_to_version(row: sqlite3.Row) -> Version:
    return Version(
        article_id=int(row["article_id"]),
        number=int(row["number"]),
        content_hash=row["content_hash"],
        title=row["title"],
        text=decode_text(bytes(row["text"])),
        fetched_at=decode_time(row["fetched_at"]),
        extractor_version=int(row["extractor_version"]),
    )


def row_to_feed_state(row: sqlite3.Row) -> FeedState:
    return FeedState(
        feed_url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_polled_at=decode_time_opt(row["last_polled_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        consecutive_errors=int(row["consecutive_errors"]),
        next_poll_at=decode_time_opt(row["next_poll_at"]),
        entries=row["last_entries"],
    )


DELIVERY_COLUMNS = (
    "d.id, d.event_id, e.type, d.endpoint_url, e.payload, d.attempts, d.created_at, "
    "d.next_attempt_at, d.status, d.last_status, d.last_error"
)


def row_to_delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        delivery_id=int(row["id"]),
        event_id=row["event_id"],
        event_type=row["type"],
        endpoint_url=row["endpoint_url"],
        payload=decode_payload(row["payload"]),
        attempts=int(row["attempts"]),
        created_at=decode_time(row["created_at"]),
        next_attempt_at=decode_time_opt(row["next_attempt_at"]),
        status=row["status"],
        last_status=None if row["last_status"] is None else int(row["last_status"]),
        last_error=row["last_error"],
    )
