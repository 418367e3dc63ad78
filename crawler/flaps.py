"""Flapping: a page alternating between versions it already had. Pure.

A/B tests and CDN replicas out of sync make some pages switch between two texts for hours.
Announcing each switch would bury the real edits, so a return to a version that was current
recently is recorded silently; a return after the window is an explicit revert, announced.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from crawler.models import Version, VersionMark


def returns_to_recent_version(versions: Sequence[Version | VersionMark], content_hash: str,
                              now: datetime, window_seconds: float,
                              extractor_version: int) -> bool:
    """True when `content_hash` is an earlier version that stopped being current less than
    `window_seconds` ago. `versions` are the stored versions, oldest first (the last one is
    current and differs from `content_hash`).

    Only a change between two versions stored by `extractor_version` (the current extractor)
    counts: a re-baseline after an extractor upgrade is no change of the page, so the version
    it replaced must not become a "recent" target that silences a real edit back to its text.
    """
    if window_seconds <= 0:
        return False
    since = now - timedelta(seconds=window_seconds)
    for earlier, successor in itertools.pairwise(versions):
        if (earlier.content_hash == content_hash and successor.fetched_at >= since
                and earlier.extractor_version == successor.extractor_version
                == extractor_version):
            return True
    return False
