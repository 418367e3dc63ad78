"""What a check means for the stored history: a first version, an edit, a flap, a collapse or
nothing, and the store writes and events that follow (DESIGN.md: "store: version + event +
deliveries, one transaction").

The `Pipeline` fetches and extracts; the `Recorder` decides and records. Every decision about
announcing a change is made here, so the rules against invented edits live in one place.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from crawler import events
from crawler.config import Settings
from crawler.diffing import describe_changes
from crawler.extract import version as extractor
from crawler.flaps import returns_to_recent_version
from crawler.metrics import Metrics
from crawler.models import Article, Changes, Content, EventRecord
from crawler.schedule import next_recheck
from crawler.store import ArticleExistsError, Store

log = structlog.get_logger(__name__)

# A check that keeps less than this share of the previous text is an extraction collapse
# (paywall, redesign, error page served with 200) until it persists.
COLLAPSE_RATIO = 0.5
# A collapsed page is looked at again this soon, to tell a glitch from a lasting change.
COLLAPSE_RETRY = 300.0


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    ok: bool
    result: str
    """"new", "known", "edited", "flapped", "rebaselined", "unchanged", "restored", "deleted",
    "gone", "collapsed", "empty" or "error"."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """An article as found: where, from which feed, what it says, and from which source."""

    url: str
    canonical_url: str
    feed_url: str
    content: Content
    source: str = "page"


class Recorder:
    def __init__(self, store: Store, settings: Callable[[], Settings], *,
                 clock: Callable[[], datetime], metrics: Metrics,
                 on_event: Callable[[], None],
                 describe: Callable[[Content, Content], Awaitable[Changes]] | None = None,
                 ) -> None:
        """`describe`: how an edit is described (the daemon's runs big texts off the loop,
        see `crawler.budget`); by default `describe_changes`, inline."""
        self._store = store
        self._describe = describe or _describe_inline
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._on_event = on_event

    # --- first sight -------------------------------------------------------------------------
    async def first_version(self, seen: Sighting, bound: Any, started: float) -> CheckOutcome:
        """Version 1 and `article.new`, unless the canonical URL is already tracked (another
        entry or feed led there first): then this is a check of that article."""
        existing = await self._store.find_article_by_url(seen.canonical_url)
        if existing is None:
            now = self._clock()
            ref = _ref(seen.url, seen.canonical_url, seen.feed_url, seen.content.title,
                       seen.source)
            event = events.article_new(ref, seen.content, created_at=now, **self._options())
            # Feed-sourced articles are re-read from their entry on every poll, not re-fetched.
            first_check = (next_recheck(now, 0, now, self._settings().recheck)
                           if seen.source == "page" else None)
            try:
                await self._store.create_article(
                    canonical_url=seen.canonical_url, url=seen.url, feed_url=seen.feed_url,
                    content=seen.content, event=event, seen_at=now,
                    next_check_at=first_check, source=seen.source,
                    extractor_version=extractor.EXTRACTOR_VERSION,
                )
            except ArticleExistsError:
                existing = await self._store.find_article_by_url(seen.canonical_url)
                if existing is None:
                    raise
            else:
                self._stored(event.event_type, version=True)
                bound.info("page_checked", result="new", canonical_url=seen.canonical_url,
                           source=seen.source, content_hash=seen.content.content_hash,
                           event_id=event.event_id, ms=_ms(started))
                return CheckOutcome(ok=True, result="new")
        await self._store.add_url_alias(existing.article_id, seen.url)
        if existing.source != seen.source:
            # One article never mixes page and feed versions: the first source stays.
            bound.info("page_checked", result="known", source=existing.source)
            return CheckOutcome(ok=True, result="known")
        return await self.compare(existing, seen.content, bound, started)

    # --- later checks ------------------------------------------------------------------------
    async def compare(self, article: Article, content: Content, bound: Any,
                      started: float) -> CheckOutcome:
        """Record a check of a known article whose current text is `content`."""
        now = self._clock()
        settings = self._settings()
        current_extractor = extractor.EXTRACTOR_VERSION
        if content.content_hash == article.current_hash:
            # The same text from a newer extractor: from now on a difference is the page's.
            await self.reschedule(article, present=True, extractor_version=current_extractor)
            result = "restored" if article.deleted else "unchanged"
            bound.info("page_checked", result=result, ms=_ms(started))
            return CheckOutcome(ok=True, result=result)
        if article.extractor_version != current_extractor:
            # Before the guards: a text from another extractor is no measure of a collapse,
            # and no earlier version of it can be flapped back to.
            return await self._rebaseline(article, content, bound, started)
        versions = await self._store.get_versions(article.article_id)
        previous = versions[-1]
        old = Content(previous.title, previous.text, previous.content_hash)

        collapsed = len(content.text) < COLLAPSE_RATIO * len(old.text)
        if collapsed and article.collapse_count + 1 < settings.recheck.collapse_checks:
            normal = self._next_check(article, now)
            soon = now + timedelta(seconds=COLLAPSE_RETRY)
            await self._store.mark_collapsed(
                article.article_id, checked_at=now,
                next_check_at=min(soon, normal) if normal and article.source == "page" else normal,
                lease_owner=article.claimed_by,
            )
            bound.warning("extraction_collapsed", previous_chars=len(old.text),
                          current_chars=len(content.text), streak=article.collapse_count + 1,
                          announce_after=settings.recheck.collapse_checks, ms=_ms(started))
            return CheckOutcome(ok=True, result="collapsed")
        if collapsed:
            bound.warning("extraction_collapse_persisted", previous_chars=len(old.text),
                          current_chars=len(content.text))

        if returns_to_recent_version(versions, content.content_hash, now,
                                     settings.recheck.flap_window, current_extractor):
            number = await self._store.add_version(
                article.article_id, content=content, event=None, fetched_at=now,
                next_check_at=self._next_check(article, now),
                extractor_version=current_extractor, lease_owner=article.claimed_by,
            )
            self._metrics.version_stored()
            bound.info("page_checked", result="flapped", version=number,
                       content_hash=content.content_hash, ms=_ms(started))
            return CheckOutcome(ok=True, result="flapped")

        changes = await self._describe(old, content)
        ref = _ref(article.url, article.canonical_url, article.feed_url, content.title,
                   article.source)
        options = self._options()
        built: list[EventRecord] = []

        def edited(number: int) -> EventRecord:
            # Called inside the store's transaction, with the number it assigned there.
            built.append(events.article_edited(ref, old, content, changes, version=number,
                                               created_at=now, **options))
            return built[-1]

        stored = await self._store.add_version(
            article.article_id, content=content, event=edited, fetched_at=now,
            next_check_at=self._next_check(article, now), extractor_version=current_extractor,
            lease_owner=article.claimed_by,
        )
        event = built[-1]
        self._stored(event.event_type, version=True)
        bound.info("page_checked", result="edited", version=stored, event_id=event.event_id,
                   chars_added=changes.chars_added, chars_removed=changes.chars_removed,
                   title_changed=changes.title, ms=_ms(started))
        return CheckOutcome(ok=True, result="edited")

    async def _rebaseline(self, article: Article, content: Content, bound: Any,
                          started: float) -> CheckOutcome:
        """The first different text since the extractor changed: most likely the extractor's
        doing, not the publisher's, so it is stored silently as the new baseline. An edit the
        publisher made since the last check is folded into it (README, "Extractor upgrades")."""
        now = self._clock()
        current_extractor = extractor.EXTRACTOR_VERSION
        number = await self._store.add_version(
            article.article_id, content=content, event=None, fetched_at=now,
            next_check_at=self._next_check(article, now), extractor_version=current_extractor,
            lease_owner=article.claimed_by,
        )
        self._metrics.version_stored()
        self._metrics.rebaselined()
        bound.info("rebaselined", article_id=article.article_id, url=article.url,
                   version=number, content_hash=content.content_hash,
                   previous_extractor_version=article.extractor_version,
                   extractor_version=current_extractor, ms=_ms(started))
        return CheckOutcome(ok=True, result="rebaselined")

    async def gone(self, article: Article, status: int, bound: Any,
                   started: float) -> CheckOutcome:
        """The page answered 404/410: one `article.deleted`, then quiet re-checks."""
        now = self._clock()
        if article.deleted:
            await self.reschedule(article)
            bound.info("page_checked", result="still_gone", http_status=status, ms=_ms(started))
            return CheckOutcome(ok=True, result="gone")
        ref = _ref(article.url, article.canonical_url, article.feed_url, article.title,
                   article.source)
        event = events.article_deleted(ref, previous_version=article.current_version,
                                       status=status, created_at=now, **self._options())
        await self._store.mark_deleted(article.article_id, event=event, checked_at=now,
                                       next_check_at=self._next_check(article, now),
                                       lease_owner=article.claimed_by)
        self._stored(event.event_type, version=False)
        bound.info("page_checked", result="deleted", http_status=status,
                   event_id=event.event_id, ms=_ms(started))
        return CheckOutcome(ok=True, result="deleted")

    async def reschedule(self, article: Article, *, present: bool = False,
                         extractor_version: int | None = None) -> None:
        """The next check, after one that found nothing new (`present`: the page answered
        with the article; `extractor_version`: the extractor that gave the same text) or
        failed. Like every write of a check, it completes the article's claim when the
        article was claimed (`Article.claimed_by`; raises `LeaseLostError` if it was lost)."""
        now = self._clock()
        await self._store.mark_checked(article.article_id, checked_at=now,
                                       next_check_at=self._next_check(article, now),
                                       present=present, extractor_version=extractor_version,
                                       lease_owner=article.claimed_by)

    # --- helpers -----------------------------------------------------------------------------
    def _next_check(self, article: Article, now: datetime) -> datetime | None:
        if article.source != "page":
            return None
        return next_recheck(article.first_seen_at, article.check_count + 1, now,
                            self._settings().recheck)

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


async def _describe_inline(old: Content, new: Content) -> Changes:
    return describe_changes(old, new)


def _ref(url: str, canonical_url: str, feed_url: str, title: str,
         source: str) -> events.ArticleRef:
    return events.ArticleRef(url=url, canonical_url=canonical_url, feed_url=feed_url,
                             title=title, source=source)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
