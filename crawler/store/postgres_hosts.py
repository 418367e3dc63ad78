"""Request turns on a host for a fleet of daemons (`crawler.fetch.fleet.HostTurns`) in the
PostgreSQL store.

`host_pacing` has one row per host: when its next request may start and until when it asked
to be left alone; `host_turns` has one row per request in flight, expiring by itself. Taking
a turn locks the host's pacing row (`FOR UPDATE`), so the daemons asking for one host at the
same moment are served one after the other, and the count of turns and the next start they
read cannot be raced; other hosts are not held up. Every time is the server's
`clock_timestamp()`, one clock for every machine of the fleet.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from crawler.models import HostTurn
from crawler.store.postgres_db import Conn, PostgresDatabase

__all__ = ["PostgresHostTurns"]


def _seconds_until(when: datetime | None, now: datetime) -> float:
    return 0.0 if when is None else max(0.0, (when - now).total_seconds())


class PostgresHostTurns(PostgresDatabase):
    async def take_host_turn(self, host: str, owner: str, *, concurrency: int,
                             spacing: float, hold: float) -> HostTurn:
        if concurrency < 1:
            raise ValueError(f"a host needs at least one turn, not {concurrency!r}")

        async def tx(conn: Conn) -> HostTurn:
            await conn.execute(
                "INSERT INTO host_pacing (host) VALUES (%s) ON CONFLICT (host) DO NOTHING",
                (host,))
            cur = await conn.execute(
                "SELECT clock_timestamp() AS now, next_start_at, paused_until"
                " FROM host_pacing WHERE host = %s FOR UPDATE", (host,))
            row = await cur.fetchone()
            assert row is not None  # inserted above, and pacing rows are never deleted
            now: datetime = row["now"]
            paused = _seconds_until(row["paused_until"], now)
            if paused > 0:
                return HostTurn(None, wait=paused, paused=True)
            spaced = _seconds_until(row["next_start_at"], now)
            if spaced > 0:
                return HostTurn(None, wait=spaced)
            # Turns of a daemon that died mid-request go once they expire.
            await conn.execute(
                "DELETE FROM host_turns WHERE host = %s AND expires_at <= %s", (host, now))
            cur = await conn.execute(
                "SELECT count(*) AS held FROM host_turns WHERE host = %s", (host,))
            counted = await cur.fetchone()
            if counted is not None and int(counted["held"]) >= concurrency:
                return HostTurn(None)
            token = secrets.token_hex(12)
            await conn.execute(
                "INSERT INTO host_turns (token, host, owner, expires_at)"
                " VALUES (%s, %s, %s, %s)",
                (token, host, owner, now + timedelta(seconds=hold)))
            await conn.execute(
                "UPDATE host_pacing SET next_start_at = %s WHERE host = %s",
                (now + timedelta(seconds=max(spacing, 0.0)), host))
            return HostTurn(token)

        return await self._write(tx)

    async def end_host_turn(self, token: str) -> None:
        async def tx(conn: Conn) -> None:
            await conn.execute("DELETE FROM host_turns WHERE token = %s", (token,))

        await self._write(tx)

    async def pause_host(self, host: str, seconds: float) -> None:
        async def tx(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO host_pacing (host, paused_until)"
                " VALUES (%s, clock_timestamp() + %s)"
                " ON CONFLICT (host) DO UPDATE SET paused_until = greatest("
                "host_pacing.paused_until, excluded.paused_until)",
                (host, timedelta(seconds=max(seconds, 0.0))))

        await self._write(tx)
