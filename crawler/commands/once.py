"""`crawler once`: one full pass, then exit (1 if a feed or page failed)."""

from __future__ import annotations

import structlog

from crawler.app import App
from crawler.config import Settings

log = structlog.get_logger(__name__)


async def run_once(settings: Settings) -> int:
    async with App(settings) as app:
        summary = await app.run_pass()
    log.info("pass_finished",
             feeds=len(summary.feeds),
             failed_feeds=sum(1 for f in summary.feeds if not f.ok),
             new_articles=sum(f.new_articles for f in summary.feeds),
             rechecked=summary.checked, failed_checks=summary.failed_checks,
             delivery_attempts=summary.delivery_attempts)
    return 1 if summary.failed else 0
