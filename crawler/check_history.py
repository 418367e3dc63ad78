"""What deciding about one check needs to know of the article's past, read from the store.

`crawler.decision.needs` says which reads a check needs (most checks find the text unchanged
and need none); this makes exactly those and hands `crawler.decision.classify` its `History`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from crawler.decision import SHARED_WINDOW, Gone, History, Rules, needs, window_closed
from crawler.error_pages import text_fingerprint
from crawler.models import Article, Content, VersionMark
from crawler.store import Store


async def read_history(store: Store, article: Article, observed: Content | Gone, rules: Rules,
                       clock: Callable[[], datetime]) -> History:
    """The article's versions, last text, deletion status, how many other articles of its
    site showed the same text lately, and the text last announced, as far as `needs` asks."""
    wanted = needs(article, observed, rules)
    versions: tuple[VersionMark, ...] = ()
    last: Content | None = None
    if wanted.versions:
        versions = tuple(await store.get_version_marks(article.article_id))
        stored = await store.get_last_version(article.article_id)
        if stored is not None:
            last = Content(stored.title, stored.text, stored.content_hash)
    status = (await store.get_deletion_status(article.article_id)
              if wanted.deletion else None)
    shared = 0
    if wanted.texts and isinstance(observed, Content):
        now = clock()
        # Noted before deciding: a placeholder served for many articles at once is told by it.
        shared = await store.note_site_text(
            article.article_id, text_hash=text_fingerprint(observed.text), seen_at=now,
            since=now - timedelta(seconds=SHARED_WINDOW))
    announced: Content | None = None
    if wanted.announced and versions and window_closed(versions, rules, clock()):
        told = next((v for v in await store.get_versions(article.article_id)
                     if v.number == article.announced_version), None)
        if told is not None:
            announced = Content(told.title, told.text, told.content_hash)
    return History(article, versions=versions, last=last, deletion_status=status,
                   shared_with=shared, announced=announced)
