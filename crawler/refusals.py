"""Links whose page was refused (401, 403, robots.txt) while their entry carries no text:
nothing can be tracked of them (`crawler.entries`), and asking on every poll of a feed that
keeps changing would only repeat the refusal. Each is asked again on the article re-check
schedule (`[recheck] intervals`, counted from its first refusal; never again once past
`max_age`), as a page is re-checked.

Kept in memory only, at most `max_links` (the oldest refusal is forgotten first, and then
asked again at its next sight): a restart asks each one once more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from crawler.config import RecheckSettings
from crawler.schedule import next_recheck

MAX_LINKS = 4096


@dataclass(frozen=True, slots=True)
class Refusal:
    first_at: datetime
    count: int
    retry_at: datetime | None
    """None: never asked again (past the re-check `max_age`)."""


class Refusals:
    def __init__(self, recheck: Callable[[], RecheckSettings], *,
                 max_links: int = MAX_LINKS) -> None:
        """`recheck`: the re-check settings in use (a reload may change them)."""
        self._recheck = recheck
        self._max_links = max_links
        self._refused: dict[str, Refusal] = {}

    def waiting(self, link: str, now: datetime) -> bool:
        """True while `link` was refused and is not to be asked again yet."""
        refusal = self._refused.get(link)
        return refusal is not None and (refusal.retry_at is None or now < refusal.retry_at)

    def refused(self, link: str, now: datetime) -> Refusal:
        """`link` was refused at `now`: when to ask again."""
        before = self._refused.pop(link, None)
        first_at = now if before is None else before.first_at
        count = 1 if before is None else before.count + 1
        retry_at = next_recheck(first_at, count - 1, now, self._recheck())
        self._refused[link] = refusal = Refusal(first_at, count, retry_at)
        while len(self._refused) > self._max_links:
            self._refused.pop(next(iter(self._refused)))
        return refusal

    def readable(self, link: str) -> None:
        """`link` answered with its page, or its entry now carries the article."""
        self._refused.pop(link, None)
