"""The two plain crawlers the throughput benchmark holds ours against, each run as a process of
its own so that its CPU time and memory are measured alike:

    python -m benchmarks.plain_crawler trafilatura --db FILE FEED_URL...
    python -m benchmarks.plain_crawler floor FEED_URL...

Both fetch every feed with aiohttp, parse it with feedparser and fetch every entry's page, at
most `--per-host` requests at once per host and `--global` overall (ours' settings in the
benchmark: 4 and 16). Neither sends conditional requests nor reads robots.txt.

- trafilatura: extracts the page with trafilatura (the extraction benchmark's settings), hashes
  the text (sha256) and stores it in a SQLite table, one transaction per page (WAL,
  synchronous=FULL, as ours): a new row, an updated text when the hash differs, else the time
  checked. Run twice on one database, the second run is its re-check of every page.
- floor: a whole-page selectolax (lexbor) parse, its text and a sha256 of it, stored nowhere: what
  any crawler that reads a page's text at all pays.

Prints one JSON line: pages fetched, pages whose text was stored or changed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import feedparser

SCHEMA = """CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, title TEXT, text TEXT,
    text_hash TEXT NOT NULL, first_seen REAL NOT NULL, checked_at REAL NOT NULL)"""


class TrafilaturaReader:
    """trafilatura's text of each page, kept in SQLite."""

    def __init__(self, db: Path) -> None:
        import trafilatura

        self._extract = trafilatura.extract
        self._conn = sqlite3.connect(db)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(SCHEMA)
        self._conn.commit()

    def read(self, url: str, body: bytes) -> bool:
        text = self._extract(body, url=url, include_comments=False, include_tables=True,
                             include_formatting=False) or ""
        digest = hashlib.sha256(text.encode()).hexdigest()
        now = time.time()
        with self._conn:
            row = self._conn.execute("SELECT text_hash FROM pages WHERE url = ?",
                                     (url,)).fetchone()
            if row is None:
                self._conn.execute("INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                                   (url, None, text, digest, now, now))
                return True
            if row[0] != digest:
                self._conn.execute("UPDATE pages SET text = ?, text_hash = ?, checked_at = ?"
                                   " WHERE url = ?", (text, digest, now, url))
                return True
            self._conn.execute("UPDATE pages SET checked_at = ? WHERE url = ?", (now, url))
            return False

    def close(self) -> None:
        self._conn.close()


class FloorReader:
    """A whole-page parse, its text and its hash: nothing kept."""

    def __init__(self) -> None:
        from selectolax.lexbor import LexborHTMLParser

        self._parse = LexborHTMLParser

    def read(self, url: str, body: bytes) -> bool:
        tree = self._parse(body)
        root = tree.body or tree.root
        text = root.text(separator="\n") if root is not None else ""
        hashlib.sha256(text.encode()).hexdigest()
        return False

    def close(self) -> None:
        pass


async def crawl(feeds: list[str], reader: TrafilaturaReader | FloorReader, *, per_host: int,
                overall: int) -> dict[str, int]:
    total = asyncio.Semaphore(overall)
    hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))
    counts = {"pages": 0, "stored": 0, "failed": 0}

    async def get(session: aiohttp.ClientSession, url: str) -> bytes | None:
        # The host's slot first, then a global one: a slow host holds only its own slots.
        async with hosts[urlsplit(url).netloc], total:
            try:
                async with session.get(url) as response:
                    if response.status != 200:
                        return None
                    return await response.read()
            except (aiohttp.ClientError, TimeoutError):
                return None

    async def page(session: aiohttp.ClientSession, url: str) -> None:
        body = await get(session, url)
        if body is None:
            counts["failed"] += 1
            return
        counts["pages"] += 1
        counts["stored"] += reader.read(url, body)

    async def feed(session: aiohttp.ClientSession, url: str) -> None:
        body = await get(session, url)
        if body is None:
            counts["failed"] += 1
            return
        parsed = feedparser.parse(body)
        await asyncio.gather(*(page(session, e.link) for e in parsed.entries if "link" in e))

    timeout = aiohttp.ClientTimeout(total=20)
    connector = aiohttp.TCPConnector(limit=overall * 2)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(feed(session, url) for url in feeds))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description="A plain crawler of the throughput benchmark")
    parser.add_argument("kind", choices=("trafilatura", "floor"))
    parser.add_argument("feeds", nargs="+")
    parser.add_argument("--db", type=Path, help="the trafilatura crawler's SQLite file")
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--global", dest="overall", type=int, default=16)
    args = parser.parse_args()
    if args.kind == "trafilatura" and args.db is None:
        parser.error("the trafilatura crawler needs --db")
    reader = TrafilaturaReader(args.db) if args.kind == "trafilatura" else FloorReader()
    try:
        counts = asyncio.run(crawl(args.feeds, reader, per_host=args.per_host,
                                   overall=args.overall))
    finally:
        reader.close()
    print(json.dumps(counts))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
