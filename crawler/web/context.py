"""What the web handlers share: the store and the clock, kept on the application."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from crawler.models import Article
from crawler.store.base import Store

STORE = web.AppKey("store", Store)
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")


def store_of(request: web.Request) -> Store:
    return request.app[STORE]


def now_of(request: web.Request) -> datetime:
    return request.app[CLOCK]()


async def article_or_404(request: web.Request) -> Article:
    """The article `{id}` names. Raises HTTPNotFound when there is none."""
    text = request.match_info["id"]
    article = await store_of(request).get_article(int(text)) if text.isdigit() else None
    if article is None:
        raise web.HTTPNotFound(text="no such article\n")
    return article
