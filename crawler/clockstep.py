"""Surviving steps of the wall clock (NTP correcting a wrong clock, an operator's `date -s`, a
VM resumed from a snapshot).

Due times are stored as wall-clock times, so a step leaves them wrong: after a step back of an
hour every stored due time is an hour further away than it was scheduled; after a step ahead
and back (a clock briefly two days fast) every row written meanwhile is two days ahead. Two
repairs, both cheap and both harmless when the clock did not move:

- `clamp_due`: a due time whose row was written "in the future" (its write time is later than
  now: the clock went back since) keeps the gap it was given, counted from now; and no due
  time is ever further than the largest gap its kind can be given (`DueCaps`). The store
  applies it to every row (`Store.clamp_due_times`) at start and on every pass.
- `ClockWatch`: the daemon's own timing runs on the monotonic clock; comparing it with the
  wall clock tells when the wall clock stepped, so the clamp runs at once rather than at the
  next pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.config import Settings
from crawler.schedule import MAX_FEED_BACKOFF, MAX_FEED_TTL
from crawler.webhooks.retry import JITTER, MAX_RETRY_AFTER

# A wall clock that moved this much more (or less) than the monotonic one has stepped; below
# it is drift or a busy loop, which NTP slews and nothing needs to repair.
STEP_THRESHOLD = 2.0


@dataclass(frozen=True, slots=True)
class DueCaps:
    """The largest gap, in seconds, each kind of due time can be given from now."""

    feed_poll: float
    article_check: float
    delivery_attempt: float
    endpoint_probe: float


def caps_for(settings: Settings, *, collapse_retry: float = 300.0) -> DueCaps:
    """The caps the config allows: a feed's backoff or ttl, the longest re-check interval (or
    a collapse's quick retry), the longest retry rung with its jitter or a receiver's capped
    Retry-After, and one probe interval."""
    intervals = [f.interval for f in settings.feeds] or [0.0]
    delivery = settings.delivery
    return DueCaps(
        feed_poll=max(MAX_FEED_BACKOFF, MAX_FEED_TTL, *intervals),
        article_check=max(*settings.recheck.intervals, collapse_retry),
        delivery_attempt=max(max(delivery.retry_schedule, default=0.0) * (1 + JITTER),
                             MAX_RETRY_AFTER),
        endpoint_probe=delivery.probe_every,
    )


def clamp_due(due: datetime, written_at: datetime | None, now: datetime,
              cap: float) -> datetime:
    """Where a stored due time belongs at `now`: `due` unless the row was written after `now`
    (the clock went back; the gap it was given then is kept, from now) or it lies beyond
    `now + cap`. A due time already reached stays as it is; applying it twice changes
    nothing more."""
    if due <= now:
        return due
    # Every write schedules at or after its own time; a due time before its write time is
    # one repaired already (clamping twice must not pull it in to now).
    if written_at is not None and now < written_at <= due:
        due = now + (due - written_at)
    return min(due, now + timedelta(seconds=cap))


class ClockWatch:
    """Tells when the wall clock stepped, by how much it moved against the monotonic clock
    since the last look."""

    def __init__(self, wall: Callable[[], datetime], *,
                 monotonic: Callable[[], float] = time.monotonic,
                 threshold: float = STEP_THRESHOLD) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._threshold = threshold
        self._offset = self._read()

    def _read(self) -> float:
        return self._wall().timestamp() - self._monotonic()

    def stepped(self) -> float | None:
        """Seconds the wall clock stepped since the last call (positive: ahead), or None."""
        offset = self._read()
        step = offset - self._offset
        self._offset = offset
        return step if abs(step) >= self._threshold else None
