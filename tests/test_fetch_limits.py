"""Size, time and redirect limits (RELIABILITY 27, 28, 29, 30)."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import brotli
import pytest
from aiohttp import web

from crawler.fetch import Fetcher, FetchError
from crawler.fetch.body import DecodeError, TooLarge, read_capped
from tests.hostile_server import fetch_settings, raw, recording_app, redirect, serve, text

MB = 1024 * 1024


def _gzip_bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join([z.compress(b"\0" * MB) for _ in range(size // MB)] + [z.flush()])


def _deflate_bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 15)
    return b"".join([z.compress(b"\0" * MB) for _ in range(size // MB)] + [z.flush()])


def _brotli_bomb(size: int) -> bytes:
    c = brotli.Compressor(quality=5)
    return b"".join([c.process(b"\0" * MB) for _ in range(size // MB)] + [c.finish()])


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# --- pure: the capped reader ---------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "encode"), [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ("br", brotli.compress),
    ("identity", lambda b: b),
    ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),
])
async def test_each_encoding_decodes(encoding: str, encode: object) -> None:
    payload = b"<p>hello</p>" * 5000
    assert callable(encode)
    data = encode(payload)
    pieces = [data[i:i + 1000] for i in range(0, len(data), 1000)]
    assert await read_capped(_chunks(*pieces), encoding, len(payload)) == payload
    with pytest.raises(TooLarge):
        await read_capped(_chunks(*pieces), encoding, len(payload) - 1)


async def test_multi_member_gzip_is_read_whole() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second")
    assert await read_capped(_chunks(data), "gzip", 100) == b"first second"


async def test_broken_or_unknown_encoding_is_an_error() -> None:
    with pytest.raises(DecodeError):
        await read_capped(_chunks(b"not gzip at all"), "gzip", 100)
    with pytest.raises(DecodeError):
        await read_capped(_chunks(gzip.compress(b"x" * 1000)[:20]), "gzip", 10_000)
    with pytest.raises(DecodeError):
        await read_capped(_chunks(b"x"), "compress", 100)


async def test_truncate_mode_keeps_the_first_bytes() -> None:
    body = await read_capped(_chunks(b"a" * 600, b"b" * 600), None, 1000, truncate=True)
    assert body == b"a" * 600 + b"b" * 400


# --- live: caps over HTTP --------------------------------------------------------------------

async def test_oversized_body_with_content_length_is_refused() -> None:
    app, _ = recording_app({"/big": text(b"x" * (2 * MB))})
    async with serve(app) as server, Fetcher(fetch_settings(max_bytes=MB)) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/big").human_repr())
    assert err.value.kind == "too_large"


async def test_body_exactly_at_the_cap_is_accepted() -> None:
    app, _ = recording_app({"/ok": raw(b"y" * MB)})
    async with serve(app) as server, Fetcher(fetch_settings(max_bytes=MB)) as f:
        response = await f.fetch(server.make_url("/ok").human_repr())
    assert len(response.body) == MB


async def test_oversized_chunked_body_without_content_length_aborts_at_the_cap() -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10_000):  # 640 MB if nobody stops reading
            await response.write(b"z" * 65536)
            sent += 65536
        return response

    app, _ = recording_app({"/endless": endless})
    async with serve(app) as server, Fetcher(fetch_settings(max_bytes=MB)) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/endless").human_repr())
    assert err.value.kind == "too_large"
    assert sent < 64 * MB  # the client hung up long before the end


@pytest.mark.parametrize(("encoding", "bomb"), [
    ("gzip", _gzip_bomb(64 * MB)),
    ("deflate", _deflate_bomb(64 * MB)),
    ("br", _brotli_bomb(64 * MB)),
])
async def test_compression_bombs_abort_at_the_cap_with_bounded_memory(
    encoding: str, bomb: bytes
) -> None:
    app, _ = recording_app({"/bomb": raw(bomb, content_encoding=encoding)})
    async with serve(app) as server, Fetcher(fetch_settings(max_bytes=MB)) as f:
        url = server.make_url("/bomb").human_repr()
        tracemalloc.start()
        try:
            with pytest.raises(FetchError) as err:
                await f.fetch(url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert err.value.kind == "too_large"
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB while decoding a 64 MB bomb"


async def test_compressed_pages_are_decoded() -> None:
    page = "<html><body>" + "<p>Nouvelles du jour</p>" * 200 + "</body></html>"
    app, _ = recording_app({
        "/gz": raw(gzip.compress(page.encode()), content_encoding="gzip"),
        "/br": raw(brotli.compress(page.encode()), content_encoding="br"),
        "/df": raw(zlib.compress(page.encode()), content_encoding="deflate"),
    })
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        for path in ("/gz", "/br", "/df"):
            response = await f.fetch(server.make_url(path).human_repr())
            assert response.body == page.encode(), path
            assert response.headers["content-encoding"]  # what the server said, kept for logs


async def test_request_advertises_the_encodings_it_decodes() -> None:
    app, hits = recording_app({"/": text("ok")})
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        await f.fetch(server.make_url("/").human_repr())
    assert hits.headers[0]["Accept-Encoding"] == "gzip, deflate, br"


# --- time --------------------------------------------------------------------------------------

async def test_trickling_server_is_cut_off_at_the_total_deadline() -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b".")
            await asyncio.sleep(0.5)
        return response

    app, _ = recording_app({"/slow": trickle})
    async with serve(app) as server, Fetcher(fetch_settings(timeout=1.0)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/slow").human_repr())
        took = time.monotonic() - started
    assert err.value.kind == "timeout"
    assert took < 2.0


async def test_server_that_never_answers_times_out() -> None:
    async def silent(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)
        return web.Response(text="late")

    app, _ = recording_app({"/silent": silent})
    async with serve(app) as server, Fetcher(fetch_settings(timeout=1.0)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/silent").human_repr())
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 2.0


# --- redirects ---------------------------------------------------------------------------------

async def test_redirect_loop_fails_after_at_most_ten_hops() -> None:
    app, hits = recording_app({"/a": redirect("/b"), "/b": redirect("/a")})
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/a").human_repr())
    assert err.value.kind == "too_many_redirects"
    assert hits.count() == 11  # the request plus 10 redirects followed, not one more


async def test_redirects_are_followed_and_final_url_reported() -> None:
    app, _ = recording_app({
        "/old": redirect("/moved", 301), "/moved": redirect("./final?x=1", 307),
        "/final": text("here"),
    })
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        url = server.make_url("/old").human_repr()
        expected_final = server.make_url("/final?x=1").human_repr()
        response = await f.fetch(url)
    assert response.url == url
    assert response.final_url == expected_final
    assert response.body == b"here"


async def test_max_redirects_setting_is_honoured() -> None:
    app, hits = recording_app({"/1": redirect("/2"), "/2": redirect("/3"), "/3": text("x")})
    async with serve(app) as server, Fetcher(fetch_settings(max_redirects=1)) as f:
        with pytest.raises(FetchError) as err:
            await f.fetch(server.make_url("/1").human_repr())
    assert err.value.kind == "too_many_redirects"
    assert hits.count() == 2
