"""Flapping: a page alternating between versions it already had. Pure.

A/B tests and CDN replicas out of sync make some pages switch between two texts for hours.
Announcing each switch would bury the real edits, so a return to a version that was current
recently is recorded silently; a return after the window is an explicit revert, announced.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from crawler.models import Version


def returns_to_recent_version(versions: Sequence[Version], content_hash: str, now: datetime,
                              window_seconds: float) -> bool:
    """True when `content_hash` is an earlier version that stopped being current less than
    `window_seconds` ago. `versions` are the stored versions, oldest first (the last one is
    current and differs from `content_hash`)."""
    if window_seconds <= 0:
        return False
    since = now - timedelta(seconds=window_seconds)
    for earlier, successor in itertools.pairwise(versions):
        if earlier.content_hash == content_hash and successor.fetched_at >= since:
            return True
    return False
