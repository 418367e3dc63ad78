"""Who a page seen for the first time is: the I/O half of identity (`crawler.identity` holds
the pure rules).

Two questions are settled here before a first sighting may become a new article:
- its canonical claim, when it names another URL, is verified by fetching that URL
  (`crawler.identity.judge_claim`): a refused claim leaves the page its own URL;
- a page whose identity is not tracked yet but whose content equals an article already
  tracked from the same feed at the same path (query aside) is that article, reached through
  a cache-busting query string (`?v=123` that changes on every poll): it becomes an alias, not
  a new article, so neither `article.new` nor the re-check load grows with every poll.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from crawler.fetch import Fetcher, FetchError, Response
from crawler.identity import ClaimVerdict, Probe, judge_claim, needs_verification
from crawler.metrics import Metrics
from crawler.models import Article, Content
from crawler.store import Store, url_path
from crawler.urls import normalize_url

# Reads a fetched page, with the headline to use when it names none: what it says it is
# (`article_identity`) and its versioned content; None when it could not be read (budget).
PageReader = Callable[[Response, str], Awaitable[tuple[str, Content] | None]]


class Sightings:
    def __init__(self, store: Store, fetcher: Fetcher, read: PageReader,
                 metrics: Metrics) -> None:
        self._store = store
        self._fetcher = fetcher
        self._read = read
        self._metrics = metrics

    async def identity(self, requested: str, response: Response, claimed: str,
                       content: Content, bound: Any, *, fallback_title: str = "") -> str:
        """The URL naming the article fetched from `requested` (answered by `response`),
        whose page claims `claimed` (`article_identity`) and reads as `content` (read with
        `fallback_title`, which the claimed page is read with too, so that equal pages hash
        alike)."""
        probe = None
        if needs_verification(requested, response.final_url, claimed):
            probe = await self._probe(claimed, fallback_title, bound)
        verdict = judge_claim(requested, response.final_url, claimed, content.content_hash,
                              probe)
        if probe is not None:
            _log_verdict(bound, claimed, verdict)
        return verdict.identity

    async def content_alias(self, feed_url: str, canonical: str,
                            content: Content) -> Article | None:
        """The tracked article this first sighting is another URL of, by content (see the
        module docstring); None when its identity is tracked already (a check of that
        article, the recorder's business) or no article of the feed matches."""
        if await self._store.find_article_by_url(canonical) is not None:
            return None
        return await self._store.find_article_by_content(
            feed_url, url_path(canonical), content.content_hash)

    async def _probe(self, url: str, fallback_title: str, bound: Any) -> Probe:
        try:
            response = await self._fetcher.fetch(url)
        except FetchError as exc:
            self._metrics.page_fetched(exc.kind)
            bound.info("canonical_probe_failed", claimed=url, error=str(exc), kind=exc.kind)
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


def _log_verdict(bound: Any, claimed: str, verdict: ClaimVerdict) -> None:
    if verdict.verified:
        bound.info("canonical_verified", claimed=claimed, reason=verdict.reason)
    else:
        # A page naming another article is either a broken CMS or an attempt to take that
        # article's identity; either way operators want to see it.
        bound.warning("canonical_refused", claimed=claimed, reason=verdict.reason,
                      identity=verdict.identity)
