"""The `Retry-After` header (RFC 9110, section 10.2.3) as seconds to wait. Pure.

One parser for both sides that honour it: the fetcher (a site pausing us) and the deliverer
(a webhook receiver asking for a later attempt). Each caller caps the wait at what it can
afford to give: a receiver's backlog may wait hours, a site cannot park a host for as long.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime, *, cap: float) -> float | None:
    """Seconds from `now` that `value` (delay-seconds or an HTTP date) asks to wait, at most
    `cap`; None when absent or unusable. A date in the past gives 0.

    Only ASCII digits count as delay-seconds (other Unicode digits are not numbers to
    `float`), and a date without a zone ("-0000") is in UTC, as every HTTP date is."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # float, not int: a string of thousands of digits is just a long wait (int() refuses
        # it, and an int that large does not fit a float).
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), cap)
