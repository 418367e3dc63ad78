"""How fast the store's read queries (`crawler.store.reads`) answer on a large database: the
lists the reading commands (and the web view) page through, first page and deep pages.

    .venv/bin/python benchmarks/read_queries.py                     # SQLite, 100,000 articles
    .venv/bin/python benchmarks/read_queries.py --articles 10000    # a quick run
    .venv/bin/python benchmarks/read_queries.py --postgres URL      # also on an empty,
                                                                    # migrated PostgreSQL database

The schema is the stores' own (`migrate()`); the rows are bulk-inserted with plain SQL, not
through the write API (which would take an hour for half a million events): N articles over 10
feeds, each with 5 versions and 5 events (one `article.new`, four `article.edited` whose payload
carries a `changes` object), stored in the stores' text encoding. Payloads are short (about 300
bytes of JSON): the timings measure the queries, not the decompression of long texts. Each query
runs through the `Store` API on a read-only store; reported: the median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

from crawler.store.base import Store  # noqa: E402
from crawler.store.records import encode_text  # noqa: E402
from crawler.store.sqlite import SQLiteStore  # noqa: E402
from crawler.store.sqlite_rows import encode_time  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FEEDS = [f"https://site{n}.example/rss.xml" for n in range(10)]
VERSIONS = 5
WORDS = ["storm", "election", "summit", "market", "court", "strike", "budget", "vote"]


def _rows(articles: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]],
                                  list[tuple[Any, ...]]]:
    """Articles, versions and events as tuples with Python times (each store encodes them)."""
    arts, versions, events = [], [], []
    for i in range(1, articles + 1):
        seen = T0 + timedelta(seconds=30 * i)
        feed = FEEDS[i % len(FEEDS)]
        title = f"{WORDS[i % len(WORDS)].title()} report number {i}"
        url = f"https://site{i % 10}.example/news/{i}.html"
        arts.append((i, url, url, feed, seen, seen + timedelta(hours=VERSIONS),
                     None if i % 3 else seen + timedelta(days=1), VERSIONS, f"sha256:{i}:5",
                     title, 0, f"site{i % 10}.example"))
        for n in range(1, VERSIONS + 1):
            at = seen + timedelta(hours=n - 1)
            versions.append((i, n, f"sha256:{i}:{n}", title, encode_text(f"text {i} {n}"), at))
            kind = "article.new" if n == 1 else "article.edited"
            data: dict[str, Any] = {"article": {"url": url, "canonical_url": url,
                                                "feed_url": feed, "title": title},
                                    "source": "page", "version": n}
            if n > 1:
                data["changes"] = {"title": False, "lead": False, "body": True,
                                   "chars_added": n, "chars_removed": 1, "similarity": 0.99}
            payload = json.dumps({"type": kind, "timestamp": at.isoformat(), "data": data})
            events.append((f"evt_{i:08d}{n}", kind, i, n, at, encode_text(payload)))
    return arts, versions, events


_INSERTS = (
    "INSERT INTO articles (id, canonical_url, url, feed_url, first_seen_at, last_checked_at,"
    " next_check_at, current_version, current_hash, title, deleted, host)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO versions (article_id, number, content_hash, title, text, fetched_at)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "INSERT INTO events (id, type, article_id, version, created_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?)",
)


def _fill_sqlite(path: Path, rows: tuple[list[tuple[Any, ...]], ...]) -> None:
    def encoded(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(encode_time(v) if isinstance(v, datetime) else v for v in row)

    with sqlite3.connect(path) as db:
        for sql, table in zip(_INSERTS, rows, strict=True):
            db.executemany(sql, (encoded(r) for r in table))
        db.executemany("INSERT INTO article_urls (url, article_id) VALUES (?, ?)",
                       ((r[1], r[0]) for r in rows[0]))
        db.execute("ANALYZE")


def _fill_postgres(url: str, rows: tuple[list[tuple[Any, ...]], ...]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for sql, table in zip(_INSERTS, rows, strict=True):
            pg_sql = sql.replace("?", "%s")
            with conn.cursor() as cur:
                cur.executemany(pg_sql.encode(),
                                [tuple(bool(v) if sql.startswith("INSERT INTO articles")
                                       and k == 10 else v for k, v in enumerate(r))
                                 for r in table])
        with conn.cursor() as cur:
            cur.executemany(b"INSERT INTO article_urls (url, article_id) VALUES (%s, %s)",
                            [(r[1], r[0]) for r in rows[0]])
        conn.execute(b"ANALYZE")


async def _median_ms(call: Callable[[], Awaitable[object]], repeats: int) -> float:
    await call()  # warm the cache: the figure is a steady state
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def _measure(store: Store, articles: int, repeats: int) -> list[tuple[str, float]]:
    await store.open()
    try:
        middle_article = (T0 + timedelta(seconds=30 * (articles // 2)), articles // 2)
        middle_event = (T0 + timedelta(seconds=30 * (articles // 2)), f"evt_{articles // 2:08d}1")
        cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("articles, first page", lambda: store.list_articles(limit=50)),
            ("articles, page in the middle",
             lambda: store.list_articles(limit=50, before=middle_article)),
            ("articles of one feed", lambda: store.list_articles(feed_url=FEEDS[3], limit=50)),
            ("articles, search (frequent word)",
             lambda: store.list_articles(search="storm", limit=50)),
            ("articles, search (one match)",
             lambda: store.list_articles(search=f"number {articles // 3} ", limit=50)),
            ("changes, first page", lambda: store.list_events(limit=50)),
            ("changes, page in the middle",
             lambda: store.list_events(limit=50, before=middle_event)),
            ("changes of one type",
             lambda: store.list_events(event_type="article.edited", limit=50)),
            ("changes of one feed", lambda: store.list_events(feed_url=FEEDS[3], limit=50)),
            ("changes of the last day",
             lambda: store.list_events(since=T0 + timedelta(seconds=30 * articles)
                                       - timedelta(days=1), limit=50)),
            ("one article's events", lambda: store.article_events(articles // 2)),
            ("an article by URL", lambda: store.find_article_by_urls(
                [f"https://site{(articles // 2) % 10}.example/news/{articles // 2}.html"])),
        ]
        return [(name, await _median_ms(call, repeats)) for name, call in cases]
    finally:
        await store.close()


async def _run(args: argparse.Namespace) -> None:
    rows = _rows(args.articles)
    results: dict[str, list[tuple[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reads.db"
        writer = SQLiteStore(path)
        await writer.migrate()
        _fill_sqlite(path, rows)
        results["SQLite"] = await _measure(SQLiteStore(path, readonly=True), args.articles,
                                           args.repeats)
    if args.postgres:
        from crawler.store.postgres import PostgresStore

        await PostgresStore(args.postgres).migrate()
        _fill_postgres(args.postgres, rows)
        results["PostgreSQL"] = await _measure(PostgresStore(args.postgres, readonly=True),
                                               args.articles, args.repeats)
    stores = list(results)
    names = [name for name, _ in results[stores[0]]]
    width = max(len(name) for name in names)
    print(f"{args.articles:,} articles, {len(rows[2]):,} events; median of {args.repeats} runs, ms")
    print(f"{'query':<{width}}" + "".join(f"{s:>12}" for s in stores))
    for name in names:
        print(f"{name:<{width}}" + "".join(f"{dict(results[s])[name]:>12.2f}" for s in stores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--postgres", metavar="URL",
                        help="an empty PostgreSQL database to fill and measure too")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
