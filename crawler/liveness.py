"""Is each part of a running daemon alive: what `/healthz` answers and the systemd watchdog
pings for."""

from __future__ import annotations

import structlog

from crawler.store import Maintenance, Store, maintenance_of
from crawler.ticker import Ticker

log = structlog.get_logger(__name__)

# Writes failing this long in a row make the daemon unhealthy (/healthz 503, no watchdog
# ping): long enough for a lock held by a backup or a brief hiccup, short of the watchdog's 60 s.
WRITES_FAILING_UNHEALTHY = 20.0


class Liveness:
    def __init__(self, store: Store, ticker: Ticker) -> None:
        self._store = store
        self._ticker = ticker
        self._maintenance: Maintenance | None = maintenance_of(store)
        self._journal_saved = False

    async def check(self) -> dict[str, bool]:
        """{check name: passed}: the loop, the database, the ticker, the writes and the
        store's journal."""
        return {"loop": True, "database": await self._store.ping(),
                "scheduler": self._ticker.running, "writes": self._writes_ok(),
                "journal": await self._journal_ok()}

    async def healthy(self) -> bool:
        """What the watchdog pings for. A database server the daemon cannot reach is not
        something a restart mends: the daemon rides the outage out, reconnecting, and
        `/healthz` says what is wrong. A store the process keeps itself (an SQLite file it
        maintains) is part of the process, and a restart may mend it."""
        if self._maintenance is None:
            # Not even asked: a ping waits for a connection, and would make the probe late.
            return self._ticker.running
        return all((await self.check()).values())

    async def _journal_ok(self) -> bool:
        """False once the store's write-ahead log was deleted or replaced under it. The first
        time, a checkpoint copies what it holds into the database file at once, so a crash
        (or the watchdog's restart) loses no acknowledged commit."""
        maintenance = self._maintenance
        problem = maintenance.journal_problem() if maintenance is not None else None
        if problem is None or maintenance is None:
            return True
        log.error("store_journal_lost", error=problem,
                  note="the daemon reports unhealthy: restart it once the cause is found")
        if not self._journal_saved:
            self._journal_saved = True
            try:
                saved = await maintenance.checkpoint()
                log.warning("store_journal_checkpointed", complete=saved)
            except Exception:
                log.exception("store_journal_checkpoint_failed")
        return False

    def _writes_ok(self) -> bool:
        """False once the store's writes have failed for `WRITES_FAILING_UNHEALTHY` seconds in
        a row (a full disk reads fine and answers pings: only the writes tell)."""
        failing = self._store.failing_writes()
        if failing is None or failing[0] < WRITES_FAILING_UNHEALTHY:
            return True
        log.error("store_writes_failing", seconds=round(failing[0]), error=failing[1])
        return False
