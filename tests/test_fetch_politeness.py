"""Per-host politeness, global cap and Retry-After (RELIABILITY 33, 35, 36)."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from crawler.fetch import Fetcher, FetchError
from crawler.fetch.fleet import FleetPacing
from crawler.fetch.politeness import MAX_RETRY_AFTER, Politeness
from crawler.models import HostTurn
from tests.hostile_server import (
    Handler,
    StaticResolver,
    fetch_settings,
    recording_app,
    serve,
    text,
)


def _sleeping(seconds: float, body: str = "ok") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(text=body)

    return handler


async def test_fifty_pages_on_one_host_respect_concurrency_and_delay() -> None:
    routes = {f"/p{i}": _sleeping(0.1) for i in range(50)}
    app, hits = recording_app(routes)
    delay = 0.04
    settings = fetch_settings(per_host_concurrency=2, per_host_delay=delay, timeout=5.0)
    async with serve(app) as server, Fetcher(settings) as f:
        urls = [server.make_url(f"/p{i}").human_repr() for i in range(50)]
        responses = await asyncio.gather(*(f.fetch(u) for u in urls))
    assert all(r.status == 200 for r in responses)
    assert hits.count() == 50
    assert hits.max_in_flight <= 2
    gaps = [b - a for a, b in zip(hits.starts, hits.starts[1:], strict=False)]
    # Randomized 0.5-1.5x the delay; a few ms allowed for the scheduling of the server side.
    assert min(gaps) >= 0.5 * delay - 0.008, f"smallest gap {min(gaps):.4f}s"


async def test_concurrency_per_host_is_capped_without_any_delay() -> None:
    app, hits = recording_app({f"/p{i}": _sleeping(0.05) for i in range(30)})
    settings = fetch_settings(per_host_concurrency=3)
    async with serve(app) as server, Fetcher(settings) as f:
        await asyncio.gather(*(f.fetch(server.make_url(f"/p{i}").human_repr()) for i in range(30)))
    assert hits.max_in_flight == 3


async def test_global_cap_holds_across_hosts() -> None:
    app, hits = recording_app({"/": _sleeping(0.1)})
    hosts = [f"h{i}.example" for i in range(6)]
    resolver = StaticResolver({h: ["127.0.0.1"] for h in hosts})
    settings = fetch_settings(global_concurrency=2, per_host_concurrency=4)
    async with serve(app) as server, Fetcher(settings, resolver=resolver) as f:
        await asyncio.gather(*(f.fetch(f"http://{h}:{server.port}/") for h in hosts))
    assert hits.max_in_flight == 2


async def test_a_slow_host_does_not_hold_up_another() -> None:
    app, _ = recording_app({"/slow": _sleeping(1.5), "/fast": text("fast")})
    resolver = StaticResolver({"slow.example": ["127.0.0.1"], "fast.example": ["127.0.0.1"]})
    settings = fetch_settings(per_host_concurrency=1, per_host_delay=0.5, timeout=3.0)
    async with serve(app) as server, Fetcher(settings, resolver=resolver) as f:
        slow = [
            asyncio.create_task(f.fetch(f"http://slow.example:{server.port}/slow"))
            for _ in range(4)
        ]
        await asyncio.sleep(0.05)  # the slow host's slot is now busy and has a queue
        started = time.monotonic()
        fast = await f.fetch(f"http://fast.example:{server.port}/fast")
        fast_took = time.monotonic() - started
        for task in slow:
            task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)
    assert fast.body == b"fast"
    assert fast_took < 0.5


async def test_retry_after_seconds_keeps_the_host_waiting() -> None:
    calls = 0

    async def throttled(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=429, headers={"Retry-After": "1"}, text="slow down")
        return web.Response(text="ok")

    app, hits = recording_app({"/": throttled, "/other": text("other")})
    resolver = StaticResolver({"busy.example": ["127.0.0.1"], "calm.example": ["127.0.0.1"]})
    async with serve(app) as server, Fetcher(fetch_settings(timeout=2.0), resolver=resolver) as f:
        first = await f.fetch(f"http://busy.example:{server.port}/")
        started = time.monotonic()
        other = await f.fetch(f"http://calm.example:{server.port}/other")
        other_took = time.monotonic() - started
        second = await f.fetch(f"http://busy.example:{server.port}/")
    assert first.status == 429  # returned, not raised
    assert first.body == b"slow down"
    assert other.status == 200
    assert other_took < 0.5  # another host is not held back
    assert second.status == 200
    busy_starts = [t for p, t in zip(hits.paths, hits.starts, strict=True) if p == "/"]
    assert busy_starts[1] - busy_starts[0] >= 0.95


async def test_retry_after_http_date_on_503_keeps_the_host_waiting() -> None:
    calls = 0

    async def unavailable(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            when = datetime.now(UTC) + timedelta(seconds=2)
            return web.Response(status=503, headers={"Retry-After": format_datetime(when, True)})
        return web.Response(text="back")

    app, hits = recording_app({"/": unavailable})
    async with serve(app) as server, Fetcher(fetch_settings(timeout=3.0)) as f:
        first = await f.fetch(server.make_url("/").human_repr())
        second = await f.fetch(server.make_url("/").human_repr())
    assert (first.status, second.status) == (503, 200)
    assert hits.starts[1] - hits.starts[0] >= 0.95  # HTTP-dates have whole-second precision


def seconds_left(error: FetchError) -> int:
    """How long the pause a "rate_limited" error reports has left."""
    found = re.search(r"(\d+)s left", error.message)
    assert found is not None, error.message
    return int(found.group(1))


async def test_long_retry_after_fails_fast_without_a_request() -> None:
    app, hits = recording_app({"/": text("go away", status=429, retry_after="600")})
    async with serve(app) as server, Fetcher(fetch_settings(timeout=1.0)) as f:
        first = await f.fetch(server.make_url("/").human_repr())
        started = time.monotonic()
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/").human_repr())
    assert first.status == 429
    assert err.value.kind == "rate_limited"
    assert 590 <= seconds_left(err.value) <= 600
    assert time.monotonic() - started < 0.2
    assert hits.count() == 1


async def test_retry_after_is_capped() -> None:
    now = [1000.0]
    politeness = Politeness(
        per_host_concurrency=1, per_host_delay=0.0, global_concurrency=1,
        max_backoff_wait=10.0, clock=lambda: now[0],
    )
    politeness.note_retry_after("example.org", 10**9)
    with pytest.raises(FetchError) as err:
        async with politeness.turn("example.org", "http://example.org/"):
            pass
    assert seconds_left(err.value) == MAX_RETRY_AFTER
    now[0] += MAX_RETRY_AFTER
    async with politeness.turn("example.org", "http://example.org/"):
        pass


class _SlowTurns:
    """A shared store whose every ask for a turn takes a while, as on a busy fleet; it counts
    how many asks for one host are in flight at once."""

    def __init__(self) -> None:
        self.asking = 0
        self.most_asking = 0

    async def take_host_turn(self, host: str, owner: str, *, concurrency: int,
                             spacing: float, hold: float) -> HostTurn:
        self.asking += 1
        self.most_asking = max(self.most_asking, self.asking)
        await asyncio.sleep(0.05)
        self.asking -= 1
        return HostTurn(f"{host}-{owner}-{time.monotonic()}")

    async def end_host_turn(self, token: str) -> None:
        return None

    async def pause_host(self, host: str, seconds: float) -> None:
        return None


async def test_fleet_turns_for_one_host_are_asked_for_side_by_side() -> None:
    # Under the host's start lock, each ask for a turn waited for the one before: a host's
    # requests started one store round trip apart whatever its concurrency.
    turns = _SlowTurns()
    politeness = Politeness(
        per_host_concurrency=3, per_host_delay=0.0, global_concurrency=16,
        max_backoff_wait=5.0, clock=time.monotonic,
        fleet=FleetPacing(turns, "owner-1", request_deadline=5.0, max_pause_wait=5.0))

    async def request() -> None:
        async with politeness.turn("e.org", "https://e.org/a"):
            await asyncio.sleep(0.01)

    await asyncio.gather(*(request() for _ in range(6)))
    assert turns.most_asking == 3
