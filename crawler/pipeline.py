"""The data path from a feed to stored versions and events (DESIGN.md, "One path for the data").

`Pipeline` is where fetching, extraction, change detection and the store meet. Each public
method handles one unit of work, never raises for a bad feed or page (the failure is logged and
reported in the returned outcome) and leaves the store consistent when cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from crawler import events
from crawler.config import FeedSettings, Settings
from crawler.diffing import describe_changes
from crawler.extract import extract_article
from crawler.feeds import FeedParseError, parse_feed
from crawler.fetch import Fetcher, FetchError, Response, decode_html
from crawler.identity import article_identity
from crawler.metrics import Metrics
from crawler.models import Article, Content, FeedEntry, SiteRules
from crawler.schedule import next_feed_poll, next_recheck
from crawler.store import ArticleExistsError, Store
from crawler.textnorm import make_content
from crawler.urls import host_of

log = structlog.get_logger(__name__)

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
               "text/xml;q=0.8, */*;q=0.5")
GONE_STATUSES = (404, 410)
# A re-check that loses this share of the text at once is treated as an extraction collapse
# (paywall, redesign, error page served with 200), not as an edit.
COLLAPSE_RATIO = 0.2
COLLAPSE_RETRY = 300.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_url: str
    ok: bool
    status: str
    entries: int = 0
    new_articles: int = 0
    failed_pages: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    ok: bool
    result: str
    """"new", "edited", "unchanged", "deleted", "gone", "collapsed", "empty" or "error"."""


class Pipeline:
    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher, *,
                 clock: Callable[[], datetime] = utc_now,
                 on_event: Callable[[], None] | None = None,
                 metrics: Metrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics or Metrics(process_metrics=False)
        self._store = store
        self._fetcher = fetcher
        self._clock = clock
        self._on_event = on_event or (lambda: None)
        # Two entries (or feeds) pointing to one page must not both create the article.
        self._url_locks: dict[str, asyncio.Lock] = {}

    def replace_settings(self, settings: Settings) -> None:
        """Use a reloaded config from the next unit of work on."""
        self._settings = settings

    # --- feeds -------------------------------------------------------------------------------
    async def poll_feed(self, feed: FeedSettings, *, force: bool = True) -> PollOutcome:
        """Poll one feed and follow its new entries. `force` False skips a feed whose stored
        `next_poll_at` (backoff, ttl) is still in the future."""
        started = time.perf_counter()
        bound = log.bind(feed=feed.url)
        state = await self._store.get_feed_state(feed.url)
        now = self._clock()
        if not force and state and state.next_poll_at and state.next_poll_at > now:
            return PollOutcome(feed.url, ok=True, status="not_due")
        errors = state.consecutive_errors if state else 0
        try:
            response = await self._fetcher.fetch(
                feed.url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
                accept=FEED_ACCEPT,
            )
        except FetchError as exc:
            return await self._feed_failed(feed, str(exc), errors, started)
        if response.status == 304:
            await self._store.record_feed_poll(
                feed.url, polled_at=self._clock(), status="not_modified", error=None,
                etag=response.etag or (state.etag if state else None),
                last_modified=response.last_modified or (state.last_modified if state else None),
                next_poll_at=next_feed_poll(self._clock(), feed.interval, consecutive_errors=0),
            )
            self._metrics.feed_polled("not_modified")
            bound.info("feed_polled", status="not_modified", http_status=304, entries=0,
                       new_articles=0, ms=_ms(started))
            return PollOutcome(feed.url, ok=True, status="not_modified")
        if response.status != 200:
            return await self._feed_failed(feed, f"HTTP {response.status}", errors, started)
        try:
            parsed = await asyncio.to_thread(parse_feed, response.body, response.final_url)
        except FeedParseError as exc:
            return await self._feed_failed(feed, str(exc), errors, started)

        results = await asyncio.gather(*(self._follow_entry(feed, e) for e in parsed.entries))
        new = sum(1 for r in results if r.result == "new")
        failed = sum(1 for r in results if not r.ok)
        await self._store.record_feed_poll(
            feed.url, polled_at=self._clock(), status="ok", error=None,
            etag=response.etag, last_modified=response.last_modified,
            next_poll_at=next_feed_poll(self._clock(), feed.interval, consecutive_errors=0,
                                        ttl_seconds=parsed.ttl_seconds),
        )
        self._metrics.feed_polled("ok")
        bound.info("feed_polled", status="ok", http_status=200, entries=len(parsed.entries),
                   new_articles=new, failed_pages=failed, ms=_ms(started))
        return PollOutcome(feed.url, ok=failed == 0, status="ok", entries=len(parsed.entries),
                           new_articles=new, failed_pages=failed)

    async def _feed_failed(self, feed: FeedSettings, error: str, errors: int,
                           started: float) -> PollOutcome:
        now = self._clock()
        await self._store.record_feed_poll(
            feed.url, polled_at=now, status="error", error=error, etag=None, last_modified=None,
            next_poll_at=next_feed_poll(now, feed.interval, consecutive_errors=errors + 1),
        )
        self._metrics.feed_polled("error")
        log.warning("feed_failed", feed=feed.url, error=error, consecutive_errors=errors + 1,
                    ms=_ms(started))
        return PollOutcome(feed.url, ok=False, status="error", error=error)

    async def _follow_entry(self, feed: FeedSettings, entry: FeedEntry) -> CheckOutcome:
        if await self._store.find_article_by_url(entry.link) is not None:
            return CheckOutcome(ok=True, result="known")
        lock = self._url_locks.setdefault(entry.link, asyncio.Lock())
        try:
            async with lock:
                if await self._store.find_article_by_url(entry.link) is not None:
                    return CheckOutcome(ok=True, result="known")
                return await self._first_sight(feed, entry)
        finally:
            if not lock.locked():
                self._url_locks.pop(entry.link, None)

    async def _first_sight(self, feed: FeedSettings, entry: FeedEntry) -> CheckOutcome:
        bound = log.bind(feed=feed.url, url=entry.link)
        started = time.perf_counter()
        response = await self._fetch_page(entry.link, bound)
        if response is None:
            return CheckOutcome(ok=False, result="error")
        if response.status in GONE_STATUSES:
            bound.info("page_checked", result="gone", http_status=response.status, ms=_ms(started))
            return CheckOutcome(ok=True, result="gone")
        if response.status != 200:
            bound.warning("page_failed", error=f"HTTP {response.status}", ms=_ms(started))
            return CheckOutcome(ok=False, result="error")
        canonical, content = await self._extract(response, fallback_title=entry.title)
        if not content.text:
            bound.warning("extraction_empty", final_url=response.final_url, ms=_ms(started))
            return CheckOutcome(ok=True, result="empty")
        now = self._clock()
        existing = await self._store.find_article_by_url(canonical)
        if existing is not None:
            # Another entry or feed already led to this article: remember the new way there and
            # let this fetch count as a re-check of it.
            await self._store.add_url_alias(existing.article_id, entry.link)
            return await self._compare(existing, content, bound, started)
        ref = events.ArticleRef(url=entry.link, canonical_url=canonical, feed_url=feed.url,
                                title=content.title)
        event = events.article_new(ref, content, created_at=now, **self._event_options())
        first_check = next_recheck(now, 0, now, self._settings.recheck)
        try:
            await self._store.create_article(
                canonical_url=canonical, url=entry.link, feed_url=feed.url, content=content,
                event=event, seen_at=now, next_check_at=first_check or now,
            )
        except ArticleExistsError:
            existing = await self._store.find_article_by_url(canonical)
            if existing is None:
                raise
            await self._store.add_url_alias(existing.article_id, entry.link)
            return await self._compare(existing, content, bound, started)
        self._stored(event.event_type, version=True)
        bound.info("page_checked", result="new", canonical_url=canonical,
                   content_hash=content.content_hash, event_id=event.event_id, ms=_ms(started))
        return CheckOutcome(ok=True, result="new")

    # --- re-checks ---------------------------------------------------------------------------
    async def check_due(self, *, limit: int = 500, concurrency: int = 16) -> list[CheckOutcome]:
        """Re-check every article due now (at most `limit` in this call)."""
        due = await self._store.due_articles(self._clock(), limit)
        if not due:
            return []
        gate = asyncio.Semaphore(concurrency)

        async def one(article: Article) -> CheckOutcome:
            async with gate:
                return await self.check_article(article)

        return list(await asyncio.gather(*(one(a) for a in due)))

    async def check_article(self, article: Article) -> CheckOutcome:
        """Fetch a known article again and record what changed."""
        bound = log.bind(url=article.url, article_id=article.article_id)
        started = time.perf_counter()
        response = await self._fetch_page(article.url, bound)
        if response is None:
            await self._reschedule(article)
            return CheckOutcome(ok=False, result="error")
        if response.status in GONE_STATUSES:
            return await self._gone(article, response.status, bound, started)
        if response.status != 200:
            bound.warning("page_failed", error=f"HTTP {response.status}", ms=_ms(started))
            await self._reschedule(article)
            return CheckOutcome(ok=False, result="error")
        _, content = await self._extract(response, fallback_title=article.title)
        return await self._compare(article, content, bound, started)

    async def _compare(self, article: Article, content: Content,
                       bound: structlog.stdlib.BoundLogger, started: float) -> CheckOutcome:
        now = self._clock()
        if content.content_hash == article.current_hash:
            await self._reschedule(article)
            bound.info("page_checked", result="unchanged", ms=_ms(started))
            return CheckOutcome(ok=True, result="unchanged")
        versions = await self._store.get_versions(article.article_id)
        previous = versions[-1]
        old = Content(previous.title, previous.text, previous.content_hash)
        if len(content.text) < COLLAPSE_RATIO * len(old.text):
            await self._store.mark_checked(
                article.article_id, checked_at=now,
                next_check_at=now + timedelta(seconds=COLLAPSE_RETRY),
            )
            bound.warning("extraction_collapsed", previous_chars=len(old.text),
                          current_chars=len(content.text), ms=_ms(started))
            return CheckOutcome(ok=True, result="collapsed")
        changes = describe_changes(old, content)
        ref = events.ArticleRef(url=article.url, canonical_url=article.canonical_url,
                                feed_url=article.feed_url, title=content.title)
        number = article.current_version + 1
        event = events.article_edited(
            ref, old, content, changes, version=number, created_at=now,
            **self._event_options(),
        )
        stored = await self._store.add_version(
            article.article_id, content=content, event=event, fetched_at=now,
            next_check_at=self._next_check(article, now),
        )
        self._stored(event.event_type, version=True)
        bound.info("page_checked", result="edited", version=stored, event_id=event.event_id,
                   chars_added=changes.chars_added, chars_removed=changes.chars_removed,
                   title_changed=changes.title, ms=_ms(started))
        return CheckOutcome(ok=True, result="edited")

    async def _gone(self, article: Article, status: int, bound: structlog.stdlib.BoundLogger,
                    started: float) -> CheckOutcome:
        now = self._clock()
        if article.deleted:
            await self._reschedule(article)
            bound.info("page_checked", result="still_gone", http_status=status, ms=_ms(started))
            return CheckOutcome(ok=True, result="gone")
        ref = events.ArticleRef(url=article.url, canonical_url=article.canonical_url,
                                feed_url=article.feed_url, title=article.title)
        event = events.article_deleted(
            ref, previous_version=article.current_version, status=status, created_at=now,
            **self._event_options(),
        )
        await self._store.mark_deleted(article.article_id, event=event, checked_at=now,
                                       next_check_at=self._next_check(article, now))
        self._stored(event.event_type, version=False)
        bound.info("page_checked", result="deleted", http_status=status, event_id=event.event_id,
                   ms=_ms(started))
        return CheckOutcome(ok=True, result="deleted")

    # --- helpers -----------------------------------------------------------------------------
    def _event_options(self) -> dict[str, Any]:
        """Where events go and how big they may be, from the current settings."""
        return {"routes": events.Routes.from_settings(self._settings),
                "max_bytes": self._settings.delivery.max_payload_bytes}

    def _stored(self, event_type: str, *, version: bool) -> None:
        if version:
            self._metrics.version_stored()
        self._metrics.event_emitted(event_type)
        self._on_event()

    def _next_check(self, article: Article, now: datetime) -> datetime | None:
        return next_recheck(article.first_seen_at, article.check_count + 1, now,
                            self._settings.recheck)

    async def _reschedule(self, article: Article) -> None:
        now = self._clock()
        await self._store.mark_checked(article.article_id, checked_at=now,
                                       next_check_at=self._next_check(article, now))

    async def _fetch_page(self, url: str, bound: structlog.stdlib.BoundLogger) -> Response | None:
        try:
            response = await self._fetcher.fetch(url)
        except FetchError as exc:
            self._metrics.page_fetched(exc.kind)
            bound.warning("page_failed", error=str(exc), kind=exc.kind)
            return None
        self._metrics.page_fetched(response.status)
        return response

    async def _extract(self, response: Response, *, fallback_title: str) -> tuple[str, Content]:
        started = time.perf_counter()
        html = decode_html(response.body, response.content_type)
        rules = self._rules_for(response.final_url)
        extracted = extract_article(html, response.final_url, rules)
        self._metrics.extraction_observed(time.perf_counter() - started)
        canonical = article_identity(response.final_url, extracted.canonical_url)
        return canonical, make_content(extracted.title or fallback_title, extracted.text)

    def _rules_for(self, url: str) -> SiteRules | None:
        site = self._settings.site_rules_for(host_of(url))
        if site is None:
            return None
        return SiteRules(content=site.content, ignore=site.ignore)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
