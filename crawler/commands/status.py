"""`crawler status`: feeds, articles and the delivery queue, read from the database.

It reads what the daemon wrote, so it works while the daemon runs (WAL readers never block
the writer) and shows no secret: webhook endpoints are named by URL only.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crawler.config import Settings
from crawler.models import FeedState
from crawler.store.sqlite import SQLiteStore


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def _read(db: Path) -> tuple[dict[str, FeedState], int, int, int, int, int]:
    store = SQLiteStore(db)
    await store.open()
    try:
        feeds = {f.feed_url: f for f in await store.list_feed_states()}
        articles = await store.count_articles()
        versions = await store.count_versions()
        pending = await store.count_pending_deliveries()
        failed = len(await store.list_deliveries(("failed",)))
        disabled = len(await store.list_deliveries(("disabled",)))
    finally:
        await store.close()
    return feeds, articles, versions, pending, failed, disabled


def show_status(settings: Settings) -> int:
    db = Path(settings.storage.database)
    if not db.exists():
        print(f"crawler: no database at {db} yet (the daemon has not run)", file=sys.stderr)
        return 1
    feeds, articles, versions, pending, failed, disabled = asyncio.run(_read(db))

    table = Table(title="feeds")
    for column in ("feed", "last poll (UTC)", "result", "entries", "next poll (UTC)", "errors",
                   "last error"):
        table.add_column(column)
    for feed in settings.feeds:
        state = feeds.get(feed.url)
        if state is None:
            table.add_row(feed.url, "never", "-", "-", "-", "0", "-")
            continue
        entries = "-" if state.entries is None else str(state.entries)
        table.add_row(feed.url, _when(state.last_polled_at), state.last_status or "-", entries,
                      _when(state.next_poll_at), str(state.consecutive_errors),
                      (state.last_error or "-")[:80])
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    console.print(f"articles tracked: {articles}, versions stored: {versions}")
    console.print(f"deliveries: {pending} pending, {failed} failed, {disabled} to disabled "
                  f"endpoints")
    console.print(f"database: {db} ({_size(db) / 1024 / 1024:.1f} MiB)")
    return 0
