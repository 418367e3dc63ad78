"""The two clocks every part reads: the wall clock in UTC (stored times, due times) and the
monotonic one for how long something took."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, time-zone aware, in UTC: the default clock of every part that takes one."""
    return datetime.now(UTC)


def ms_since(started: float) -> float:
    """Milliseconds since `started` (a `time.perf_counter()` reading), to a tenth, for logs."""
    return round((time.perf_counter() - started) * 1000, 1)
