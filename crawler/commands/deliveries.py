"""`crawler deliveries` (list pending and failed deliveries) and `crawler deliveries replay`."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from crawler.config import Settings
from crawler.models import Delivery
from crawler.store.sqlite import SQLiteStore

LISTED = ("pending", "failed", "disabled")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


async def list_deliveries(settings: Settings) -> int:
    store = SQLiteStore(settings.storage.database)
    await store.open()
    try:
        rows = await store.list_deliveries(LISTED)
    finally:
        await store.close()
    by_endpoint: dict[str, list[Delivery]] = defaultdict(list)
    for row in rows:
        by_endpoint[row.endpoint_url].append(row)
    if not rows:
        print("no pending, failed or disabled deliveries")
        return 0
    if not sys.stdout.isatty():
        for row in rows:
            print(f"{row.endpoint_url}\t{row.status}\t{row.event_id}\t{row.event_type}\t"
                  f"{row.attempts}\t{_when(row.next_attempt_at)}\t{row.last_status or '-'}\t"
                  f"{row.last_error or '-'}")
        return 0
    console = Console()
    for endpoint, items in by_endpoint.items():
        counts = ", ".join(f"{sum(1 for d in items if d.status == s)} {s}" for s in LISTED)
        table = Table(title=f"{endpoint} ({counts})")
        for column in ("status", "event", "type", "attempts", "next attempt (UTC)",
                       "last answer", "last error"):
            table.add_column(column)
        for d in items:
            table.add_row(d.status, d.event_id, d.event_type, str(d.attempts),
                          _when(d.next_attempt_at), str(d.last_status or "-"),
                          (d.last_error or "-")[:60])
        console.print(table)
    return 0


async def replay(settings: Settings, *, event_id: str | None, failed: bool,
                 endpoint: str | None) -> int:
    """Put deliveries back in the queue, due now, with their original event ids."""
    if not event_id and not failed:
        print("crawler: deliveries replay needs --event ID or --failed", file=sys.stderr)
        return 2
    store = SQLiteStore(settings.storage.database)
    await store.open()
    try:
        count = await store.requeue_deliveries(event_id=event_id, failed=failed,
                                               endpoint_url=endpoint, now=datetime.now(UTC))
    finally:
        await store.close()
    print(f"{count} deliver{'y' if count == 1 else 'ies'} queued again")
    return 0 if count or failed else 1
