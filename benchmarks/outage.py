"""The soak's receiver-outage phase: news keeps coming while the receiver answers 503 to
everything for `--outage` seconds, on the default retry ladder (5s, 5m, 30m, ...); then it
answers 200 again, and the phase measures how long the backlog took to arrive after that.

Before a recovered endpoint's backlog was made due at once, every delivery that had failed
twice by then waited for the 5-minute rung. The phase also checks, over the whole soak, that
each article's events were first acknowledged in the order they were created.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, SupportsIndex

from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import NewsSite
from crawler.testing.webhook_receiver import Receiver, Scripted, webhook_table

# Stories edited per second, before, during and after the outage.
EDIT_RATE = 2.0
LEAD_IN = 5.0
TAIL = 5.0


class Fixed(list[Scripted]):
    """A receiver script that always answers `status`."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def __bool__(self) -> bool:
        return True

    def pop(self, index: SupportsIndex = -1) -> Scripted:
        return self.status


def order_violations(db_path: Path, receiver: Receiver) -> int:
    """Articles one of whose events was first acknowledged before an earlier one of theirs."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT id, article_id FROM events ORDER BY created_at, rowid")
        by_article: dict[int, list[str]] = {}
        for event_id, article_id in rows:
            by_article.setdefault(int(article_id), []).append(str(event_id))
    finally:
        conn.close()
    first_ack: dict[str, float] = {}
    for r in receiver.accepted():
        first_ack.setdefault(r.headers.get("webhook-id", ""), r.received_at)
    bad = 0
    for ids in by_article.values():
        times = [first_ack[i] for i in ids if i in first_ack]
        bad += any(b < a for a, b in itertools.pairwise(times))
    return bad


async def outage_phase(
    *, workdir: Path, site: NewsSite, receiver: Receiver, edit: Callable[[int], None],
    online: list[int], outage: float, within: float,
    start_daemon: Callable[[Path], Coroutine[Any, Any, None]],
    stop_daemon: Callable[[], Coroutine[Any, Any, Any]],
) -> tuple[list[tuple[str, str]], list[str], int]:
    """Run the phase with a daemon started by `start_daemon(config)`; result rows, notes and
    how many edits were made (one story each)."""
    config = write_config(workdir, [site.url("/rss.xml")], webhooks=webhook_table(receiver),
                          intervals='["1s"]')  # the default retry ladder
    await start_daemon(config)
    notes: list[str] = []
    before = {r.headers.get("webhook-id") for r in receiver.accepted()}
    await asyncio.sleep(2.0)
    down_at = time.monotonic() + LEAD_IN
    recovered_at = down_at + outage
    sent = 0
    order = iter(online)
    phase = "up"
    while (now := time.monotonic()) < recovered_at + TAIL and sent < len(online):
        if phase == "up" and now >= down_at:
            receiver._script, phase, down_at = Fixed(503), "down", now
        if phase == "down" and now >= recovered_at:
            receiver._script, phase, recovered_at = Fixed(200), "back", now
        edit(next(order))
        sent += 1
        await asyncio.sleep(1.0 / EDIT_RATE)

    def fresh_acks() -> dict[str, float]:
        out: dict[str, float] = {}
        for r in receiver.accepted():
            key = r.headers.get("webhook-id", "")
            if key not in before:
                out.setdefault(key, r.received_at)
        return out

    def failed_during_outage() -> set[str]:
        return {r.headers.get("webhook-id", "") for r in receiver.requests
                if down_at <= r.received_at < recovered_at}

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        acked = fresh_acks()
        # Every edit made one event: the phase ends when all are acknowledged.
        if not failed_during_outage() - set(acked) and len(acked) >= sent:
            break
        await asyncio.sleep(0.25)
    acks = fresh_acks()
    hit = failed_during_outage()
    late = [acks[i] - recovered_at for i in hit if i in acks]
    missing = hit - set(acks)
    await stop_daemon()
    if missing:
        notes.append(f"outage: {len(missing)} deliveries still unacknowledged after "
                     f"{within:.0f}s")
    slowest = max(late, default=0.0)
    rows = [
        ("outage: receiver down (503 to all)", f"{outage:.0f}s, default retry ladder"),
        ("  edits made (lead-in, outage, tail)", f"{sent} at {EDIT_RATE:g}/s"),
        ("  deliveries that failed in the outage", f"{len(hit)}"),
        ("  recovery: last of them acked after", f"{slowest:.1f}s"),
        ("  of them acked > 60s after recovery", f"{sum(1 for t in late if t > 60)}"),
    ]
    return rows, notes, sent
