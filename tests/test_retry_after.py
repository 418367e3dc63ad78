"""The one Retry-After parser, for the fetcher and the deliverer alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from crawler.retry_after import parse_retry_after

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
CAP = 3600.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Thu, 26 Nov 2026 12:01:00 GMT", 60.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        ("Thu, 26 Nov 2026 11:00:00 GMT", 0.0),  # in the past
        ("Thu, 26 Nov 2026 13:01:00 +0100", 60.0),  # a zone other than GMT is honoured
        ("Thu, 26 Nov 2026 12:01:00 -0000", 60.0),  # no zone: UTC, as HTTP dates are
        ("99999999", CAP),  # capped
        ("Fri, 26 Nov 2027 12:00:00 GMT", CAP),
        ("9" * 5000, CAP),  # too long for int(), not for a wait
        ("²", None),  # a digit to str.isdigit, not to float
        ("١٢", None),  # Arabic-Indic digits: not delay-seconds
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW, cap=CAP) == expected


def test_a_date_without_a_zone_is_utc_whatever_zone_now_is_written_in() -> None:
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert parse_retry_after("Thu, 26 Nov 2026 12:01:00 -0000", paris, cap=CAP) == 60.0
