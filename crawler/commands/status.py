"""`crawler status`: feeds, articles and the delivery queue, read from the database.

It opens the store read-only, so it works while the daemon runs, never migrates, and shows no
secret: webhook endpoints are named by URL only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.commands.output import iso, print_json
from crawler.config import Settings
from crawler.models import FeedState
from crawler.redact import redact_text, redact_url
from crawler.store import DatabaseMissingError, maintenance_of, open_store
from crawler.terminal import printable_line


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
    # Whether the store can tell if a daemon runs on it (a PostgreSQL fleet has no single
    # daemon to name), and then the running daemon's pid (None: none runs).
    daemon_known: bool
    daemon_pid: int | None


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
        database = f"{store.describe()} ({await store.database_bytes() / 1024 / 1024:.1f} MiB)"
        daemon_pid = None if maintenance is None else maintenance.daemon_pid()
    finally:
        await store.close()
    return _Stored(feeds, articles, versions, pending, failed, disabled, database,
                   maintenance is not None, daemon_pid)


def _feed_json(url: str, state: FeedState | None, *, configured: bool) -> dict[str, Any]:
    return {"url": redact_url(url), "configured": configured,
            "last_poll": iso(state.last_polled_at) if state else None,
            "result": state.last_status if state else None,
            "entries": state.entries if state else None,
            "next_poll": iso(state.next_poll_at) if state else None,
            "consecutive_errors": state.consecutive_errors if state else 0,
            "last_error": redact_text(state.last_error) if state and state.last_error else None}


def status_json(settings: Settings, stored: _Stored) -> dict[str, Any]:
    """`crawler status --json`: the configured feeds in config order, then feeds the
    database knows that the config no longer names (or whose entry named an unset
    variable)."""
    configured = [f.url for f in settings.feeds]
    feeds = [_feed_json(url, stored.feeds.get(url), configured=True) for url in configured]
    feeds += [_feed_json(url, state, configured=False) for url, state in stored.feeds.items()
              if url not in configured]
    return {"feeds": feeds, "articles": stored.articles, "versions": stored.versions,
            "deliveries": {"pending": stored.pending, "failed": stored.failed,
                           "disabled": stored.disabled},
            "database": stored.database,
            "daemon": {"running": stored.daemon_pid is not None, "pid": stored.daemon_pid}
            if stored.daemon_known else None}


async def show_status(settings: Settings, *, as_json: bool = False) -> int:
    """Exit 1 when there is no database yet; schema errors propagate (`StoreError`)."""
    try:
        stored = await _read(settings)
    except DatabaseMissingError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print_json(status_json(settings, stored))
        return 0
    feeds = stored.feeds

    table = Table(title="feeds")
    for column in ("feed", "last poll (UTC)", "result", "entries", "next poll (UTC)", "errors"):
        table.add_column(column)
    # Wrapped at word boundaries, never cut: the end of an error is often what says why.
    table.add_column("last error", max_width=60, overflow="fold")
    for feed in settings.feeds:
        state = feeds.get(feed.url)
        if state is None:
            table.add_row(Text(redact_url(feed.url)), "never", "-", "-", "-", "0", "-")
            continue
        entries = "-" if state.entries is None else str(state.entries)
        # Text cells: an error message may quote what a server said, never read as markup.
        table.add_row(Text(redact_url(feed.url)), _when(state.last_polled_at),
                      state.last_status or "-", entries, _when(state.next_poll_at),
                      str(state.consecutive_errors),
                      Text(printable_line(redact_text(state.last_error or "-"))),
                      style="red" if state.consecutive_errors else None)
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    console.print(f"articles tracked: {stored.articles}, versions stored: {stored.versions}")
    console.print(f"deliveries: {stored.pending} pending, {stored.failed} failed, "
                  f"{stored.disabled} to disabled endpoints")
    console.print(f"database: {stored.database}")
    if stored.daemon_known:
        console.print(f"daemon: running (pid {stored.daemon_pid})"
                      if stored.daemon_pid is not None else "daemon: not running")
    return 0
