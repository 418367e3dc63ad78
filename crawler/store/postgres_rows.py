"""Conversions between PostgreSQL rows (dicts, `timestamptz` as datetimes) and the crawler's
records: only how a stored time is read is PostgreSQL's own; the records and the text
encoding are shared with SQLite (`records.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.store.records import (
    ARTICLE_COLUMNS,
    DELIVERY_COLUMNS,
    ENDPOINT_COLUMNS,
    RowReader,
    as_utc,
    decode_payload,
    decode_text,
    encode_text,
)

__all__ = [
    "ARTICLE_COLUMNS",
    "DELIVERY_COLUMNS",
    "ENDPOINT_COLUMNS",
    "ROWS",
    "decode_payload",
    "decode_text",
    "encode_text",
    "row_to_article",
    "row_to_delivery",
    "row_to_endpoint",
    "row_to_feed_state",
    "row_to_version",
    "row_to_version_mark",
    "utc",
    "utc_opt",
]

def utc(value: datetime) -> datetime:
    """A timezone-aware datetime as stored (UTC). Raises ValueError for a naive datetime."""
    return as_utc(value)


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def _read_time(value: datetime) -> datetime:
    # The session's zone is UTC, but as a ZoneInfo: records carry datetime.UTC like SQLite's.
    return value.astimezone(UTC)


ROWS = RowReader(_read_time)
_READ = ROWS
row_to_article = _READ.article
row_to_version = _READ.version
row_to_version_mark = _READ.version_mark
row_to_feed_state = _READ.feed_state
row_to_delivery = _READ.delivery
row_to_endpoint = _READ.endpoint
