"""The Response contract, conditional GET (RELIABILITY 34) and the session lifecycle."""

from __future__ import annotations

import pytest
from aiohttp import web

from crawler.fetch import Fetcher, FetchError, Response
from tests.hostile_server import fetch_settings, recording_app, serve, text

ETAG = '"v1-abc"'
LAST_MODIFIED = "Wed, 25 Nov 2026 10:00:00 GMT"


async def _conditional(request: web.Request) -> web.StreamResponse:
    if request.headers.get("If-None-Match") == ETAG or (
        request.headers.get("If-Modified-Since") == LAST_MODIFIED
    ):
        return web.Response(status=304, headers={"ETag": ETAG})
    return web.Response(
        text="<rss/>", content_type="application/rss+xml",
        headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )


async def test_conditional_get_sends_validators_and_returns_304() -> None:
    app, hits = recording_app({"/feed": _conditional})
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        url = server.make_url("/feed").human_repr()
        first = await f.fetch(url, accept="application/rss+xml")
        by_etag = await f.fetch(url, etag=first.etag)
        by_date = await f.fetch(url, last_modified=first.last_modified)
    assert first.status == 200
    assert first.etag == ETAG
    assert first.last_modified == LAST_MODIFIED
    assert first.content_type == "application/rss+xml; charset=utf-8"
    assert "If-None-Match" not in hits.headers[0]
    assert hits.headers[0]["Accept"] == "application/rss+xml"
    assert hits.headers[1]["If-None-Match"] == ETAG
    assert hits.headers[2]["If-Modified-Since"] == LAST_MODIFIED
    assert (by_etag.status, by_etag.body) == (304, b"")
    assert (by_date.status, by_date.body) == (304, b"")


@pytest.mark.parametrize("status", [404, 410, 500, 502])
async def test_error_statuses_are_returned_not_raised(status: int) -> None:
    app, _ = recording_app({"/x": text("gone", status=status)})
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        response = await f.fetch(server.make_url("/x").human_repr())
    assert response.status == status
    assert response.body == b"gone"


async def test_response_fields() -> None:
    app, _ = recording_app({"/a": text("hello", x_custom="1", content_type="text/plain")})
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        url = server.make_url("/a").human_repr()
        response = await f.fetch(url)
    assert isinstance(response, Response)
    assert response.url == url
    assert response.final_url == url
    assert response.headers["x-custom"] == "1"
    assert all(name == name.lower() for name in response.headers)
    assert response.etag is None
    with pytest.raises(TypeError):
        response.headers["x-custom"] = "2"  # type: ignore[index]


async def test_connection_refused_is_a_fetch_error() -> None:
    async with Fetcher(fetch_settings()) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch("http://127.0.0.1:9/")
    assert err.value.kind == "connection"
    assert "http://127.0.0.1:9/" in str(err.value)


async def test_fetch_outside_the_context_is_a_programming_error() -> None:
    fetcher = Fetcher(fetch_settings())
    with pytest.raises(RuntimeError):
        await fetcher.fetch("http://127.0.0.1:9/")
    async with fetcher:
        pass
    await fetcher.close()  # twice is fine
    with pytest.raises(RuntimeError):
        await fetcher.fetch("http://127.0.0.1:9/")
