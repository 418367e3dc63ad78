"""robots.txt per RFC 9309 (RELIABILITY 32) and the User-Agent."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web

from crawler.fetch import Fetcher, FetchError
from crawler.fetch.politeness import MAX_CRAWL_DELAY
from crawler.fetch.robots import CACHE_TTL, UNREACHABLE_TTL
from tests.hostile_server import (
    StaticResolver,
    fetch_settings,
    recording_app,
    redirect,
    serve,
    text,
)

ROBOTS = "/robots.txt"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_missing_robots_allows_everything_and_is_fetched_once() -> None:
    app, hits = recording_app({f"/p{i}": text("ok") for i in range(5)})  # robots.txt: 404
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=True)) as f:
        for i in range(5):
            assert (await f.fetch(server.make_url(f"/p{i}").human_repr())).status == 200
    assert hits.count(ROBOTS) == 1
    assert hits.paths[0] == ROBOTS  # asked before the first page


async def test_concurrent_first_fetches_share_one_robots_request() -> None:
    app, hits = recording_app({f"/p{i}": text("ok") for i in range(10)})
    settings = fetch_settings(respect_robots_txt=True, per_host_concurrency=4)
    async with serve(app) as server, Fetcher(settings) as f:
        await asyncio.gather(*(f.fetch(server.make_url(f"/p{i}").human_repr()) for i in range(10)))
    assert hits.count(ROBOTS) == 1


async def test_disallowed_pages_are_never_requested() -> None:
    robots = (
        "User-agent: otherbot\nDisallow: /\n\n"
        "User-agent: crawler\nDisallow: /private\nDisallow: /*.pdf$\n\n"
        "User-agent: *\nDisallow: /everyone-else\n"
    )
    app, hits = recording_app({
        ROBOTS: text(robots), "/public": text("ok"), "/private/x": text("no"),
        "/everyone-else": text("fine for us"), "/doc.pdf": text("no"),
    })
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=True)) as f:
        for path in ("/private/x", "/doc.pdf"):
            url = server.make_url(path).human_repr()
            with pytest.raises(FetchError) as err:
                await f.fetch(url)
            assert err.value.kind == "robots_disallowed"
            assert url in str(err.value)
        assert (await f.fetch(server.make_url("/public").human_repr())).status == 200
        # Our own group applies, not the "*" one.
        assert (await f.fetch(server.make_url("/everyone-else").human_repr())).status == 200
    assert "/private/x" not in hits.paths
    assert "/doc.pdf" not in hits.paths


async def test_robots_applies_to_redirect_targets() -> None:
    app, hits = recording_app({
        ROBOTS: text("User-agent: *\nDisallow: /hidden\n"), "/go": redirect("/hidden/page"),
    })
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=True)) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/go").human_repr())
    assert err.value.kind == "robots_disallowed"
    assert "/hidden/page" not in hits.paths


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_unreachable_robots_disallows_all_for_a_while(status: int) -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=status)
        return web.Response(text="User-agent: *\nAllow: /\n")

    app, hits = recording_app({ROBOTS: flaky, "/page": text("ok")})
    clock = FakeClock()
    async with serve(app) as server, Fetcher(
        fetch_settings(respect_robots_txt=True), clock=clock
    ) as f:
        url = server.make_url("/page").human_repr()
        with pytest.raises(FetchError) as err:
            await f.fetch(url)
        assert err.value.kind == "robots_unreachable"
        assert str(err.value).endswith("asked again in 30 min")
        clock.now += 20 * 60
        with pytest.raises(FetchError) as err:
            await f.fetch(url)
        # The same cached refusal tells the time left, not the 30 minutes it started with.
        assert str(err.value).endswith("asked again in 10 min")
        clock.now += UNREACHABLE_TTL - 20 * 60 - 1
        with pytest.raises(FetchError) as err:
            await f.fetch(url)
        assert hits.count(ROBOTS) == 1  # still the cached "unreachable"
        assert str(err.value).endswith("asked again in 1 min")
        clock.now += 2
        assert (await f.fetch(url)).status == 200
    assert hits.count(ROBOTS) == 2
    assert hits.count("/page") == 1


async def test_robots_timeout_disallows_all() -> None:
    async def hang(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(10)
        return web.Response(text="")

    app, hits = recording_app({ROBOTS: hang, "/page": text("ok")})
    settings = fetch_settings(respect_robots_txt=True, timeout=1.0)
    async with serve(app) as server, Fetcher(settings) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/page").human_repr())
    assert err.value.kind == "robots_unreachable"
    assert "robots.txt could not be read (timeout: " in str(err.value)
    assert "nothing is fetched from this site" in str(err.value)
    assert str(err.value).endswith("asked again in 30 min")
    assert hits.count("/page") == 0


async def test_robots_network_error_disallows_all() -> None:
    resolver = StaticResolver({"gone.example": ["127.0.0.1"]})
    settings = fetch_settings(respect_robots_txt=True)
    async with Fetcher(settings, resolver=resolver) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch("http://gone.example:9/page")  # discard port: nothing listens
    assert err.value.kind == "robots_unreachable"
    # Says why, in words (not the HTTP client's class name), not only that it failed.
    assert ("robots.txt could not be read (cannot connect to gone.example:9 (connection "
            "refused))") in str(err.value)
    assert "Error" not in str(err.value)


async def test_robots_is_cached_for_at_most_a_day() -> None:
    app, hits = recording_app({ROBOTS: text("User-agent: *\nDisallow:\n"), "/p": text("ok")})
    clock = FakeClock()
    async with serve(app) as server, Fetcher(
        fetch_settings(respect_robots_txt=True), clock=clock
    ) as f:
        url = server.make_url("/p").human_repr()
        await f.fetch(url)
        clock.now += CACHE_TTL - 60
        await f.fetch(url)
        assert hits.count(ROBOTS) == 1
        clock.now += 120
        await f.fetch(url)
    assert hits.count(ROBOTS) == 2


async def test_oversized_robots_is_truncated_and_still_applied() -> None:
    filler = "# " + "x" * 97 + "\n"
    body = "User-agent: *\nDisallow: /early\n" + filler * 6000 + "Disallow: /late\n"
    assert len(body) > 600_000
    app, hits = recording_app({ROBOTS: text(body), "/early": text("no"), "/late": text("ok")})
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=True)) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/early").human_repr())
        late = await f.fetch(server.make_url("/late").human_repr())
    assert err.value.kind == "robots_disallowed"
    assert "/early" not in hits.paths
    assert late.status == 200  # the rule past the 500 KB cap was never read


async def test_redirected_robots_is_followed() -> None:
    app, _ = recording_app({
        ROBOTS: redirect("/real-robots.txt", 301),
        "/real-robots.txt": text("User-agent: *\nDisallow: /secret\n"),
    })
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=True)) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/secret").human_repr())
    assert err.value.kind == "robots_disallowed"


async def test_crawl_delay_is_honoured_as_the_host_delay() -> None:
    app, hits = recording_app({ROBOTS: text("User-agent: *\nCrawl-delay: 1\n"), "/p": text("ok")})
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=True)) as f:
        url = server.make_url("/p").human_repr()
        started = time.monotonic()
        await f.fetch(url)
        await f.fetch(url)
    page_starts = [t for p, t in zip(hits.paths, hits.starts, strict=True) if p == "/p"]
    assert page_starts[1] - page_starts[0] >= 0.45  # 1 s randomized 0.5-1.5x
    assert time.monotonic() - started < 3


async def test_huge_crawl_delay_is_capped() -> None:
    app, _ = recording_app({ROBOTS: text("User-agent: *\nCrawl-delay: 86400\n"), "/p": text("ok")})
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=True)) as f:
        await f.fetch(server.make_url("/p").human_repr())
        slot = f._politeness._slots["127.0.0.1"]  # type: ignore[union-attr]
    assert slot.delay == MAX_CRAWL_DELAY


async def test_robots_can_be_turned_off() -> None:
    app, hits = recording_app({ROBOTS: text("User-agent: *\nDisallow: /\n"), "/p": text("ok")})
    async with serve(app) as server, Fetcher(fetch_settings(respect_robots_txt=False)) as f:
        assert (await f.fetch(server.make_url("/p").human_repr())).status == 200
    assert hits.paths == ["/p"]


async def test_robots_fetch_goes_through_the_address_checks() -> None:
    app, hits = recording_app({ROBOTS: text("User-agent: *\nAllow: /\n"), "/p": text("ok")})
    resolver = StaticResolver({"inside.example": ["127.0.0.1"]})
    settings = fetch_settings(respect_robots_txt=True, allow_private_addresses=False)
    async with serve(app) as server, Fetcher(settings, resolver=resolver) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(f"http://inside.example:{server.port}/p")
    assert err.value.kind == "blocked_address"
    assert hits.count() == 0


async def test_user_agent_is_sent_on_every_request() -> None:
    app, hits = recording_app({"/p": text("ok"), "/r": redirect("/p")})
    settings = fetch_settings(respect_robots_txt=True, user_agent="crawler/9 (+https://x.invalid)")
    async with serve(app) as server, Fetcher(settings) as f:
        await f.fetch(server.make_url("/r").human_repr())
    assert hits.paths == [ROBOTS, "/r", "/p"]
    assert {h["User-Agent"] for h in hits.headers} == {"crawler/9 (+https://x.invalid)"}
