"""robots.txt per RFC 9309, fetched once per origin and cached.

Outcomes of fetching `/robots.txt` (RFC 9309 section 2.3.1):
* 2xx: parsed with protego (at most ROBOTS_MAX_BYTES are read; a longer file is truncated and
  what was read still applies), cached for a day;
* 4xx other than 429 ("unavailable"): everything allowed, cached for a day;
* 429, 5xx, timeout or network error ("unreachable"): everything disallowed, retried after
  UNREACHABLE_TTL so a site that was briefly down is not shunned for a day.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from protego import Protego
from yarl import URL

from crawler.fetch.errors import FetchError
from crawler.fetch.urlcheck import origin_of

log = structlog.get_logger(__name__)

ROBOTS_TOKEN = "crawler"  # noqa: S105 - the product token robots.txt groups are matched against
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB
CACHE_TTL = 24 * 3600.0
UNREACHABLE_TTL = 30 * 60.0
_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class RobotsAnswer:
    """What fetching a robots.txt gave: a status and the (possibly truncated) body."""

    status: int
    body: bytes


# Fetches the robots.txt URL through the fetcher's own safety checks; raises FetchError.
RobotsLoader = Callable[[URL], Awaitable[RobotsAnswer]]


@dataclass(frozen=True, slots=True)
class _Rules:
    parser: Protego | None  # None: the verdict below applies to every path
    allow_all: bool
    expires_at: float
    # Why robots.txt could not be read (None: it was read, or is unavailable). An operator
    # reading "disallowed" must be able to tell a site's rule from our network being down.
    unreachable: str | None = None

    @property
    def refusal_kind(self) -> str:
        # "robots_disallowed" is the site's lasting wish; "robots_unreachable" a passing state.
        return "robots_disallowed" if self.unreachable is None else "robots_unreachable"

    def refusal(self, now: float) -> str:
        if self.unreachable is None:
            return "disallowed by robots.txt"
        # Counted from now, not from when it failed: the same cached refusal is told to
        # every fetch until the next try, and "in 30 minutes" would stay 30 minutes.
        minutes = max(1, math.ceil((self.expires_at - now) / 60))
        return (f"robots.txt could not be read ({self.unreachable}): nothing is fetched from "
                f"this site until it can be (RFC 9309); asked again in {minutes} min")

    def allows(self, url: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, ROBOTS_TOKEN))

    def crawl_delay(self) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(ROBOTS_TOKEN)
        return float(delay) if delay is not None else None


class RobotsCache:
    """Per-origin robots.txt rules. One per Fetcher, used inside one event loop."""

    def __init__(self, loader: RobotsLoader, clock: Callable[[], float]) -> None:
        self._loader = loader
        self._clock = clock
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: URL) -> float | None:
        """The origin's Crawl-delay for us (None if it sets none) when `url` may be fetched.

        Raises FetchError("robots_disallowed") when robots.txt forbids it,
        FetchError("robots_unreachable") while robots.txt cannot be read, and lets
        FetchError("blocked_address") from fetching robots.txt through.
        """
        rules = await self._rules_for(url)
        if not rules.allows(str(url)):
            raise FetchError(rules.refusal_kind, str(url), rules.refusal(self._clock()))
        return rules.crawl_delay()

    async def _rules_for(self, url: URL) -> _Rules:
        origin = origin_of(url)
        rules = self._fresh(origin)
        if rules is not None:
            return rules
        # One fetch per origin at a time; the others wait for its result.
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            rules = self._fresh(origin)
            if rules is None:
                robots_url = url.with_path("/robots.txt", encoded=True).with_query(None)
                rules = await self._load(robots_url)
                if len(self._rules) >= _MAX_ENTRIES:
                    self._evict()
                self._rules[origin] = rules
        return rules

    def _fresh(self, origin: str) -> _Rules | None:
        rules = self._rules.get(origin)
        if rules is not None and rules.expires_at > self._clock():
            return rules
        return None

    def _evict(self) -> None:
        now = self._clock()
        for origin, rules in list(self._rules.items()):
            if rules.expires_at <= now:
                del self._rules[origin]
                self._locks.pop(origin, None)
        while len(self._rules) >= _MAX_ENTRIES:  # still full: drop the oldest inserted
            origin = next(iter(self._rules))
            del self._rules[origin]
            self._locks.pop(origin, None)

    async def _load(self, robots_url: URL) -> _Rules:
        now = self._clock()
        try:
            answer = await self._loader(robots_url)
        except FetchError as exc:
            if exc.kind == "blocked_address":
                raise
            log.warning("robots_unreachable", url=str(robots_url), reason=exc.kind,
                        error=exc.message, next_try_in_s=UNREACHABLE_TTL)
            return _Rules(None, allow_all=False, expires_at=now + UNREACHABLE_TTL,
                          unreachable=exc.message if exc.kind == "connection"
                          else f"{exc.kind}: {exc.message}")
        status = answer.status
        if 200 <= status < 300:
            text = answer.body.decode("utf-8", errors="replace").removeprefix("\ufeff")
            return _Rules(Protego.parse(text), allow_all=True, expires_at=now + CACHE_TTL)
        if status == 429 or status >= 500:
            log.warning("robots_unreachable", url=str(robots_url), status=status)
            return _Rules(None, allow_all=False, expires_at=now + UNREACHABLE_TTL,
                          unreachable=f"HTTP {status}")
        # 4xx, and 3xx left over once redirects ran out: "unavailable", so no restrictions.
        log.debug("robots_unavailable", url=str(robots_url), status=status)
        return _Rules(None, allow_all=True, expires_at=now + CACHE_TTL)

