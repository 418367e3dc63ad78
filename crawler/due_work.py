"""Due feed polls and article re-checks, claimed from the store under leases and run
(DESIGN.md: "What is due lives in the database ... A claim is a lease").

The daemon's periodic jobs call `claim_feeds` / `claim_checks` and run each claimed unit as its
own task (`poll` / `check`), so a slow feed never holds up the others; `crawler once` runs the
re-checks to the end with `check_all_due`. Every unit completes its claim
with the write that records it; a unit that fails in an unexpected way is still moved to its
next due time, and work given up (a stop, a reload that removed a feed) is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime

import structlog

from crawler.config import Settings
from crawler.leases import LeaseKeeper
from crawler.log_context import unit
from crawler.models import Article, FeedState
from crawler.pipeline import CheckOutcome, Pipeline, PollOutcome
from crawler.store import LeaseLostError

log = structlog.get_logger(__name__)

# Feed polls (each following its new entries) one process runs at once.
FEED_POLLS_AT_ONCE = 32
# At least this many polls of one feed host may be under lease at once (fleet-wide), however
# few requests the fetcher lets run on it (`feed_polls_per_host`).
FEED_POLLS_PER_HOST = FEED_POLLS_AT_ONCE // 4


def feed_polls_per_host(settings: Settings) -> int:
    """How many polls of one host's feeds may be under lease at once. A poll holds its slot
    while it fetches its feed and while it follows the feed's new entries: the feeds of one
    slow or polite site (a Crawl-delay, a Retry-After) must not take every slot and leave
    other sites' feeds waiting, but an aggregator's feeds (one host; entries on many
    publishers' sites) must not be polled two at a time either, as capping them at the
    fetcher's per-host concurrency would. A quarter of the slots bounds the first and spares
    the second."""
    return max(settings.fetch.per_host_concurrency, FEED_POLLS_PER_HOST)
# Polls one claim takes: small, so that members of a fleet take turns at what falls due (the
# daemon claims again at once while it gets full batches and is not busy).
FEED_CLAIM_BATCH = 4
# Re-checks one process runs at once (page fetches are further limited per host and overall by
# the fetcher).
CHECKS_AT_ONCE = 16
# Seconds the event loop may take to come back to a task that yields, above which the process
# counts as saturated and claims no more feed polls (see `claim_feeds`). An idle loop answers
# in microseconds; one working through pages of new articles in tens to hundreds of ms.
BUSY_LAG = 0.05


async def loop_lag() -> float:
    """How long the event loop takes to come back to a task that yields: the time to run
    everything that is ready before it."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(0)
    return loop.time() - started


class DueWork:
    def __init__(self, pipeline: Pipeline, *, feeds: LeaseKeeper, articles: LeaseKeeper,
                 settings: Callable[[], Settings], clock: Callable[[], datetime]) -> None:
        self._pipeline = pipeline
        self._feeds = feeds
        self._articles = articles
        self._settings = settings
        self._clock = clock

    @property
    def polls_running(self) -> int:
        """Feed polls this process has claimed and not finished."""
        return self._feeds.count

    @property
    def busy(self) -> bool:
        """Claimed work is still running."""
        return bool(self._feeds.count or self._articles.count)

    # --- feeds -------------------------------------------------------------------------------
    async def claim_feeds(self) -> list[FeedState]:
        """Claim up to `FEED_CLAIM_BATCH` of the due feed polls this process has room for
        (one while others are running):
        none when it is full, and none while its event loop is saturated (`loop_lag` over
        `BUSY_LAG`: extracting the new articles of the polls it has): in a fleet, a member
        with spare capacity then takes them, instead of the first to claim doing every
        feed's new articles (measured: one of two daemons did 83-95% of the work). Polls
        waiting on slow or polite hosts leave the loop idle, so they never hold up the
        others, and at most `feed_polls_per_host` polls of one host (the feed URL's) are
        under lease at a time. Alone, a saturated daemon takes its next polls as soon as
        it has caught up."""
        # One at a time once polls are running: a feed's new articles are a large unit of
        # work, and members of a fleet that each take a batch of them split the work by
        # chance (measured: 72/28 in two runs of three; 50/50 one at a time, with the pause
        # between claims growing with the polls running, `Daemon._claim_feeds`).
        batch = FEED_CLAIM_BATCH if self._feeds.count == 0 else 1
        room = min(FEED_POLLS_AT_ONCE - self._feeds.count, batch)
        if room <= 0 or await loop_lag() > BUSY_LAG:
            return []
        keeper = self._feeds
        claimed = await keeper.store.claim_due_feeds(
            keeper.owner, self._clock(), limit=room, lease_seconds=keeper.timing.seconds,
            per_host=feed_polls_per_host(self._settings()))
        keeper.hold(s.feed_url for s in claimed)
        return claimed

    async def poll(self, state: FeedState) -> PollOutcome | None:
        """Poll a claimed feed and complete its claim; None when there was nothing to do (the
        feed left the config since, or the claim was lost)."""
        url = state.feed_url
        feed = next((f for f in self._settings().feeds if f.url == url), None)
        if feed is None:
            await self._feeds.release([url])
            return None
        try:
            return await self._pipeline.poll_feed(feed, lease_owner=self._feeds.owner)
        except LeaseLostError:
            log.warning("lease_lost", kind="feed", key=url, owner=self._feeds.owner,
                        note="the poll was taken over after its lease expired; not recorded")
            return None
        except asyncio.CancelledError:
            await self._feeds.release([url])
            raise
        except Exception as exc:
            # A bug: the feed still backs off, rather than being claimed again at once.
            log.exception("feed_poll_crashed", feed=url)
            try:
                with unit(feed=url):
                    return await self._pipeline.feed_failed(
                        feed, f"internal error: {exc!r}", state.consecutive_errors,
                        lease_owner=self._feeds.owner)
            except LeaseLostError:
                return None
        finally:
            self._feeds.done(url)

    # --- re-checks ---------------------------------------------------------------------------
    async def claim_checks(self) -> list[Article]:
        """Claim the due re-checks this process has room for, at most
        `fetch.per_host_concurrency` under lease per host at a time."""
        room = CHECKS_AT_ONCE - self._articles.count
        if room <= 0:
            return []
        keeper = self._articles
        claimed = await keeper.store.claim_due_articles(
            keeper.owner, self._clock(), limit=room, lease_seconds=keeper.timing.seconds,
            per_host=self._settings().fetch.per_host_concurrency)
        keeper.hold(a.article_id for a in claimed)
        return claimed

    async def check(self, article: Article) -> CheckOutcome:
        """Re-check a claimed article and complete its claim."""
        try:
            return await self._pipeline.check_article(article)
        except LeaseLostError:
            log.warning("lease_lost", kind="article", key=article.article_id,
                        owner=self._articles.owner,
                        note="the check was taken over after its lease expired; not recorded")
            return CheckOutcome(ok=True, result="lease_lost")
        except asyncio.CancelledError:
            await self._articles.release([article.article_id])
            raise
        except Exception:
            # A bug must not stop the other checks nor leave this one due forever.
            log.exception("check_crashed", url=article.url)
            with suppress(LeaseLostError):
                await self._pipeline.reschedule(article)
            return CheckOutcome(ok=False, result="error")
        finally:
            self._articles.done(article.article_id)

    async def check_all_due(self) -> list[CheckOutcome]:
        """Claim and run re-checks until none is due (`crawler once`). Every check moves its
        article's next check into the future, so this ends. Room is claimed again as soon as
        a check ends, not once a whole batch has: a batch waited for its slowest host, and one
        host answering in a second held up every other site's checks (measured: the others
        finished five times later)."""
        outcomes: list[CheckOutcome] = []
        running: set[asyncio.Task[CheckOutcome]] = set()
        try:
            while True:
                for article in await self.claim_checks():
                    running.add(asyncio.ensure_future(self.check(article)))
                if not running:
                    return outcomes
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                outcomes.extend(task.result() for task in done)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
