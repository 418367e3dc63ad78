"""Following a polled feed's entries: which article an entry stands for, and the first sight
of the ones that stand for none yet.

Each entry costs one store read (`Store.find_entry`: what its id key and its link lead to);
a known entry writes only the key that does not lead there yet, and a new one is one more read
(`Store.find_sighting`) and one write (`Store.create_article`, which stores the entry's id key
too).

Memory stays flat in the number of entries of a feed: a poll follows at most
`[fetch] global_concurrency` entries at once (more could not fetch at once anyway; fewer
would slow a feed whose links spread over many hosts), and a page's body is dropped once it
is extracted (`PageRead` is all a first sight keeps), before the sighting waits on the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import structlog

from crawler.budget import Offload, OverBudgetError
from crawler.config import FeedSettings
from crawler.decision import collapses, fuller
from crawler.error_pages import error_page_reason
from crawler.fetch import FetchError, Response
from crawler.log_context import unit, unit_ms
from crawler.models import Article, Content, FeedEntry, Sighting
from crawler.recorder import CheckOutcome, Recorder
from crawler.refusals import Refusals
from crawler.sightings import Sightings
from crawler.store import EntryMatch, Store
from crawler.textnorm import make_content
from crawler.urls import normalize_url

log = structlog.get_logger(__name__)

GONE_STATUSES = (404, 410)
# Answers that say the page will not be ours to read: the article is then tracked from its
# feed entry, when the entry carries the article.
UNREADABLE_STATUSES = (401, 403)

# How a page is fetched (a failure is logged and returned) and read: the identity it claims
# and its content, None when it could not be read within its budget (logged).
PageFetcher = Callable[[str], Awaitable[Response | FetchError]]
PageExtractor = Callable[[Response, str], Awaitable[tuple[str, Content] | None]]


@dataclass(frozen=True, slots=True)
class PageRead:
    """What a first sight needs of its page once extracted (the body is not kept)."""

    final_url: str
    claimed: str
    content: Content


def entry_key(feed_url: str, entry: FeedEntry) -> str:
    """An entry's identity as an alias of its article: guids are only unique within a feed."""
    return f"entry:{feed_url} {entry.entry_id}"


def entry_article(match: EntryMatch, key: str, link: str) -> tuple[Article | None, list[str]]:
    """The article an entry stands for, and which of its keys (`key`, `link`) to remember as
    the article's aliases (those leading nowhere yet), so both lead there from now on. By its
    link, else by its id key (which survives a new link after a retitled slug). A link that
    leads to an article wins over an id key that leads to another: feeds reuse guids for
    other stories, and an entry's content compared with another article would be an invented
    edit (the key then keeps leading to its first article)."""
    known = match.by_link or match.by_key
    if known is None:
        return None, []
    found = ((key, match.by_key), (link, match.by_link))
    return known, [url for url, article in found if article is None]


