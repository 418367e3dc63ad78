"""`crawler status`: feeds, articles and the delivery queue, read from the database.

It opens the store read-only, so it works while the daemon runs, never migrates, and shows no
secret: webhook endpoints are named by URL only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.table import Table

from crawler.config import Settings
from crawler.models import FeedState
from crawler.store import DatabaseMissingError, maintenance_of, open_store


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


@dataclass(frozen=True, slots=True)
class _Stored:
    feeds: dict[str, FeedState]
    articles: int
    versions: int
    pending: int
    failed: int
    disabled: int
    database: str


async def _read(settings: Settings) -> _Stored:
    store = open_store(settings.storage, readonly=True)
    try:
        await store.open()
        feeds = {f.feed_url: f for f in await store.list_feed_states()}
        articles = await store.count_articles()
        versions = await store.count_versions()
        pending = await store.count_pending_deliveries()
        failed = len(await store.list_deliveries(("failed",)))
        disabled = len(await store.list_deliveries(("disabled",)))
        maintenance = maintenance_of(store)
        database = store.describe()
        if maintenance is not None:
            database += f" ({maintenance.size_bytes() / 1024 / 1024:.1f} MiB)"
    finally:
        await store.close()
    return _Stored(feeds, articles, versions, pending, failed, disabled, database)


async def show_status(settings: Settings) -> int:
    """Exit 1 when there is no database yet; schema errors propagate (`StoreError`)."""
    try:
        stored = await _read(settings)
    except DatabaseMissingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return 1
    feeds = stored.feeds

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
    console.print(f"articles tracked: {stored.articles}, versions stored: {stored.versions}")
    console.print(f"deliveries: {stored.pending} pending, {stored.failed} failed, "
                  f"{stored.disabled} to disabled endpoints")
    console.print(f"database: {stored.database}")
    return 0
