"""Local servers and helpers for the fetcher tests: 127.0.0.1 plays the hostile or broken side.

Nothing here touches the internet. Made-up host names reach the local servers through
`StaticResolver`, passed to the Fetcher as its resolver. To play "a public site" with private
addresses refused, a server listens on 127.0.0.2 and the test's AddressPolicy lists 127.0.0.2 in
`treat_as_public`, while 127.0.0.1 stays the internal service that must never be reached.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from crawler.config import FetchSettings
from crawler.fetch import AddressPolicy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_LOOPBACK = "127.0.0.2"  # "public" in tests that refuse private addresses
TEST_POLICY = AddressPolicy(
    allow_private=False, treat_as_public=frozenset({ipaddress.ip_address(PUBLIC_LOOPBACK)})
)


def fetch_settings(**overrides: Any) -> FetchSettings:
    """Test settings: short deadline, no delay, private addresses allowed, robots off.

    Overrides are applied with model_copy, so sub-second values (0.2 for a delay) are
    possible although the config syntax only has whole seconds.
    """
    base = FetchSettings.model_validate({
        "timeout": "2s",
        "per_host_delay": "0s",
        "allow_private_addresses": True,
        "respect_robots_txt": False,
        "user_agent": "crawler-test/1.0 (+https://example.invalid/bot)",
    })
    return base.model_copy(update=overrides)


class StaticResolver(AbstractResolver):
    """DNS from a table: host name -> addresses; unknown names fail like NXDOMAIN.

    `answers` may map a name to a list of lists: each lookup takes the next one (the last
    repeats), to play a name whose DNS answer changes between lookups.
    """

    def __init__(self, table: dict[str, list[str] | list[list[str]]]) -> None:
        self._table = table
        self.lookups: dict[str, int] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        entry = self._table.get(host.rstrip("."))
        if entry is None:
            raise OSError(f"test resolver: unknown host {host}")
        n = self.lookups.get(host, 0)
        self.lookups[host] = n + 1
        addresses: list[str]
        if entry and isinstance(entry[0], list):
            answers = [a for a in entry if isinstance(a, list)]
            addresses = answers[min(n, len(answers) - 1)]
        else:
            addresses = [a for a in entry if isinstance(a, str)]
        return [
            {
                "hostname": host,
                "host": ip,
                "port": port,
                "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in addresses
        ]

    async def close(self) -> None:
        return None


@dataclass
class Hits:
    """What a test server saw: every request, and how many ran at once."""

    paths: list[str] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def count(self, path: str | None = None) -> int:
        return len(self.paths) if path is None else self.paths.count(path)


def recording_app(routes: dict[str, Handler]) -> tuple[web.Application, Hits]:
    """An app serving `routes` (GET, exact paths; anything else 404) that records every hit."""
    hits = Hits()

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        hits.paths.append(request.path_qs)
        hits.starts.append(time.monotonic())
        hits.headers.append(dict(request.headers))
        hits.in_flight += 1
        hits.max_in_flight = max(hits.max_in_flight, hits.in_flight)
        try:
            return await handler(request)
        finally:
            hits.in_flight -= 1

    app = web.Application(middlewares=[record])
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    return app, hits


@asynccontextmanager
async def serve(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[TestServer]:
    """Run `app` on host:port (default a free port) for the duration of the block."""
    server = TestServer(app, host=host, port=port)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def text(body: str | bytes, status: int = 200, **headers: str) -> Handler:
    """A handler answering a fixed body."""
    payload = body.encode() if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=payload, status=status, headers=_headers(headers))

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handler


def raw(body: bytes, **headers: str) -> Handler:
    """A handler sending `body` as is (e.g. already compressed), without Content-Length."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=_headers(headers))
        response.enable_chunked_encoding()
        await response.prepare(request)
        view = memoryview(body)
        for start in range(0, len(body), 16 * 1024):
            await response.write(bytes(view[start:start + 16 * 1024]))
        await response.write_eof()
        return response

    return handler


def _headers(headers: dict[str, str]) -> dict[str, str]:
    # Python names cannot hold dashes: content_type= becomes Content-Type.
    return {name.replace("_", "-").title(): value for name, value in headers.items()}
