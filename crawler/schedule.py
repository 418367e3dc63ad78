"""When things are next due: article re-checks and feed polls. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from crawler.config import FeedSettings, RecheckSettings
from crawler.models import FeedState

# A failing feed is retried less and less often, up to this, so a dead site is not hammered.
MAX_FEED_BACKOFF = 86400.0
# A feed's own <ttl> or max-age may ask for slower polling; never slower than this.
MAX_FEED_TTL = 6 * 3600.0


def next_recheck(first_seen: datetime, checks_done: int, now: datetime,
                 recheck: RecheckSettings) -> datetime | None:
    """The next re-check after `checks_done` re-checks, or None once past `max_age`.

    The gap before re-check n (1-based) is intervals[n-1]; the last interval repeats.
    """
    gap = recheck.intervals[min(checks_done, len(recheck.intervals) - 1)]
    due = now + timedelta(seconds=gap)
    if due > first_seen + timedelta(seconds=recheck.max_age):
        return None
    return due


def next_feed_poll(now: datetime, interval: float, *, consecutive_errors: int,
                   ttl_seconds: float | None = None) -> datetime:
    """When a feed may be polled again: its interval, stretched by its own ttl (capped) and
    doubled per consecutive failure (capped)."""
    gap = interval
    if ttl_seconds:
        gap = max(gap, min(ttl_seconds, MAX_FEED_TTL))
    if consecutive_errors > 0:
        gap = min(interval * 2 ** min(consecutive_errors, 16), max(MAX_FEED_BACKOFF, interval))
    return now + timedelta(seconds=gap)


def polls_due_under(feeds: Iterable[FeedSettings],
                    states: Iterable[FeedState]) -> dict[str, datetime]:
    """For each configured feed polled before, when the config in force has it polled next,
    counted from its last poll: its interval, the gap it asked for (`FeedState.ttl_seconds`,
    while `respect_ttl` is on) and its backoff, as the poll itself schedules it. A config
    that shortened an interval (or turned `respect_ttl` off) makes this sooner than the
    stored due time, which was counted with the old one; the same config gives the same
    time, so it is safe to apply at every start and reload (`Store.sync_feeds`' `due_by`
    only ever moves a due time sooner)."""
    by_url = {feed.url: feed for feed in feeds}
    due: dict[str, datetime] = {}
    for state in states:
        feed = by_url.get(state.feed_url)
        if feed is None or state.last_polled_at is None:
            continue
        due[feed.url] = next_feed_poll(
            state.last_polled_at, feed.interval, consecutive_errors=state.consecutive_errors,
            ttl_seconds=state.ttl_seconds if feed.respect_ttl else None)
    return due
