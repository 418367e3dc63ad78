"""What every local test site shares: its aiohttp app served on 127.0.0.1 (a free port), and
the requests it is answering counted, so that a test can tell how many a crawler had in
flight at once. The sites themselves (`news_site.NewsSite`, the tests' identity site) say
only what they serve (`routes`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Self

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LocalSite:
    def __init__(self) -> None:
        self.server: TestServer | None = None
        self.in_flight = 0
        """Requests being answered now."""
        self.most_in_flight = 0
        """The most requests answered at once (a test may set it back to 0)."""

    def routes(self, app: web.Application) -> None:
        """Add the site's routes to `app`."""
        raise NotImplementedError

    def app(self) -> web.Application:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return await handler(request)
            finally:
                self.in_flight -= 1

        app = web.Application(middlewares=[count])
        self.routes(app)
        return app

    @property
    def port(self) -> int:
        assert self.server is not None, "not started"
        assert self.server.port is not None
        return self.server.port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, host: str | None = None) -> str:
        """`path` on this site (at `base`), or reached as `host` (another name of the same
        address is another origin)."""
        return (self.base if host is None else f"http://{host}:{self.port}") + path

    async def start(self) -> Self:
        self.server = TestServer(self.app(), host="127.0.0.1", port=0)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
