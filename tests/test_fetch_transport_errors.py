"""Transport failures said in words (`crawler.fetch.errors.describe_transport_error`): what
failed, with which host, and the system's reason, instead of the HTTP client's class name."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from crawler.fetch import Fetcher, FetchError
from crawler.fetch.errors import describe_transport_error
from tests.hostile_server import StaticResolver, fetch_settings


@pytest.mark.parametrize(("error", "said"), [
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "network unreachable"),
    (OSError(errno.EPIPE, "Broken pipe"), "BrokenPipeError: [Errno 32] Broken pipe"),
    (RuntimeError(), "RuntimeError"),
])
def test_plain_errors_are_said_in_words_or_with_their_class(error: BaseException,
                                                            said: str) -> None:
    assert describe_transport_error(error) == said


async def fetch_error(url: str, resolver: StaticResolver) -> FetchError:
    async with Fetcher(fetch_settings(), resolver=resolver) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    return caught.value


async def test_an_unknown_host_is_a_dns_failure_naming_the_host() -> None:
    error = await fetch_error("http://nowhere.example/a", StaticResolver({}))
    assert error.kind == "connection"
    assert error.message.startswith("DNS: cannot resolve nowhere.example (")


async def test_a_closed_port_is_a_refused_connection_with_host_and_port() -> None:
    resolver = StaticResolver({"shut.example": ["127.0.0.1"]})
    error = await fetch_error("http://shut.example:9/a", resolver)  # discard port: nothing listens
    assert (error.kind, error.message) == (
        "connection", "cannot connect to shut.example:9 (connection refused)")


@asynccontextmanager
async def hang_up_server() -> AsyncIterator[int]:
    """Accepts, reads the request, closes without a byte of answer."""
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_server_that_hangs_up_is_said_so() -> None:
    async with hang_up_server() as port:
        resolver = StaticResolver({"rude.example": ["127.0.0.1"]})
        error = await fetch_error(f"http://rude.example:{port}/a", resolver)
    assert (error.kind, error.message) == (
        "connection", "the server closed the connection before answering")
