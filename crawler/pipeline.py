"""The data path from a feed to stored versions and events (DESIGN.md, "One path for the data").

`Pipeline` fetches feeds and pages and extracts articles; what a result means for the stored
history is the `Recorder`'s business. Each public method handles one unit of work, never raises
for a bad feed or page (the failure is logged and reported in the returned outcome) and leaves
the store consistent when cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from crawler.budget import Offload, OverBudgetError
from crawler.clock import utc_now
from crawler.config import FeedSettings, Settings
from crawler.entries import EntryFollower
from crawler.feeds import FeedParseError
from crawler.fetch import Fetcher, FetchError, Response
from crawler.identity import article_identity
from crawler.log_context import unit, unit_ms
from crawler.metrics import Metrics
from crawler.models import Article, Content
from crawler.pages import rules_for
from crawler.recheck import Rechecks
from crawler.recorder import CheckOutcome, Recorder
from crawler.refusals import Refusals
from crawler.schedule import next_feed_poll
from crawler.sightings import Sightings
from crawler.store import Store

__all__ = ["CheckOutcome", "Pipeline", "PollOutcome", "utc_now"]

log = structlog.get_logger(__name__)

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
               "text/xml;q=0.8, */*;q=0.5")


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_url: str
    ok: bool
    status: str
    entries: int = 0
    new_articles: int = 0
    failed_pages: int = 0
    error: str | None = None


class Pipeline:
    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher, *,
                 clock: Callable[[], datetime] = utc_now,
                 on_event: Callable[[], None] | None = None,
                 metrics: Metrics | None = None, offload: Offload | None = None) -> None:
        """`offload`: where extraction and diffing of big inputs run (see `crawler.budget`);
        None runs everything inline."""
        self._settings = settings
        # Asked for each entry a feed-sourced article has in another feed: built per config.
        self._feed_urls = frozenset(feed.url for feed in settings.feeds)
        self._store = store
        self._fetcher = fetcher
        self._clock = clock
        self._metrics = metrics or Metrics(process_metrics=False)
        self._offload = offload or Offload(None)
        self._recorder = Recorder(store, lambda: self._settings, clock=clock,
                                  metrics=self._metrics, on_event=on_event or (lambda: None),
                                  classify=self._offload.classify)
        # The fetcher in use now: a reload that changes `[fetch]` replaces it.
        sightings = Sightings(lambda: self._fetcher, self._read_probe, self._metrics,
                              self._last_text)
        self._entries = EntryFollower(
            store, self._recorder, sightings,
            self._offload, fetch_page=self._fetch_page, over_budget=self._over_budget,
            extract=lambda page, title: self._extract(page, fallback_title=title),
            configured_feeds=lambda: self._feed_urls, clock=clock,
            refusals=Refusals(lambda: self._settings.recheck))
        self._rechecks = Rechecks(store, self._recorder, settings=lambda: self._settings,
                                  fetch=self._fetch_page, read=self._extract,
                                  offload=self._offload, metrics=self._metrics, clock=clock)

    def replace_settings(self, settings: Settings, fetcher: Fetcher | None = None) -> None:
        """Use a reloaded config (and, when `[fetch]` changed, a fetcher built from it) from
        the next request on."""
        self._settings = settings
        self._feed_urls = frozenset(feed.url for feed in settings.feeds)
        if fetcher is not None:
            self._fetcher = fetcher

    # --- feeds -------------------------------------------------------------------------------
    async def poll_feed(self, feed: FeedSettings, *,
                        lease_owner: str | None = None) -> PollOutcome:
        """Poll one feed now and follow its new entries. `lease_owner`: the poll completes a
        claim of the feed (`Store.claim_due_feeds`); the poll's record then raises
        `LeaseLostError` if the claim was lost meanwhile (the entries followed stay stored)."""
        with unit(feed=feed.url):
            return await self._poll(feed, lease_owner)

    async def _poll(self, feed: FeedSettings, lease_owner: str | None) -> PollOutcome:
        state = await self._store.get_feed_state(feed.url)
        now = self._clock()
        errors = state.consecutive_errors if state else 0
        try:
            response = await self._fetcher.fetch(
                feed.url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
                accept=FEED_ACCEPT,
            )
        except FetchError as exc:
            return await self.feed_failed(feed, str(exc), errors, lease_owner=lease_owner)
        if response.status == 304:
            # A 304 refreshes the answer it stands for: the gap that answer asked for holds
            # (RFC 9111, 4.3.4), unless this one asks for a longer one.
            asked = _asked_gap(state.ttl_seconds if state else None, response)
            await self._store.record_feed_poll(
                feed.url, polled_at=now, status="not_modified", error=None,
                etag=response.etag or (state.etag if state else None),
                last_modified=response.last_modified or (state.last_modified if state else None),
                next_poll_at=self._next_poll(feed, now, asked), lease_owner=lease_owner,
                ttl_seconds=asked,
            )
            self._metrics.feed_polled("not_modified")
            log.info("feed_polled", status="not_modified", http_status=304, entries=0,
                     new_articles=0, ms=unit_ms())
            return PollOutcome(feed.url, ok=True, status="not_modified")
        if response.status != 200:
            return await self.feed_failed(feed, f"HTTP {response.status}", errors,
                                          lease_owner=lease_owner)
        try:
            parsed = await self._offload.parse_feed(response.body, response.final_url)
        except (FeedParseError, OverBudgetError) as exc:
            return await self.feed_failed(feed, str(exc), errors, lease_owner=lease_owner)

        results = await self._entries.follow_all(
            feed, parsed.entries, at_once=self._settings.fetch.global_concurrency)
        new = sum(1 for r in results if r.result == "new")
        failed = sum(1 for r in results if not r.ok)
        # Entries whose page failed are retried on the next poll; with this answer's
        # validators stored, that poll would be a 304 and they would wait for the feed to change.
        etag, last_modified = response.etag, response.last_modified
        if failed:
            etag = state.etag if state else None
            last_modified = state.last_modified if state else None
        asked = _asked_gap(parsed.ttl_seconds, response)
        await self._store.record_feed_poll(
            feed.url, polled_at=now, status="ok", error=None,
            etag=etag, last_modified=last_modified,
            next_poll_at=self._next_poll(feed, now, asked),
            entries=len(parsed.entries), lease_owner=lease_owner, ttl_seconds=asked,
        )
        self._metrics.feed_polled("ok")
        log.info("feed_polled", status="ok", http_status=200, entries=len(parsed.entries),
                 new_articles=new, failed_pages=failed, ms=unit_ms())
        return PollOutcome(feed.url, ok=failed == 0, status="ok", entries=len(parsed.entries),
                           new_articles=new, failed_pages=failed)

    @staticmethod
    def _next_poll(feed: FeedSettings, polled_at: datetime, asked: float | None) -> datetime:
        return next_feed_poll(polled_at, feed.interval, consecutive_errors=0,
                              ttl_seconds=asked if feed.respect_ttl else None)

    async def feed_failed(self, feed: FeedSettings, error: str, errors: int, *,
                          lease_owner: str | None = None) -> PollOutcome:
        """Record a failed poll (`errors`: the consecutive errors before it): the next poll
        backs off. `lease_owner` as in `poll_feed`; logged with the time since the current
        unit of work began (`crawler.log_context`)."""
        now = self._clock()
        await self._store.record_feed_poll(
            feed.url, polled_at=now, status="error", error=error, etag=None, last_modified=None,
            next_poll_at=next_feed_poll(now, feed.interval, consecutive_errors=errors + 1),
            lease_owner=lease_owner,
        )
        self._metrics.feed_polled("error")
        log.warning("feed_failed", feed=feed.url, error=error, consecutive_errors=errors + 1,
                    ms=unit_ms())
        return PollOutcome(feed.url, ok=False, status="error", error=error)

    # --- re-checks ---------------------------------------------------------------------------
    async def check_article(self, article: Article) -> CheckOutcome:
        """Fetch a known article again and record what changed (`crawler.recheck`). A
        claimed article (`Article.claimed_by`) is recorded under its lease: `LeaseLostError`
        if it was lost, and then nothing is recorded."""
        return await self._rechecks.check(article)

    async def reschedule(self, article: Article) -> None:
        """Move a check that could not be made (a bug) to its next due time."""
        await self._recorder.reschedule(article)

    # --- helpers -----------------------------------------------------------------------------
    async def _fetch_page(self, url: str, *, etag: str | None = None,
                          last_modified: str | None = None) -> Response | FetchError:
        try:
            response = await self._fetcher.fetch(url, etag=etag, last_modified=last_modified)
        except FetchError as exc:
            self._metrics.page_fetched(exc.kind)
            log.warning("page_failed", error=str(exc), kind=exc.kind)
            return exc
        self._metrics.page_fetched(response.status)
        return response

    async def _last_text(self, article_id: int) -> str | None:
        last = await self._store.get_last_version(article_id)
        return None if last is None else last.text

    async def _read_probe(self, response: Response,
                          fallback_title: str) -> tuple[str, Content] | None:
        """A page fetched to verify another page's identity, read as a first sight (None
        when it could not be extracted within its budget)."""
        with structlog.contextvars.bound_contextvars(url=response.final_url, probe=True):
            return await self._extract(response, fallback_title=fallback_title)

    async def _extract(self, response: Response, *,
                       fallback_title: str) -> tuple[str, Content] | None:
        """The page's identity and content; None when it could not be extracted within its
        budget (logged; the caller records the check as failed, which backs it off)."""
        started = time.perf_counter()
        try:
            extracted, content = await self._offload.read_page(
                response.body, response.content_type, response.final_url,
                rules_for(self._settings, response.final_url), fallback_title=fallback_title)
        except OverBudgetError as exc:
            self._over_budget(str(exc))
            return None
        self._metrics.extraction_observed(time.perf_counter() - started)
        if extracted.fallback:
            # What was stored (or why nothing was) did not come from a body block as usual.
            log.info("extraction_fallback", url=response.final_url, reason=extracted.fallback)
        return article_identity(response.final_url, extracted.canonical_url), content

    def _over_budget(self, reason: str) -> None:
        self._metrics.page_fetched("over_budget")
        log.warning("extraction_over_budget", error=reason)


def _asked_gap(ttl_seconds: float | None, response: Response) -> float | None:
    """The longest gap between polls the feed (`ttl_seconds`: its <ttl>, or what an earlier
    answer asked for) or this answer's Cache-Control max-age asks for; None when neither
    does. Kept whether or not `respect_ttl` is on, so that turning it on needs no poll."""
    return max(ttl_seconds or 0.0, _max_age(response.headers.get("cache-control"))) or None


def _max_age(cache_control: str | None) -> float:
    """Seconds of `max-age` in a Cache-Control header (0 when absent or malformed)."""
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return float(value.strip())
    return 0.0
