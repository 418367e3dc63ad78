"""How fast the web view, the feed of changes and the API answer on a large database: the
pages as a browser or feed reader gets them, over HTTP from the daemon's own endpoint.

    .venv/bin/python benchmarks/web.py                     # SQLite, 100,000 articles
    .venv/bin/python benchmarks/web.py --articles 10000    # a quick run

The database is `benchmarks/read_queries.py`'s (N articles over 10 feeds, 5 versions and 5
events each: 500,000 events for 100,000 articles), except that the newest `--long` articles,
those the first pages and the feed show, get texts of a real article's length (about 3,000
characters in 8 paragraphs, one paragraph edited per version), so the word diffs of the feed
cost what they cost in use. Each path is fetched through `crawler.httpapi.HttpApi` on
127.0.0.1 (the store opened read-only, as the reading commands open it) with one client;
reported: the median of `--repeats` requests after a warm-up, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import structlog  # noqa: E402

from benchmarks.read_queries import FEEDS, T0, _fill_sqlite, _rows  # noqa: E402
from crawler.httpapi import HttpApi  # noqa: E402
from crawler.metrics import Metrics  # noqa: E402
from crawler.store.records import encode_text  # noqa: E402
from crawler.store.sqlite import SQLiteStore  # noqa: E402
from crawler.web.paging import encode_cursor  # noqa: E402

SENTENCE = ("The regional authorities said on Tuesday that the storm had damaged {n} homes "
            "along the northern coast, and that residents would be allowed back soon. ")


def _long_text(article: int, version: int) -> str:
    """Eight paragraphs of about 375 characters; paragraph `version` differs per version."""
    paras = []
    for p in range(8):
        n = article + (version if p == version % 8 else 0)
        paras.append((SENTENCE.format(n=n + p) * 3).strip())
    return "\n\n".join(paras)


def _with_long_texts(rows: tuple[list[tuple[Any, ...]], ...], articles: int, long: int
                     ) -> tuple[list[tuple[Any, ...]], ...]:
    arts, versions, events = rows
    first_long = articles - long
    versions = [(a, n, h, title, encode_text(_long_text(a, n)) if a > first_long else text, at)
                for a, n, h, title, text, at in versions]
    return arts, versions, events


async def _median_ms(session: aiohttp.ClientSession, url: str, repeats: int) -> float:
    async def fetch() -> None:
        async with session.get(url) as resp:
            assert resp.status == 200, (url, resp.status)
            await resp.read()

    await fetch()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await fetch()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def _run(args: argparse.Namespace) -> None:
    rows: tuple[list[tuple[Any, ...]], ...] = _rows(args.articles)
    rows = _with_long_texts(rows, args.articles, min(args.long, args.articles))
    events = len(rows[2])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "web.db"
        await SQLiteStore(path).migrate()
        _fill_sqlite(path, rows)
        store = SQLiteStore(path, readonly=True)
        await store.open()

        async def health() -> dict[str, bool]:
            return {"database": True}

        api = HttpApi("127.0.0.1", 0, Metrics(), health, store=store)
        await api.start()
        try:
            base = f"http://127.0.0.1:{api.port}"
            newest = args.articles
            middle = args.articles // 2
            middle_event = encode_cursor((T0 + timedelta(seconds=30 * middle),
                                          f"evt_{middle:08d}1"))
            cases = [
                ("/", "/"),
                ("/ ?type=edited", "/?type=edited"),
                ("/ ?feed= (one of 10 feeds)", f"/?feed={FEEDS[3]}"),
                ("/ ?q=storm (1 title in 8)", "/?q=storm"),
                ("/ page in the middle", f"/?before={quote(middle_event)}"),
                ("/changes.atom", "/changes.atom"),
                ("/changes.atom ?type=edited", "/changes.atom?type=edited"),
                ("/articles/{id}", f"/articles/{newest}"),
                ("/articles/{id}/diff", f"/articles/{newest}/diff"),
                ("/api/changes", "/api/changes"),
                ("/api/articles", "/api/articles"),
            ]
            async with aiohttp.ClientSession() as session:
                results = [(name, await _median_ms(session, base + path, args.repeats))
                           for name, path in cases]
        finally:
            await api.stop()
            await store.close()
    width = max(len(name) for name, _ in results)
    print(f"{args.articles:,} articles, {events:,} events (the newest {args.long:,} articles "
          f"with full-length texts); SQLite; median of {args.repeats} requests, ms")
    for name, ms in results:
        print(f"{name:<{width}}  {ms:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--long", type=int, default=2_000,
                        help="the newest articles to give full-length texts")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
