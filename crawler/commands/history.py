"""`crawler history URL` and `crawler diff URL`: reading stored versions."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.config import Settings
from crawler.diffing import describe_changes, unified_diff, word_diff
from crawler.models import Article, Content, Version
from crawler.store import open_store
from crawler.urls import normalize_url

_STYLES = {"insert": "bold green", "delete": "bold red strike", "equal": ""}


async def _load(settings: Settings, url: str) -> tuple[Article, list[Version]] | None:
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


def _unknown(url: str) -> int:
    print(f"crawler: no article known for {url}", file=sys.stderr)
    return 1


async def show_history(settings: Settings, url: str) -> int:
    found = await _load(settings, url)
    if found is None:
        return _unknown(url)
    article, versions = found
    if sys.stdout.isatty():
        table = Table(title=f"{article.canonical_url}" + (" (deleted)" if article.deleted else ""))
        for column in ("version", "time (UTC)", "hash", "title"):
            table.add_column(column)
        for v in versions:
            table.add_row(str(v.number), v.fetched_at.strftime("%Y-%m-%d %H:%M:%S"),
                          v.content_hash[:19], v.title)
        Console().print(table)
    else:
        for v in versions:
            print(f"{v.number}\t{v.fetched_at.strftime('%Y-%m-%dT%H:%M:%SZ')}\t"
                  f"{v.content_hash}\t{v.title}")
    return 0


def _content(v: Version) -> Content:
    return Content(v.title, v.text, v.content_hash)


async def show_diff(settings: Settings, url: str, from_version: int | None,
                    to_version: int | None, fmt: str) -> int:
    found = await _load(settings, url)
    if found is None:
        return _unknown(url)
    _, versions = found
    by_number = {v.number: v for v in versions}
    to_n = to_version if to_version is not None else versions[-1].number
    from_n = from_version if from_version is not None else to_n - 1
    if from_n not in by_number or to_n not in by_number:
        known = ", ".join(str(n) for n in by_number)
        if len(versions) == 1 and from_version is None and to_version is None:
            print("crawler: only one version is stored; nothing to compare", file=sys.stderr)
            return 0
        print(f"crawler: version {from_n if from_n not in by_number else to_n} is not stored "
              f"(versions: {known})", file=sys.stderr)
        return 1
    old, new = _content(by_number[from_n]), _content(by_number[to_n])
    if fmt == "auto":
        fmt = "words" if sys.stdout.isatty() else "unified"
    if fmt == "json":
        changes = describe_changes(old, new)
        print(json.dumps({
            "from": from_n, "to": to_n, "previous_hash": old.content_hash,
            "content_hash": new.content_hash,
            "changes": {"title": changes.title, "lead": changes.lead, "body": changes.body,
                        "chars_added": changes.chars_added,
                        "chars_removed": changes.chars_removed,
                        "similarity": changes.similarity},
            "diff": changes.diff,
        }, ensure_ascii=False))
    elif fmt == "unified":
        sys.stdout.write(unified_diff(old, new, f"version {from_n}", f"version {to_n}"))
    else:
        text = Text()
        for change in word_diff(f"{old.title}\n\n{old.text}", f"{new.title}\n\n{new.text}"):
            text.append(change.text, style=_STYLES[change.op])
        Console().print(text)
    return 0
