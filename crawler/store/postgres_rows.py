"""Conversions between PostgreSQL rows (dicts, `timestamptz` as datetimes) and the crawler's
records: only how a stored time is read is PostgreSQL's own; the records and the text
encoding are shared with SQLite (`records.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.store.records import RowReader, as_utc


def utc(value: datetime) -> datetime:
    """A timezone-aware datetime as stored (UTC). Raises ValueError for a naive datetime."""
    return as_utc(value)


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def _read_time(value: datetime) -> datetime:
    # The session's zone is UTC, but as a ZoneInfo: records carry datetime.UTC like SQLite's.
    return value.astimezone(UTC)


ROWS = RowReader(_read_time)
