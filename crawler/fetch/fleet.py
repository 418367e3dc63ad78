"""Politeness for a fleet: request turns on a host shared by every daemon of one store.

Each daemon's `Politeness` keeps its own per-host slots; with a store several daemons share,
that alone would let each of them send `per_host_concurrency` requests at once and space its
own starts only. So before a request starts, its daemon also takes a *turn* on the host from
the shared store (`HostTurns`): at most `concurrency` unexpired turns per host across the
fleet, and request starts spaced by the host's delay whoever makes them. A turn expires by
itself after `hold` seconds (longer than any request may last), so a daemon that dies in the
middle of a request holds up the host for that long at most, and never for good.

Waiting for a turn polls the store with a short, growing sleep: a turn held by another
machine cannot wake this one, and polls are cheap next to the request they pace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

import structlog

from crawler.fetch.errors import FetchError
from crawler.models import HostTurn

log = structlog.get_logger(__name__)

# The first and the longest sleep between two asks for a turn (seconds).
FIRST_POLL = 0.02
LONGEST_POLL = 0.5
# A turn lasts the request's deadline plus this margin before it expires on its own.
HOLD_MARGIN = 10.0


@runtime_checkable
class HostTurns(Protocol):
    """What a store shared by several daemons offers for fleet-wide politeness. Times are the
    store's own clock, so machines whose clocks differ still space their requests."""

    async def take_host_turn(self, host: str, owner: str, *, concurrency: int,
                             spacing: float, hold: float) -> HostTurn:
        """Take a turn on `host` for `owner` when fewer than `concurrency` unexpired turns
        are held on it and its next start is due; the next start is then `spacing` seconds
        later, and the turn expires after `hold` seconds. Otherwise nothing is taken."""
        ...

    async def end_host_turn(self, token: str) -> None:
        """The request is over: the turn no longer counts. Unknown tokens are ignored."""
        ...

    async def pause_host(self, host: str, seconds: float) -> None:
        """No turn on `host` for `seconds` from now (a Retry-After), for the whole fleet."""
        ...


class FleetPacing:
    """The daemon side of `HostTurns`: waits for a turn, gives it back, shares pauses."""

    def __init__(self, turns: HostTurns, owner: str, *, request_deadline: float,
                 max_pause_wait: float) -> None:
        self._turns = turns
        self._owner = owner
        self._hold = request_deadline + HOLD_MARGIN
        self._max_pause_wait = max_pause_wait
        self._pausing: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def turn(self, host: str, url: str, *, concurrency: int,
                   spacing: float) -> AsyncIterator[None]:
        """Hold a fleet-wide turn on `host` while the block runs. Raises FetchError
        ("rate_limited") when the host is paused for longer than a fetch may wait, and
        ("fleet_unavailable") when the shared store cannot be asked."""
        token = await self._take(host, url, concurrency, spacing)
        try:
            yield
        finally:
            # Shielded: a cancelled request still gives its turn back rather than holding the
            # host up for the whole `hold`.
            await asyncio.shield(self._end(token))

    async def _take(self, host: str, url: str, concurrency: int, spacing: float) -> str:
        sleep = FIRST_POLL
        while True:
            try:
                got = await self._turns.take_host_turn(
                    host, self._owner, concurrency=concurrency, spacing=spacing,
                    hold=self._hold)
            except Exception as exc:
                raise FetchError("fleet_unavailable", url,
                                 f"the shared store that paces requests to {host} for the "
                                 f"fleet cannot be reached: {exc}") from exc
            if got.token is not None:
                return got.token
            if got.paused and got.wait > self._max_pause_wait:
                raise FetchError("rate_limited", url,
                                 f"host asked for a pause; {got.wait:.0f}s left")
            if got.wait > 0:
                await asyncio.sleep(min(got.wait, LONGEST_POLL))
            else:
                await asyncio.sleep(sleep)
                sleep = min(sleep * 2, LONGEST_POLL)

    async def _end(self, token: str) -> None:
        try:
            await self._turns.end_host_turn(token)
        except Exception as exc:
            # The turn expires by itself; the host is only held up until then.
            log.warning("host_turn_not_returned", error=str(exc))

    def pause(self, host: str, seconds: float) -> None:
        """Share a host's Retry-After with the fleet (in the background: the answer that
        asked for it is being read)."""
        task = asyncio.ensure_future(self._pause(host, seconds))
        self._pausing.add(task)
        task.add_done_callback(self._pausing.discard)

    async def _pause(self, host: str, seconds: float) -> None:
        try:
            await self._turns.pause_host(host, seconds)
        except Exception as exc:
            log.warning("host_pause_not_shared", host=host, error=str(exc))
