"""Extraction and diffing under a budget, off the event loop when the input is big.

Measured on this project's extractor (2 cores): ordinary pages extract in 2-16 ms (1.4 MB
pages included) and ordinary edits diff in milliseconds, so they stay on the loop, where a
worker's round trip would only add latency. What freezes a daemon is input that is big or
pathological: a 5 MB paragraph with one word edited (about a minute of difflib), a 250,000-deep
`<div>` page (over two minutes inside lexbor's parser, see `crawler.extract.shape`). So:

- a page body over `inline_bytes`, or an entry's HTML or a feed over it, is extracted (parsed)
  in a worker process
  (`crawler.workers`) with a deadline of `page_seconds`; past it the worker is killed and the
  page is `OverBudgetError` (the check is recorded as failed and backs off like any failure);
- a check whose versions together are over `inline_chars`, or whose diff would look at over
  `inline_pairs` pairs of equal paragraphs or words (repeated ones: 6,000 paragraphs "Ad"
  took 5 s), is classified (diff, sentences and kinds of an edit:
  `crawler.decision.classify`) in a worker with a deadline of `diff_seconds`;
  past it, or for texts over `max_diff_chars`, the edit is described by the linear
  `cheap_edit` instead (the edit is still announced, with coarser counts).

Everything below the thresholds takes the same code path as before, so extraction and diff
output do not change for ordinary pages. Without a worker pool (commands that extract one
file) the work runs inline, budgets on depth still applying.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog

from crawler.cheap_diff import cheap_edit
from crawler.decision import Decision, Gone, History, Rules, classify
from crawler.diffing import exact_match_cost
from crawler.extract import ExtractedArticle, extract_article
from crawler.feeds import parse_feed
from crawler.models import Content, ParsedFeed, SiteRules
from crawler.pages import read_with_rules
from crawler.workers import WorkerCrashedError, WorkerPool, WorkerTimeoutError

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Budget:
    inline_bytes: int = 512 * 1024
    """Pages (and entries) up to this size are extracted on the loop: bounded by the depth cap
    to ~0.2 s even when built to be slow (512 KB of 512-deep nesting)."""
    page_seconds: float = 20.0
    """Deadline of one page's extraction in a worker (a 9 MB page of text takes ~1 s)."""
    inline_chars: int = 100_000
    """Diffs of texts up to this many characters (both versions) stay on the loop..."""
    inline_pairs: int = 1_000_000
    """...when their exact match looks at no more pairs of equal paragraphs or words than this
    (`crawler.diffing.exact_match_cost`; ~0.1 s): a short text of repeated paragraphs costs
    what a long one does."""
    diff_seconds: float = 10.0
    max_diff_chars: int = 2_000_000
    """Beyond this (both versions) the word match is not attempted at all."""


DEFAULT_BUDGET = Budget()


class OverBudgetError(Exception):
    """The page could not be extracted within its budget (the message says how)."""


class Offload:
    """Runs extraction and diffing within `budget`, in `pool` when the input is big."""

    def __init__(self, pool: WorkerPool | None, budget: Budget = DEFAULT_BUDGET) -> None:
        self._pool = pool
        self.budget = budget

    def heavy(self, size: int) -> bool:
        """A page of `size` bytes is extracted in a worker."""
        return self._pool is not None and size > self.budget.inline_bytes

    async def read_page(self, body: bytes, content_type: str | None, url: str,
                        rules: SiteRules | None, *,
                        fallback_title: str) -> tuple[ExtractedArticle, Content]:
        """`crawler.pages.read_page` within the budget. Raises `OverBudgetError`."""
        if not self.heavy(len(body)):
            return read_with_rules(body, content_type, url, rules,
                                   fallback_title=fallback_title)
        return await self._in_worker(f"extraction of {len(body)} bytes", read_with_rules,
                                     body, content_type, url, rules, fallback_title)

    async def extract(self, html: str, url: str) -> ExtractedArticle:
        """`extract_article` of a feed entry's HTML within the budget. Raises
        `OverBudgetError`."""
        if not self.heavy(len(html)):
            return extract_article(html, url)
        return await self._in_worker(f"extraction of {len(html)} characters", extract_article,
                                     html, url)

    async def parse_feed(self, body: bytes, feed_url: str) -> ParsedFeed:
        """`crawler.feeds.parse_feed` within the budget: in a thread (an ordinary feed takes
        milliseconds), or, for a body over `inline_bytes`, in a worker with a deadline of
        `page_seconds`. feedparser reads a malformed feed of a few MB for many seconds, and
        would on every poll: past the deadline the poll fails and backs off like any
        failure. Raises `FeedParseError`, `OverBudgetError`."""
        if not self.heavy(len(body)):
            return await asyncio.to_thread(parse_feed, body, feed_url)
        return await self._in_worker(f"parsing {len(body)} bytes of feed", parse_feed,
                                     body, feed_url)

    async def _in_worker(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker under the page deadline; `OverBudgetError` (saying `what`
        was over it) when the worker is killed at the deadline or dies."""
        if self._pool is None:  # `heavy` is never true without a pool
            raise RuntimeError("no worker pool")
        try:
            return await self._pool.run(fn, *args, deadline=self.budget.page_seconds)
        except (WorkerTimeoutError, WorkerCrashedError) as exc:
            raise OverBudgetError(f"{what}: {exc}") from exc

    def _cheap_enough(self, history: History, observed: Content) -> bool:
        """The edits `classify` may describe (from the last version, or from the one receivers
        were told of) are cheap enough to diff on the loop."""
        olds = [old for old in (history.last, history.announced) if old is not None]
        return all(exact_match_cost(old, observed) <= self.budget.inline_pairs for old in olds)

    async def classify(self, history: History, observed: Content | Gone, rules: Rules,
                       now: datetime) -> Decision:
        """`crawler.decision.classify` within the budget: an edit of texts too big for the
        word match is described by `cheap_edit` (see the module). Never raises for big input;
        raises what `classify` raises."""
        last = history.last
        # Only an edit is described, and only a check given the last text can be one (an
        # unchanged page of 9 MB is recognised by its hash alone).
        if isinstance(observed, Gone) or last is None:
            return classify(history, observed, rules, now)
        size = len(last.text) + len(observed.text)
        if size <= self.budget.inline_chars and self._cheap_enough(history, observed):
            return classify(history, observed, rules, now)
        if self._pool is not None and size <= self.budget.max_diff_chars:
            try:
                return await self._pool.run(classify, history, observed, rules, now,
                                            deadline=self.budget.diff_seconds)
            except (WorkerTimeoutError, WorkerCrashedError) as exc:
                log.warning("diff_over_budget", chars=size, reason=str(exc))
        else:
            log.info("diff_over_budget", chars=size, reason="too long for a word match")
        if self._pool is not None:
            # Linear, yet a third of a second at 9 MB: off the loop too when it can be.
            try:
                return await self._pool.run(classify_cheaply, history, observed, rules, now,
                                            deadline=self.budget.diff_seconds)
            except (WorkerTimeoutError, WorkerCrashedError) as exc:
                log.warning("diff_over_budget", chars=size, reason=str(exc))
        return classify_cheaply(history, observed, rules, now)


def classify_cheaply(history: History, observed: Content | Gone, rules: Rules,
                     now: datetime) -> Decision:
    """`classify` with an edit described by `cheap_edit` (a worker runs it: module-level)."""
    return classify(history, observed, rules, now, describe=cheap_edit)