def _new_path(link: str, article: Article) -> bool:
    """True when `link` names another page than the article's URLs, not the same one under
    another query string (a cache-buster changing on every poll is no reason to read it)."""
    def page(url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return parts.netloc.lower(), parts.path
    return page(link) not in {page(article.url), page(article.canonical_url)}


def _first_per_page(entries: Sequence[FeedEntry]) -> list[int]:
    """The index of each page's first entry in the feed. Another entry for the same page
    (an update published beside the original, with its own id) is that page again: a
    feed-sourced article compared with both would take the two texts in turn, a version on
    every poll."""
    firsts: dict[str, int] = {}
    for index, entry in enumerate(entries):
        try:
            page = normalize_url(entry.link)
        except ValueError:
            page = entry.link
        firsts.setdefault(page, index)
    return list(firsts.values())


# A first sight whose page is refused and whose entry carries no text.
_NOTHING_TO_READ = CheckOutcome(ok=True, result="unreadable")

# Entries of other feeds remembered as no reason to move their article: a bound on memory.
_STAYED_MAX = 4096


class EntryFollower:
    """Follows the entries of polled feeds (see the module docstring); the page is fetched
    and read with the pipeline's `fetch_page` and `extract`."""

    def __init__(self, store: Store, recorder: Recorder, sightings: Sightings,
                 offload: Offload, *, fetch_page: PageFetcher, extract: PageExtractor,
                 over_budget: Callable[[str], None],
                 configured_feeds: Callable[[], Collection[str]],
                 clock: Callable[[], datetime], refusals: Refusals) -> None:
        """`configured_feeds`: the URLs of the feeds in the config in use; `refusals`: the
        links refused with no text in their entry, and when to ask them again."""
        self._store = store
        self._recorder = recorder
        self._sightings = sightings
        self._offload = offload
        self._fetch_page = fetch_page
        self._extract = extract
        self._over_budget = over_budget
        self._configured_feeds = configured_feeds
        self._clock = clock
        self._refusals = refusals
        # Feed-sourced articles' entries in other feeds that gave no reason to move them (see
        # `_other_feed_entry`), oldest first.
        self._stayed: dict[tuple[int, str], tuple[int, str, str]] = {}
        # Two entries (or feeds) pointing to one page must not both create the article.
        self._url_locks: dict[str, asyncio.Lock] = {}

    async def follow_all(self, feed: FeedSettings, entries: Sequence[FeedEntry], *,
                         at_once: int) -> list[CheckOutcome]:
        """Follow every entry, at most `at_once` at a time (in feed order); the outcomes in
        the entries' order. Should one raise (the store is lost), no other starts, and it is
        raised once the ones being followed have finished."""
        outcomes: list[CheckOutcome] = [CheckOutcome(ok=False, result="error")] * len(entries)
        firsts = _first_per_page(entries)
        for index in set(range(len(entries))) - set(firsts):
            outcomes[index] = CheckOutcome(ok=True, result="known")
        todo = iter((index, entries[index]) for index in firsts)
        failed = False

        async def worker() -> None:
            nonlocal failed
            for index, entry in todo:
                if failed:
                    return
                try:
                    outcomes[index] = await self.follow(feed, entry)
                except BaseException:
                    failed = True
                    raise

        ended = await asyncio.gather(*(worker() for _ in range(min(at_once, len(entries)))),
                                     return_exceptions=True)
        for failure in ended:
            if isinstance(failure, BaseException):
                raise failure
        return outcomes

    async def follow(self, feed: FeedSettings, entry: FeedEntry) -> CheckOutcome:
        key = entry_key(feed.url, entry)
        lock = self._url_locks.setdefault(entry.link, asyncio.Lock())
        try:
            async with lock:
                match = await self._store.find_entry(key, entry.link)
                known, missing = entry_article(match, key, entry.link)
                if known is None:
                    return await self._first_sight(feed, entry, key)
                if match.by_link is None and _new_path(entry.link, known):
                    relinked = await self._relinked(feed, entry, known)
                    if relinked is not None:
                        return relinked
        finally:
            if not lock.locked():
                self._url_locks.pop(entry.link, None)
        if missing:
            await self._store.add_url_aliases(known.article_id, missing)
        return await self._known_entry(feed, known, entry)

    async def _known_entry(self, feed: FeedSettings, article: Article,
                           entry: FeedEntry) -> CheckOutcome:
        """An entry seen before. Page-sourced articles are re-checked on their own schedule;
        a feed-sourced one is compared with its entry on every poll of the feed it is
        tracked from. Another feed listing it may carry a summary or another cut of the same
        text: compared with that, the article would shrink and grow back on every poll, each
        time an edit nobody made; such an entry may only move the article to its feed
        (`_other_feed_entry`)."""
        if article.source != "feed" or not entry.content_html:
            return CheckOutcome(ok=True, result="known")
        with unit(url=article.url, article_id=article.article_id, source="feed"):
            if feed.url != article.tracked_feed:
                return await self._other_feed_entry(feed, article, entry)
            content = await self._entry_content(entry)
            if content is None:
                return CheckOutcome(ok=False, result="error")
            if not content.text:
                log.warning("extraction_empty", source="feed")
                return CheckOutcome(ok=True, result="empty")
            return await self._recorder.compare(article, content)

    async def _other_feed_entry(self, feed: FeedSettings, article: Article,
                                entry: FeedEntry) -> CheckOutcome:
        """A feed-sourced article's entry in another feed than the one it is compared from.
        It moves to this feed when its own feed is no longer configured (else it would never
        be compared again), or when this entry is a fuller cut of its text (it was first seen
        in a feed of summaries: the edits of the full text would go unseen)."""
        known = CheckOutcome(ok=True, result="known")
        if article.deleted:
            return known
        orphaned = article.tracked_feed not in self._configured_feeds()
        # An entry that gave no reason to move the article gives none while it, the article
        # and its feed's place in the config are the same: a feed changing for other stories
        # is not read in full again.
        seen = (article.article_id, feed.url)
        looked = (hash(entry.content_html), article.current_hash, article.tracked_feed)
        if not orphaned and self._stayed.get(seen) == looked:
            return known
        content = await self._entry_content(entry)
        # Taken silently, a placeholder would be the baseline the article's return is an
        # edit of.
        if content is None or not content.text or error_page_reason(content) is not None:
            return known
        if orphaned:
            reason = "its feed is no longer configured"
        else:
            last = await self._store.get_last_version(article.article_id)
            if last is None or not fuller(last.text, content.text):
                self._stayed[seen] = looked
                if len(self._stayed) > _STAYED_MAX:
                    self._stayed.pop(next(iter(self._stayed)))
                return known
            reason = "a fuller entry in another feed"
        return await self._recorder.move_to_feed(article, content, feed.url, reason=reason)

    async def _relinked(self, feed: FeedSettings, entry: FeedEntry,
                        article: Article) -> CheckOutcome | None:
        """An entry whose id key leads to `article` under a link that leads nowhere yet: the
        same story under a new slug (retitled), or a guid reused for another story. Its text
        tells: one that keeps most of the article's words is the article (None: followed as
        a known entry); another story is a first sight of its own (its outcome), the key
        still leading to its first article. Compared with the article, another story would
        be an edit nobody made, and the new story would never be told."""
        with unit(feed=feed.url, url=entry.link):
            read = await self._read_page(entry)
            if isinstance(read, CheckOutcome):
                return read
            content = read.content if read is not None else await self._entry_content(entry)
            if content is None:
                return CheckOutcome(ok=False, result="error")
            last = await self._store.get_last_version(article.article_id)
            if last is None or not content.text or not collapses(last.text, content.text):
                return None
            log.info("entry_relinked", article_id=article.article_id,
                     reason="another story under a reused id")
            return await self._first_sight_of(feed, entry, None, read)

    async def _first_sight(self, feed: FeedSettings, entry: FeedEntry,
                           key: str | None) -> CheckOutcome:
        with unit(feed=feed.url, url=entry.link):
            return await self._first_sight_of(feed, entry, key, await self._read_page(entry))

    async def _first_sight_of(self, feed: FeedSettings, entry: FeedEntry, key: str | None,
                              read: PageRead | CheckOutcome | None) -> CheckOutcome:
        """A first sight of the entry whose page was read as `read` (`_read_page`)."""
        if read is None:
            return await self._first_sight_from_entry(feed, entry, key)
        if isinstance(read, CheckOutcome):
            return read
        canonical = await self._sightings.identity(entry.link, read.final_url, read.claimed,
                                                   read.content, fallback_title=entry.title)
        return await self._first_version(
            Sighting(entry.link, canonical, feed.url, read.content,
                     aliases=() if key is None else (key,)))

    async def _read_page(self, entry: FeedEntry) -> PageRead | CheckOutcome | None:
        """The entry's page, extracted, or the outcome of a first sight that ends here. None:
        the page will not be ours to read and the entry carries the article. Only what the
        sighting needs leaves this frame: the response, and its body, do not. A page refused
        while its entry carries no text has nothing to track: an outcome that is no failure
        (the feed's validators are kept, an unchanged feed is not read again), and the page
        is asked again on the re-check schedule only (`crawler.refusals`)."""
        if not entry.content_html and self._refusals.waiting(entry.link, self._clock()):
            return _NOTHING_TO_READ
        fetched = await self._fetch_page(entry.link)
        unreadable = (
            (isinstance(fetched, FetchError) and fetched.kind == "robots_disallowed")
            or (isinstance(fetched, Response) and fetched.status in UNREADABLE_STATUSES)
        )
        if unreadable and not entry.content_html:
            refusal = self._refusals.refused(entry.link, self._clock())
            log.warning("page_unreadable", reason="refused, and its entry carries no text",
                        http_status=fetched.status if isinstance(fetched, Response) else None,
                        refusals=refusal.count, retry_at=refusal.retry_at, ms=unit_ms())
            return _NOTHING_TO_READ
        self._refusals.readable(entry.link)
        if unreadable:
            return None
        if isinstance(fetched, FetchError):
            return CheckOutcome(ok=False, result="error")
        if fetched.status in GONE_STATUSES:
            log.info("page_checked", result="gone", http_status=fetched.status,
                     ms=unit_ms())
            return CheckOutcome(ok=True, result="gone")
        if fetched.status != 200:
            log.warning("page_failed", error=f"HTTP {fetched.status}", ms=unit_ms())
            return CheckOutcome(ok=False, result="error")
        read = await self._extract(fetched, entry.title)
        if read is None:
            return CheckOutcome(ok=False, result="error")
        claimed, content = read
        if not content.text:
            log.warning("extraction_empty", final_url=fetched.final_url, ms=unit_ms())
            return CheckOutcome(ok=True, result="empty")
        return PageRead(fetched.final_url, claimed, content)

    async def _first_sight_from_entry(self, feed: FeedSettings, entry: FeedEntry,
                                      key: str | None) -> CheckOutcome:
        content = await self._entry_content(entry)
        if content is None:
            return CheckOutcome(ok=False, result="error")
        if not content.text:
            log.warning("extraction_empty", source="feed", ms=unit_ms())
            return CheckOutcome(ok=True, result="empty")
        log.info("page_unreadable", reason="tracked from its feed entry")
        return await self._first_version(
            Sighting(entry.link, normalize_url(entry.link), feed.url, content, source="feed",
                     aliases=() if key is None else (key,)))

    async def _first_version(self, seen: Sighting) -> CheckOutcome:
        """A new article, unless the sighting is one of its feed under another query string
        (`Sightings.content_alias`): then its URLs become that article's aliases (and, when
        its text differs, it is a check of that article)."""
        found = await self._store.find_sighting(seen.canonical_url, seen.feed_url,
                                                seen.content.content_hash)
        alias = await self._sightings.content_alias(seen, found)
        if alias is None:
            return await self._recorder.first_version(seen, found.tracked)
        article = alias.article
        await self._store.add_url_aliases(
            article.article_id, list(dict.fromkeys((seen.canonical_url, seen.url,
                                                    *seen.aliases))))
        log.info("url_aliased", article_id=article.article_id,
                 canonical_url=article.canonical_url, edited=alias.edited)
        if alias.edited:
            return await self._recorder.compare(article, seen.content)
        log.info("page_checked", result="alias", article_id=article.article_id,
                 ms=unit_ms())
        return CheckOutcome(ok=True, result="known")

    async def _entry_content(self, entry: FeedEntry) -> Content | None:
        """The article as a full-content feed entry carries it; the headline is the entry's.
        None when the entry could not be extracted within its budget (logged)."""
        try:
            extracted = await self._offload.extract(entry.content_html or "", entry.link)
        except OverBudgetError as exc:
            self._over_budget(str(exc))
            return None
        return make_content(entry.title or extracted.title, extracted.text, normalized=True)
