"""What one delivery attempt's answer means, and when to try again.

Pure functions: no I/O, no clock of their own, randomness passed in.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.kinds import DeliveryOutcome
from crawler.retry_after import parse_retry_after

JITTER = 0.2
"""Each retry gap is scaled by a random factor in [1 - JITTER, 1 + JITTER], so that receivers
coming back from an outage are not hit by every sender's backlog in the same second."""

MAX_RETRY_AFTER = 86400.0
"""A Retry-After beyond a day is taken as a day: a receiver must not park deliveries for ever."""

_HONOURS_RETRY_AFTER = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: DeliveryOutcome
    next_attempt_at: datetime | None
    error: str | None


def retry_gap(attempts_made: int, schedule: Sequence[float], rng: random.Random) -> float | None:
    """Seconds to wait before the next attempt after `attempts_made` failed ones: the
    schedule's entry `attempts_made - 1`, jittered. None when the schedule is exhausted."""
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    return schedule[attempts_made - 1] * rng.uniform(1 - JITTER, 1 + JITTER)


def decide(
    *,
    status: int | None,
    error: str | None,
    retry_after: str | None,
    attempts_made: int,
    schedule: Sequence[float],
    now: datetime,
    rng: random.Random,
) -> Decision:
    """The outcome of an attempt that got `status` (None: no answer, `error` says why).

    Only 2xx is success. A 3xx is a failure (redirects are never followed: a receiver cannot
    move deliveries to another target). 410 disables the endpoint. 429/503 with Retry-After
    push the next attempt at least that far out. Everything else retries on the schedule.
    """
    if status is not None and 200 <= status < 300:
        return Decision("delivered", None, None)
    if status == 410:
        return Decision("disabled", None, "HTTP 410 Gone: endpoint disabled")
    if status is not None:
        error = f"HTTP {status}" + (" redirect (not followed)" if 300 <= status < 400 else "")
    gap = retry_gap(attempts_made, schedule, rng)
    if gap is None:
        return Decision("failed", None, error)
    if status in _HONOURS_RETRY_AFTER:
        wait = parse_retry_after(retry_after, now, cap=MAX_RETRY_AFTER)
        if wait is not None:
            gap = max(gap, wait)
    return Decision("retry", now + timedelta(seconds=gap), error)
