"""The optional operator HTTP endpoint: `/healthz` for probes, `/metrics` for Prometheus,
and, given the store, the web view, feed of changes and API (`crawler.web`, with its own
access rules: `[http] token`).

Bound to loopback by default (`[http] listen = "127.0.0.1:9464"`): neither route needs
authentication because neither exposes anything beyond counts and check names, but there is
still no reason to offer them to the network unless the operator asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import structlog
from aiohttp import web

from crawler.metrics import CONTENT_TYPE, Metrics
from crawler.store.base import Store
from crawler.web import Access, mount_web

log = structlog.get_logger(__name__)

# A health callable answers {check name: passed}, e.g. {"loop": True, "database": True,
# "scheduler": True}. It should be cheap (a `SELECT 1`, a flag); it is bounded anyway.
HealthCheck = Callable[[], Awaitable[Mapping[str, bool]]]

# Longer than any healthy answer, shorter than a probe's own timeout (Kubernetes and most
# monitors default to 1-10 s), so a wedged database gives a clear 503 rather than a hang.
HEALTH_TIMEOUT = 3.0


def parse_listen(value: str) -> tuple[str, int]:
    """("host", port) from "host:port", "[v6addr]:port" or ":port" (loopback).

    Raises ValueError with a message suitable for a config error.
    """
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{value!r} is not host:port")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, like [::1]:9464")
    return host or "127.0.0.1", port


class ListenError(Exception):
    """The `[http] listen` address cannot be bound (taken, or not this machine's): a message
    for the operator, printed as it is."""


class HttpApi:
    """An aiohttp server for /healthz and /metrics, and the pages when given `store`;
    `start()` binds, `stop()` closes it."""

    def __init__(self, host: str, port: int, metrics: Metrics, health: HealthCheck, *,
                 store: Store | None = None, token: str = "") -> None:
        self.host = host
        self._requested_port = port
        self._metrics = metrics
        self._health = health
        self._store = store
        self._token = token
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_route)
        if self._store is not None and mount_web(
                app, self._store, host=self.host, token=self._token) is Access.OFF:
            log.warning("web_view_off", host=self.host,
                        reason="no [http] token and the listener is not on a loopback "
                               "address: set [http] token to serve the pages, feed and API")
        return app

    async def start(self) -> None:
        """Bind and serve. Raises `ListenError` if the address is taken or not allowed."""
        if self._runner is not None:
            return
        # No access log: a scrape every 15 s would be most of the journal.
        runner = web.AppRunner(self._app(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = exc.strerror or str(exc)
            if "error while attempting to bind" in reason:
                # asyncio's wording around the system's: keep only the system's reason.
                reason = reason.rsplit(": ", 1)[-1]
            raise ListenError(f"cannot listen on {self.host}:{self._requested_port} "
                              f"([http] listen): {reason}") from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        # The port actually bound: differs from the requested one when that was 0.
        self.port = int(runner.addresses[0][1])
        log.info("http_api_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Close the listener and finish in-flight requests (they are all short)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        checks: dict[str, bool]
        error: str | None = None
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                checks = {name: bool(ok) for name, ok in (await self._health()).items()}
        except TimeoutError:
            checks, error = {}, f"health check timed out after {HEALTH_TIMEOUT:g}s"
        except Exception as exc:
            log.exception("health_check_error")
            checks, error = {}, f"health check raised {type(exc).__name__}"
        healthy = error is None and all(checks.values())
        body: dict[str, object] = {"status": "ok" if healthy else "unhealthy", "checks": checks}
        if not healthy:
            body["failed"] = [name for name, ok in checks.items() if not ok]
        if error is not None:
            body["error"] = error
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics_route(self, request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.render())
        # Set whole: the Prometheus type carries a version parameter that `content_type=` drops.
        response.headers["Content-Type"] = CONTENT_TYPE
        return response
