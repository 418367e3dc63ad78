"""Leases on due work, the process side: who this process start is, and keeping its claims
alive while the work runs. What a lease means in the database is in `crawler.store.base`.

A lease outlives a stalled or dead process by at most `LEASE_SECONDS`; while the process is
alive, its claims are renewed every `RENEW_EVERY`, so a long feed poll or a slow webhook is
never taken over and run twice.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

import structlog

from crawler.store import LeaseKey, LeaseKind, Store

log = structlog.get_logger(__name__)

LEASE_SECONDS = 60.0
RENEW_EVERY = 15.0


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    seconds: float = LEASE_SECONDS
    """How long a claim lasts unless renewed."""
    renew_every: float = RENEW_EVERY
    """How often the claims held are renewed: several times per lease, so one late renewal
    (a busy loop, a slow disk) does not lose them."""


# What the composition root uses; tests that watch leases expire start daemons with less.
DEFAULT_TIMING = LeaseTiming()


def new_owner() -> str:
    """A lease owner for this process start: host, pid and a random token, so a restarted
    process (even one given the same pid) never passes for its predecessor."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


class LeaseKeeper:
    """The claims this process holds on one kind of work: added when claimed, dropped when
    the work completed (or was given back), renewed together while `renewing()`."""

    def __init__(self, store: Store, kind: LeaseKind, owner: str, *,
                 clock: Callable[[], datetime], timing: LeaseTiming) -> None:
        self.store = store
        self.kind: LeaseKind = kind
        self.owner = owner
        self.timing = timing
        self._clock = clock
        self._held: set[LeaseKey] = set()
        # Held keys the last renewal did not find under this owner's lease.
        self._unrenewed: set[LeaseKey] = set()

    @property
    def count(self) -> int:
        """How many claims are held (work claimed and not finished)."""
        return len(self._held)

    def hold(self, keys: Iterable[LeaseKey]) -> None:
        self._held.update(keys)

    def done(self, key: LeaseKey) -> None:
        """The work on `key` completed (its completing write cleared the lease) or failed."""
        self._held.discard(key)

    async def release(self, keys: Iterable[LeaseKey]) -> None:
        """Give work back undone: claimable again at once, by anyone."""
        wanted = [k for k in keys if k in self._held]
        self._held.difference_update(wanted)
        if wanted:
            await self.store.release_leases(self.kind, self.owner, wanted)

    async def release_all(self) -> None:
        await self.release(list(self._held))

    async def renew(self) -> None:
        """One renewal of every claim held. A claim that could not be renewed twice in a row
        was taken over after it expired: it is dropped (its completion will change nothing)
        and logged. Once is not enough: the write that completes a unit of work clears its
        lease before the unit ends (it may still log, count and write more), so a renewal in
        that window finds the lease gone although nothing was lost; by the next renewal the
        unit has ended and is no longer held."""
        keys = set(self._held)
        if not keys:
            self._unrenewed.clear()
            return
        kept = await self.store.renew_leases(self.kind, self.owner, keys, now=self._clock(),
                                             lease_seconds=self.timing.seconds)
        # Work that completed while the renewal was in flight is no loss.
        missing = (keys - kept) & self._held
        lost = missing & self._unrenewed
        self._unrenewed = missing - lost
        for key in lost:
            log.warning("lease_lost", kind=self.kind, key=key, owner=self.owner,
                        note="another daemon took it over after it expired; "
                             "this one's result will not be recorded")
        self._held.difference_update(lost)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timing.renew_every)
            try:
                await self.renew()
            except Exception:
                log.exception("lease_renewal_failed", kind=self.kind)

    @asynccontextmanager
    async def renewing(self) -> AsyncIterator[LeaseKeeper]:
        """Renew the claims held for as long as the block runs."""
        task = asyncio.create_task(self._renew_loop(), name=f"renew {self.kind} leases")
        try:
            yield self
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
