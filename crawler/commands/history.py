"""`crawler history ARTICLE`: the stored versions of one article."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.config import Settings
from crawler.models import Article, Version
from crawler.store import open_store
from crawler.terminal import printable_line
from crawler.urls import normalize_url


async def load_article(settings: Settings, url: str) -> tuple[Article, list[Version]] | None:
    """The article `url` leads to and its versions, oldest first, from the store opened
    read-only; None when no article is known for it."""
    store = open_store(settings.storage, readonly=True)
    try:
        await store.open()
        try:
            key = normalize_url(url)
        except ValueError:
            return None
        article = await store.find_article_by_url(key)
        if article is None:
            return None
        return article, await store.get_versions(article.article_id)
    finally:
        await store.close()


def unknown(url: str) -> int:
    print(f"crawler: no article known for {url}", file=sys.stderr)
    return 1


async def show_history(settings: Settings, url: str) -> int:
    found = await load_article(settings, url)
    if found is None:
        return unknown(url)
    article, versions = found
    if sys.stdout.isatty():
        title = printable_line(article.canonical_url) + (" (deleted)" if article.deleted else "")
        # Text cells: a headline is never read as rich markup.
        table = Table(title=Text(title))
        for column in ("version", "time (UTC)", "hash", "title"):
            table.add_column(column)
        for v in versions:
            table.add_row(str(v.number), v.fetched_at.strftime("%Y-%m-%d %H:%M:%S"),
                          v.content_hash[:19], Text(printable_line(v.title)))
        Console().print(table)
    else:
        for v in versions:
            print(f"{v.number}\t{v.fetched_at.strftime('%Y-%m-%dT%H:%M:%SZ')}\t"
                  f"{v.content_hash}\t{printable_line(v.title)}")
    return 0
