"""Who a page seen for the first time is: the I/O half of identity (`crawler.identity` holds
the pure rules).

Two questions are settled here before a first sighting may become a new article:
- its canonical claim, when it names another URL, is verified by fetching that URL
  (`crawler.identity.judge_claim`): a refused claim leaves the page its own URL;
- a page whose identity is not tracked yet but whose content equals an article already
  tracked from the same feed at the same path (query aside) is that article, reached through
  a cache-busting query string (`?v=123` that changes on every poll): it becomes an alias, not
  a new article, so neither `article.new` nor the re-check load grows with every poll. So is
  one whose content differs when it is the only article at that path and its own page now
  reads the same (the story was edited since), or, for an article tracked from its feed entry
  (which has no page to ask), when it keeps its headline and most of its words: then the
  sighting is a check of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from crawler.decision import collapses
from crawler.fetch import Fetcher, FetchError, Response
from crawler.identity import ClaimVerdict, Probe, judge_claim, needs_verification
from crawler.metrics import Metrics
from crawler.models import Article, Content, Sighting
from crawler.store import SightingMatch
from crawler.urls import normalize_url

log = structlog.get_logger(__name__)

# Reads a fetched page, with the headline to use when it names none: what it says it is
# (`article_identity`) and its versioned content; None when it could not be read (budget).
PageReader = Callable[[Response, str], Awaitable[tuple[str, Content] | None]]
# The text of an article's current version; None when it has none.
LastText = Callable[[int], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Alias:
    """A first sighting found to be a tracked article under another URL."""

    article: Article
    edited: bool
    """Its text is not the article's current one (the article's own page now reads the same):
    the sighting is a check of the article."""


class Sightings:
    def __init__(self, fetcher: Callable[[], Fetcher], read: PageReader,
                 metrics: Metrics, last_text: LastText) -> None:
        """`fetcher`: the fetcher in use now (a reload that changes `[fetch]` replaces it, and
        the one replaced is closed soon after)."""
        self._fetcher = fetcher
        self._read = read
        self._metrics = metrics
        self._last_text = last_text

    async def identity(self, requested: str, final_url: str, claimed: str,
                       content: Content, *, fallback_title: str = "") -> str:
        """The URL naming the article fetched from `requested` (answered from `final_url`),
        whose page claims `claimed` (`article_identity`) and reads as `content` (read with
        `fallback_title`, which the claimed page is read with too, so that equal pages hash
        alike)."""
        probe = None
        if needs_verification(requested, final_url, claimed):
            probe = await self._probe(claimed, fallback_title)
        verdict = judge_claim(requested, final_url, claimed, content.content_hash,
                              probe)
        if probe is not None:
            _log_verdict(claimed, verdict)
        return verdict.identity

    async def content_alias(self, seen: Sighting, found: SightingMatch) -> Alias | None:
        """The tracked article this first sighting is another URL of (see the module
        docstring), from what the store knows of it (`found`: `Store.find_sighting`); None
        when its identity is tracked already (a check of that article, the recorder's
        business) or it is no article of its feed seen again."""
        if found.tracked is not None:
            return None
        if found.same_content is not None:
            return Alias(found.same_content, edited=False)
        # The text differs: a story edited since it was last seen under another cache-buster,
        # or another story whose query selects it (`article.php?id=2`). Only the one article
        # at this path (of the sighting's source) can be it: with several, the query does
        # select stories.
        at_path = found.at_path
        if len(at_path) != 1 or at_path[0].source != seen.source:
            return None
        if seen.source == "feed":
            return await self._edited_entry(seen, at_path[0])
        # Its page tells, fetched now: if it reads as this sighting, the query selects nothing.
        probe = await self._probe(at_path[0].url, seen.content.title)
        if probe.status == 200 and probe.content_hash == seen.content.content_hash:
            return Alias(at_path[0], edited=True)
        return None

    async def _edited_entry(self, seen: Sighting, only: Article) -> Alias | None:
        """A feed-sourced article has no page to ask: a sighting from its feed entry that has
        its headline and keeps most of its words is that article edited and listed under a
        new cache-buster. Taken as a new article, the edit would be an `article.new` and the
        article would never be compared again."""
        if only.title != seen.content.title:
            return None
        last = await self._last_text(only.article_id)
        if last is None or collapses(last, seen.content.text):
            return None
        return Alias(only, edited=True)

    async def _probe(self, url: str, fallback_title: str) -> Probe:
        try:
            response = await self._fetcher().fetch(url)
        except FetchError as exc:
            self._metrics.page_fetched(exc.kind)
            log.info("probe_failed", probed=url, error=str(exc), kind=exc.kind)
            return Probe(status=None)
        self._metrics.page_fetched(response.status)
        final = _normalized(response.final_url)
        if response.status != 200:
            return Probe(status=response.status, final_url=final)
        read = await self._read(response, fallback_title)
        if read is None:
            return Probe(status=None)
        identity, content = read
        return Probe(status=200, final_url=final, identity=identity,
                     content_hash=content.content_hash if content.text else "")


def _normalized(url: str) -> str:
    try:
        return normalize_url(url)
    except ValueError:
        return ""


def _log_verdict(claimed: str, verdict: ClaimVerdict) -> None:
    if verdict.verified:
        log.info("canonical_verified", claimed=claimed, reason=verdict.reason)
    else:
        # A page naming another article is either a broken CMS or an attempt to take that
        # article's identity; either way operators want to see it.
        log.warning("canonical_refused", claimed=claimed, reason=verdict.reason,
                    identity=verdict.identity)
