"""Per-host politeness slots (after Scrapy's downloader slots) and a global concurrency cap.

Each host gets a slot: at most `per_host_concurrency` requests in flight, and request starts
spaced by the host's delay, randomized 0.5-1.5x so a crawl does not hit a site on a fixed beat.
A host that answers 429/503 with Retry-After gets nothing until that time has passed. Waiting
happens per host, and the global cap is only taken once a host's own wait is over, so a slow or
throttled host never holds up the others. With a store several daemons share, a request also
takes a turn on its host for the whole fleet (`crawler.fetch.fleet`) once its own slot is
free, so the limits hold for the fleet and not only for each daemon.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog

from crawler.fetch.errors import FetchError
from crawler.fetch.fleet import FleetPacing

log = structlog.get_logger(__name__)

MAX_RETRY_AFTER = 3600.0  # a site cannot park a host for longer than this
MAX_CRAWL_DELAY = 30.0  # robots.txt Crawl-delay above this is capped, not obeyed blindly
_GC_THRESHOLD = 512  # idle slots are dropped once there are this many


class _Slot:
    __slots__ = ("blocked_until", "delay", "next_start", "semaphore", "start_lock", "users")

    def __init__(self, concurrency: int, delay: float) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self.start_lock = asyncio.Lock()  # serializes the spacing of request starts
        self.delay = delay
        self.next_start = 0.0
        self.blocked_until = 0.0
        self.users = 0


class Politeness:
    """Gatekeeper for request starts. One per Fetcher; must be used inside one event loop.

    `max_backoff_wait`: a Retry-After pause longer than this is not slept through inside a
    fetch; the call fails fast with FetchError("rate_limited") instead.
    """

    def __init__(
        self,
        *,
        per_host_concurrency: int,
        per_host_delay: float,
        global_concurrency: int,
        max_backoff_wait: float,
        clock: Callable[[], float],
        rng: random.Random | None = None,
        fleet: FleetPacing | None = None,
    ) -> None:
        self._concurrency = per_host_concurrency
        self._base_delay = per_host_delay
        self._global = asyncio.Semaphore(global_concurrency)
        self._max_backoff_wait = max_backoff_wait
        self._clock = clock
        # Jitter only, not security: a plain PRNG is right here.
        self._rng = rng or random.Random()  # noqa: S311
        self._slots: dict[str, _Slot] = {}
        self._fleet = fleet

    def _slot(self, host: str) -> _Slot:
        slot = self._slots.get(host)
        if slot is None:
            if len(self._slots) >= _GC_THRESHOLD:
                self._drop_idle()
            slot = self._slots[host] = _Slot(self._concurrency, self._base_delay)
        return slot

    def _drop_idle(self) -> None:
        now = self._clock()
        for host, slot in list(self._slots.items()):
            if slot.users == 0 and slot.next_start <= now and slot.blocked_until <= now:
                del self._slots[host]

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        """Use a robots.txt Crawl-delay (capped) as the host's delay when it is the larger."""
        delay = self._base_delay
        if seconds is not None and seconds > 0:
            delay = max(delay, min(seconds, MAX_CRAWL_DELAY))
        self._slot(host).delay = delay

    def note_retry_after(self, host: str, seconds: float) -> None:
        """Keep every request away from `host` for `seconds` (capped at MAX_RETRY_AFTER)."""
        seconds = min(max(seconds, 0.0), MAX_RETRY_AFTER)
        slot = self._slot(host)
        slot.blocked_until = max(slot.blocked_until, self._clock() + seconds)
        log.info("host_backoff", host=host, seconds=round(seconds, 3))
        if self._fleet is not None:
            self._fleet.pause(host, seconds)

    def _check_backoff(self, slot: _Slot, url: str) -> None:
        remaining = slot.blocked_until - self._clock()
        if remaining > self._max_backoff_wait:
            raise FetchError(
                "rate_limited", url, f"host asked for a pause; {remaining:.0f}s left")

    @asynccontextmanager
    async def turn(self, host: str, url: str) -> AsyncIterator[None]:
        """Hold one request slot for `host` while the body of the `async with` runs.

        Raises FetchError("rate_limited") when the host is in a long Retry-After pause.
        """
        slot = self._slot(host)
        self._check_backoff(slot, url)
        slot.users += 1
        try:
            async with slot.semaphore:
                spacing = slot.delay * self._rng.uniform(0.5, 1.5)
                if self._fleet is None:
                    await self._start(slot, url, spacing)
                    try:
                        yield
                    finally:
                        self._global.release()
                    return
                # Before the start lock, not under it: a turn is a round trip to the shared
                # store, and under the lock a host's requests started one round trip apart
                # (measured: ~5 a second on a busy daemon, whatever the host's limits). The
                # store spaces the fleet's starts itself.
                async with self._fleet.turn(host, url, concurrency=self._concurrency,
                                            spacing=spacing):
                    await self._start(slot, url, spacing)
                    try:
                        yield
                    finally:
                        self._global.release()
        finally:
            slot.users -= 1

    async def _start(self, slot: _Slot, url: str, spacing: float) -> None:
        """Wait for the host's next start (and any pause it asked for), then take a global
        slot, which the caller releases."""
        async with slot.start_lock:
            while True:
                self._check_backoff(slot, url)
                wait = max(slot.next_start, slot.blocked_until) - self._clock()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            # Taken while still holding the start lock, so the spacing is measured from the
            # real start, not from when the host's wait ended.
            await self._global.acquire()
            slot.next_start = self._clock() + spacing
