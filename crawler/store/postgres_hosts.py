"""Request turns on a host for a fleet of daemons (`crawler.fetch.fleet.HostTurns`) in the
PostgreSQL store.

`host_pacing` has one row per host: when its next request may start and until when it asked
to be left alone; `host_turns` has one row per request in flight, expiring by itself. Taking
a turn is one call of `crawler_take_host_turn` (schema 8; one round trip, as it comes before
every request): it locks the host's pacing row (`FOR UPDATE`), so the daemons asking for one
host at the same moment are served one after the other, and the count of turns and the next
start they read cannot be raced; other hosts are not held up. Every time is the server's
`clock_timestamp()`, one clock for every machine of the fleet. Turns go through connections
of their own (`PostgresDatabase._write_one(pacing=True)`), never queued behind the store's
other statements.
"""

from __future__ import annotations

from datetime import timedelta

from crawler.models import HostTurn
from crawler.store.postgres_db import PostgresDatabase

__all__ = ["PostgresHostTurns"]


class PostgresHostTurns(PostgresDatabase):
    async def take_host_turn(self, host: str, owner: str, *, concurrency: int,
                             spacing: float, hold: float) -> HostTurn:
        if concurrency < 1:
            raise ValueError(f"a host needs at least one turn, not {concurrency!r}")
        rows = await self._write_one(
            "SELECT * FROM crawler_take_host_turn(%s, %s, %s, %s, %s)",
            (host, owner, concurrency, timedelta(seconds=max(spacing, 0.0)),
             timedelta(seconds=hold)), pacing=True)
        row = rows[0]  # the function always answers one row
        return HostTurn(row["token"], wait=float(row["wait"]), paused=bool(row["paused"]))

    async def end_host_turn(self, token: str) -> None:
        await self._write_one("DELETE FROM host_turns WHERE token = %s", (token,), pacing=True)

    async def pause_host(self, host: str, seconds: float) -> None:
        await self._write_one(
            "INSERT INTO host_pacing (host, paused_until)"
            " VALUES (%s, clock_timestamp() + %s)"
            " ON CONFLICT (host) DO UPDATE SET paused_until = greatest("
            "host_pacing.paused_until, excluded.paused_until)",
            (host, timedelta(seconds=max(seconds, 0.0))), pacing=True)
