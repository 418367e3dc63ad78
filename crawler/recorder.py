"""The store writes and events that follow a check (DESIGN.md: "store: version + event +
deliveries, one transaction").

The `Pipeline` fetches and extracts; the `Recorder` reads what the decision needs, asks
`crawler.decision.classify` what the check means (the rules against invented edits live
there, pure) and makes the one store write that records it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from crawler import events
from crawler.check_history import read_history
from crawler.check_outcome import CheckOutcome, as_seen, stale
from crawler.config import Settings
from crawler.decision import (
    Collapsed,
    Decision,
    Deleted,
    Edited,
    ErrorPage,
    Flapped,
    Gone,
    History,
    Missing,
    Rebaseline,
    Restored,
    Rules,
    Settled,
    StillGone,
    Unchanged,
    classify,
)
from crawler.error_pages import error_page_reason
from crawler.extract import version as extractor
from crawler.log_context import unit_ms
from crawler.metrics import Metrics
from crawler.models import Article, Content, EventRecord, Sighting
from crawler.schedule import next_recheck
from crawler.store import ArticleExistsError, PageCache, StaleArticleError, Store

log = structlog.get_logger(__name__)

__all__ = ["COLLAPSE_RETRY", "MISSING_RETRY", "CheckOutcome", "Classifier", "Recorder"]

# A collapsed page is looked at again this soon, to tell a glitch from a lasting change.
COLLAPSE_RETRY = 300.0
# A page that answered 404/410 is looked at again this soon: a real removal is announced
# within minutes, a page that lies for one request is never announced.
MISSING_RETRY = 120.0


# How a check is classified: `classify` itself by default; the daemon's runs it off the loop
# for big versions (`crawler.budget.Offload.classify`).
Classifier = Callable[[History, Content | Gone, Rules, datetime], Awaitable[Decision]]


async def _classify_inline(history: History, observed: Content | Gone, rules: Rules,
                           now: datetime) -> Decision:
    return classify(history, observed, rules, now)


class Recorder:
    def __init__(self, store: Store, settings: Callable[[], Settings], *,
                 clock: Callable[[], datetime], metrics: Metrics,
                 on_event: Callable[[], None], classify: Classifier | None = None) -> None:
        self._classify = classify or _classify_inline
        self._store = store
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._on_event = on_event

    # --- first sight -------------------------------------------------------------------------
    async def first_version(self, seen: Sighting, existing: Article | None) -> CheckOutcome:
        """Version 1 and `article.new`, unless the canonical URL is already tracked (another
        entry or feed led there first: `existing`): then this is a check of that article."""
        reason = error_page_reason(seen.content)
        if existing is None and reason is not None:
            # Nothing is tracked from an error page: the entry is followed again next poll.
            log.warning("error_page", reason=reason, chars=len(seen.content.text),
                        canonical_url=seen.canonical_url, ms=unit_ms())
            return CheckOutcome(ok=False, result="error_page")
        if existing is None:
            now = self._clock()
            ref = _ref_of(seen.url, seen.canonical_url, seen.feed_url, seen.content.title,
                       seen.source)
            event = events.article_new(ref, seen.content, created_at=now, **self._options())
            # Feed-sourced articles are re-read from their entry on every poll, not re-fetched.
            first_check = (next_recheck(now, 0, now, self._settings().recheck)
                           if seen.source == "page" else None)
            try:
                await self._store.create_article(
                    canonical_url=seen.canonical_url, url=seen.url, feed_url=seen.feed_url,
                    content=seen.content, event=event, seen_at=now,
                    next_check_at=first_check, source=seen.source, aliases=seen.aliases,
                    extractor_version=extractor.EXTRACTOR_VERSION,
                )
            except ArticleExistsError:
                existing = await self._store.find_article_by_url(seen.canonical_url)
                if existing is None:
                    raise
            else:
                self._stored(event.event_type, version=True)
                log.info("page_checked", result="new", canonical_url=seen.canonical_url,
                         source=seen.source, content_hash=seen.content.content_hash,
                         event_id=event.event_id, ms=unit_ms())
                return CheckOutcome(ok=True, result="new")
        await self._store.add_url_aliases(existing.article_id, (seen.url, *seen.aliases))
        if existing.source != seen.source:
            # One article never mixes page and feed versions: the first source stays.
            log.info("page_checked", result="known", source=existing.source)
            return CheckOutcome(ok=True, result="known")
        return await self.compare(existing, seen.content)

    # --- later checks ------------------------------------------------------------------------
    async def compare(self, article: Article, content: Content, *,
                      page: PageCache | None = None) -> CheckOutcome:
        """Record a check whose text is `content` (`page`: as in `reschedule`)."""
        return await self._record(article, content, page)

    async def move_to_feed(self, article: Article, content: Content, feed_url: str, *,
                           reason: str) -> CheckOutcome:
        """A feed-sourced article compared with `feed_url`'s entries from now on, its entry
        there (`content`) the new baseline: a text that differs is stored without an event,
        as a re-baseline (two feeds' cuts of one article differ; the publisher edited
        nothing). An edit made since the last poll of the old feed is folded into it."""
        try:
            if content.content_hash == article.current_hash:
                await self._store.move_to_feed(article.article_id, feed_url,
                                               as_seen=as_seen(article))
                log.info("feed_moved", article_id=article.article_id, to_feed=feed_url,
                         from_feed=article.tracked_feed, reason=reason)
                return CheckOutcome(ok=True, result="known")
            now = self._clock()
            rules = Rules.from_settings(self._settings(), extractor.EXTRACTOR_VERSION)
            number = await self._silent_version(article, content, now,
                                                self._next_check(article, now), rules,
                                                announces=True, feed_url=feed_url)
        except StaleArticleError as refused:
            return stale(refused)
        self._metrics.rebaselined()
        log.info("rebaselined", article_id=article.article_id, url=article.url, version=number,
                 content_hash=content.content_hash, to_feed=feed_url,
                 from_feed=article.tracked_feed, reason=reason, ms=unit_ms())
        return CheckOutcome(ok=True, result="rebaselined")

    async def gone(self, article: Article, status: int, *,
                   redirected_to: str | None = None) -> CheckOutcome:
        """The page answered 404/410 (or, `redirected_to`, led to the site's home page or a
        section index): one `article.deleted` once confirmed, then quiet re-checks."""
        return await self._record(article, Gone(status, redirected_to))

    async def _record(self, article: Article, observed: Content | Gone,
                      page: PageCache | None = None) -> CheckOutcome:
        """Decide what the check means (`crawler.decision.classify`, reading only what it
        needs) and make the one store write that records it."""
        now = self._clock()
        rules = Rules.from_settings(self._settings(), extractor.EXTRACTOR_VERSION)
        history = await read_history(self._store, article, observed, rules, self._clock)
        decision = await self._classify(history, observed, rules, now)
        try:
            return await self._apply(article, decision, rules, now, page)
        except StaleArticleError as refused:
            return stale(refused)

    async def _apply(self, article: Article, decision: Decision, rules: Rules, now: datetime,
                     page: PageCache | None) -> CheckOutcome:
        """The one store write (and event) of `decision` (`page` only for `Unchanged`)."""
        next_check = self._next_check(article, now)
        match decision:
            case Deleted(status, redirected_to):
                event = events.article_deleted(
                    self._ref(article, article.title), previous_version=article.current_version,
                    status=status, redirected_to=redirected_to, created_at=now,
                    **self._options())
                await self._store.mark_deleted(article.article_id, event=event, checked_at=now,
                                               next_check_at=next_check,
                                               lease_owner=article.claimed_by,
                                               as_seen=as_seen(article))
                self._stored(event.event_type, version=False)
                log.info("page_checked", result="deleted", http_status=status,
                         event_id=event.event_id, ms=unit_ms())
                return CheckOutcome(ok=True, result="deleted")
            case Missing(streak, status):
                # Confirmed even when re-checking would end now (max_age): a removal at the
                # last check is still news.
                confirm = (now + timedelta(seconds=MISSING_RETRY)
                           if next_check is None and article.source == "page" else
                           _sooner(next_check, now, MISSING_RETRY, article.source))
                await self._store.mark_missing(
                    article.article_id, checked_at=now, next_check_at=confirm,
                    lease_owner=article.claimed_by, as_seen=as_seen(article))
                log.warning("page_missing", http_status=status, streak=streak,
                            announce_after=rules.delete_checks, ms=unit_ms())
                return CheckOutcome(ok=True, result="missing")
            case StillGone(status):
                await self.reschedule(article)
                log.info("page_checked", result="still_gone", http_status=status,
                         ms=unit_ms())
                return CheckOutcome(ok=True, result="gone")
            case Unchanged():
                # The same text from a newer extractor: from now on a difference is the page's.
                await self.reschedule(article, present=True, page=page,
                                      extractor_version=rules.extractor_version)
                log.debug("page_checked", result="unchanged", ms=unit_ms())
                return CheckOutcome(ok=True, result="unchanged")
            case ErrorPage(reason, chars):
                # Like a 5xx: the page said nothing about the article this time.
                await self.reschedule(article)
                log.warning("error_page", reason=reason, chars=chars, ms=unit_ms())
                return CheckOutcome(ok=False, result="error_page")
            case Collapsed(streak, previous_chars, current_chars):
                await self._store.mark_collapsed(
                    article.article_id, checked_at=now,
                    next_check_at=_sooner(next_check, now, COLLAPSE_RETRY, article.source),
                    lease_owner=article.claimed_by, as_seen=as_seen(article),
                )
                log.warning("extraction_collapsed", previous_chars=previous_chars,
                            current_chars=current_chars, streak=streak,
                            announce_after=rules.collapse_checks, ms=unit_ms())
                return CheckOutcome(ok=True, result="collapsed")
            case Rebaseline(current):
                # The new baseline stands for what was announced: no change of the page.
                number = await self._silent_version(article, current, now, next_check, rules,
                                                    announces=True)
                self._metrics.rebaselined()
                log.info("rebaselined", article_id=article.article_id, url=article.url,
                         version=number, content_hash=current.content_hash,
                         previous_extractor_version=article.extractor_version,
                         extractor_version=rules.extractor_version, ms=unit_ms())
                return CheckOutcome(ok=True, result="rebaselined")
            case Flapped(current, announced):
                number = await self._silent_version(article, current, now, next_check, rules,
                                                    announces=announced)
                log.info("page_checked", result="flapped", version=number,
                         content_hash=current.content_hash, ms=unit_ms())
                return CheckOutcome(ok=True, result="flapped")
            case Restored():
                return await self._restored(article, decision, rules, now)
            case Settled(previous, previous_version, current, changes):
                event = events.article_edited(
                    self._ref(article, current.title), previous, current, changes,
                    version=article.current_version, previous_version=previous_version,
                    created_at=now, **self._options())
                await self._store.mark_announced(
                    article.article_id, event=event, checked_at=now, next_check_at=next_check,
                    extractor_version=rules.extractor_version, lease_owner=article.claimed_by,
                    as_seen=as_seen(article))
                self._stored(event.event_type, version=False)
                log.info("page_checked", result="settled", version=article.current_version,
                         previous_version=previous_version, event_id=event.event_id,
                         kinds=changes.kinds, ms=unit_ms())
                return CheckOutcome(ok=True, result="settled")
            case Edited(previous, current, changes, collapse_persisted):
                if collapse_persisted:
                    log.warning("extraction_collapse_persisted",
                                previous_chars=len(previous.text),
                                current_chars=len(current.text))
                ref, options = self._ref(article, current.title), self._options()

                def edited(number: int) -> EventRecord:
                    return events.article_edited(ref, previous, current, changes,
                                                 version=number, created_at=now, **options)

                stored, event = await self._announced_version(article, current, now, edited,
                                                              next_check, rules)
                log.info("page_checked", result="edited", version=stored,
                         event_id=event.event_id, chars_added=changes.chars_added,
                         chars_removed=changes.chars_removed, title_changed=changes.title,
                         kinds=changes.kinds, ms=unit_ms())
                return CheckOutcome(ok=True, result="edited")

    async def _restored(self, article: Article, restored: Restored, rules: Rules,
                        now: datetime) -> CheckOutcome:
        """`article.restored`: with the current version when the text is the same, else
        with a new version (and `changes` when the difference is the page's)."""
        content = restored.current
        ref, options = self._ref(article, content.title), self._options()
        next_check = self._next_check(article, now)

        def event_for(number: int) -> EventRecord:
            return events.article_restored(
                ref, content, version=number, previous_status=restored.previous_status,
                previous=restored.previous, changes=restored.changes, created_at=now,
                **options)

        if restored.new_version:
            number, event = await self._announced_version(article, content, now, event_for,
                                                          next_check, rules)
        else:
            number, event = article.current_version, event_for(article.current_version)
            await self._store.mark_restored(
                article.article_id, event=event, checked_at=now, next_check_at=next_check,
                extractor_version=rules.extractor_version, lease_owner=article.claimed_by,
                as_seen=as_seen(article))
            self._stored(event.event_type, version=False)
        log.info("page_checked", result="restored", version=number,
                 previous_status=restored.previous_status, event_id=event.event_id,
                 changed=restored.new_version, ms=unit_ms())
        return CheckOutcome(ok=True, result="restored")

    async def _silent_version(self, article: Article, content: Content, now: datetime,
                              next_check: datetime | None, rules: Rules, *,
                              announces: bool, feed_url: str | None = None) -> int:
        number = await self._store.add_version(
            article.article_id, content=content, event=None, fetched_at=now,
            next_check_at=next_check, extractor_version=rules.extractor_version,
            lease_owner=article.claimed_by, announces=announces, feed_url=feed_url,
            as_seen=as_seen(article),
        )
        self._metrics.version_stored()
        return number

    async def _announced_version(self, article: Article, content: Content, now: datetime,
                                 build: Callable[[int], EventRecord],
                                 next_check: datetime | None,
                                 rules: Rules) -> tuple[int, EventRecord]:
        built: list[EventRecord] = []

        def event(number: int) -> EventRecord:
            # Called inside the store's transaction (again if it is retried).
            built.append(build(number))
            return built[-1]

        number = await self._store.add_version(
            article.article_id, content=content, event=event, fetched_at=now,
            next_check_at=next_check, extractor_version=rules.extractor_version,
            lease_owner=article.claimed_by, as_seen=as_seen(article),
        )
        self._stored(built[-1].event_type, version=True)
        return number, built[-1]

    async def reschedule(self, article: Article, *, present: bool = False,
                         extractor_version: int | None = None,
                         page: PageCache | None = None) -> None:
        """The next check, after one that failed or found nothing new (`present`: the page
        answered; `extractor_version`: the extractor that gave the same text; `page`: the
        page cache entry it leaves). Completes its claim, if any (`LeaseLostError` if lost)."""
        now = self._clock()
        await self._store.mark_checked(
            article.article_id, checked_at=now, next_check_at=self._next_check(article, now),
            present=present, extractor_version=extractor_version,
            lease_owner=article.claimed_by, page=page, as_seen=as_seen(article))

    # --- helpers -----------------------------------------------------------------------------
    def _next_check(self, article: Article, now: datetime) -> datetime | None:
        if article.source != "page":
            return None
        return next_recheck(article.first_seen_at, article.check_count + 1, now,
                            self._settings().recheck)

    @staticmethod
    def _ref(article: Article, title: str) -> events.ArticleRef:
        return _ref_of(article.url, article.canonical_url, article.feed_url, title,
                       article.source)

    def _options(self) -> dict[str, Any]:
        """Where events go and how big they may be, from the current settings."""
        settings = self._settings()
        return {"routes": events.Routes.from_settings(settings),
                "max_bytes": settings.delivery.max_payload_bytes}

    def _stored(self, event_type: str, *, version: bool) -> None:
        if version:
            self._metrics.version_stored()
        self._metrics.event_emitted(event_type)
        self._on_event()


def _ref_of(url: str, canonical_url: str, feed_url: str, title: str,
         source: str) -> events.ArticleRef:
    return events.ArticleRef(url=url, canonical_url=canonical_url, feed_url=feed_url,
                             title=title, source=source)


def _sooner(next_check: datetime | None, now: datetime, seconds: float,
            source: str) -> datetime | None:
    """The next check of a page whose check must be confirmed: within `seconds`, unless it
    is due sooner anyway or not re-checked at all (None, or an article tracked from its feed,
    whose checks come with the feed's polls)."""
    if next_check is None or source != "page":
        return next_check
    return min(now + timedelta(seconds=seconds), next_check)
