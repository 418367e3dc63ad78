"""What a check came to (`CheckOutcome`), and the check that comes to nothing because the
article changed since it was read (`as_seen`, `stale`)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from crawler.log_context import unit_ms
from crawler.models import Article, AsSeen
from crawler.store import StaleArticleError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    ok: bool
    result: str
    """"new", "known", "edited", "flapped", "rebaselined", "unchanged", "restored", "deleted",
    "settled", "missing", "gone", "moved", "collapsed", "error_page", "empty", "unreadable"
    (a first sight refused, its entry without text), "stale" (the article changed since it
    was read: nothing recorded) or "error"."""


def as_seen(article: Article) -> AsSeen | None:
    """What a write recording a check of `article` expects to find. A feed-sourced article
    is compared on the polls of any feed, with no lease to keep two of them apart: one
    poll may move it to another feed, or store another version, while another compares it
    as it was read. A page-sourced one is checked under its lease."""
    return article.as_seen if article.source == "feed" else None


def stale(refused: StaleArticleError) -> CheckOutcome:
    """A check decided on the article as it was read, overtaken by another write (a move to
    another feed, another version): recorded, it would compare one feed's entry with
    another's text, an edit nobody made. Nothing is; the next poll compares afresh."""
    moved = refused.seen.tracked_feed != refused.now.tracked_feed
    log.info("entry_stale", article_id=refused.article_id,
             reason="moved to another feed since it was read" if moved else
             "another version was stored since it was read",
             compared_feed=refused.seen.tracked_feed, tracked_feed=refused.now.tracked_feed,
             compared_version=refused.seen.current_version,
             current_version=refused.now.current_version, ms=unit_ms())
    return CheckOutcome(ok=True, result="stale")
