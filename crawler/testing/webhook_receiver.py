"""A local webhook receiver for tests: verifies every request as a Standard Webhooks consumer.

Usage from any test module (explicit import, no conftest magic):

    from crawler.testing.webhook_receiver import (
        ReceiverFactory, Reply, make_secret, receiver_factory)

    @pytest.fixture
    async def receivers() -> AsyncIterator[ReceiverFactory]:
        async with receiver_factory() as make:
            yield make

    async def test_x(receivers: ReceiverFactory) -> None:
        receiver = await receivers(secret, [500, 500, 200])
        ... point a [[webhooks]] url at receiver.url ...
        [first, *_] = await receiver.wait_for(3, timeout=5)
        assert first.verified

A receiver with no secrets records any other sender's posts as well (Apprise's `json://`, see
`apprise_url`).

Each request is recorded as a `Received` (headers, raw body, parsed JSON, whether it verified,
when it arrived, what was answered). Answers follow a script, one item per request, then the
default (200): an int status, a `Reply` (status, headers, body), or `HANG` (never answer, until
the receiver closes).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HANG: Literal["hang"] = "hang"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


Scripted = int | Reply | Literal["hang"]


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    """Lower-cased header names."""
    body: bytes
    json: Any
    """The parsed body, or None if it was not JSON."""
    verified: bool
    """Verified with at least one of the receiver's secrets."""
    verified_by: tuple[bool, ...]
    """Per receiver secret, in order: did it verify the request."""
    error: str | None
    """Why verification failed with every secret."""
    received_at: float
    """time.monotonic() on arrival."""
    wall_time: datetime
    answer: Scripted


def make_secret() -> str:
    """A fresh Standard Webhooks secret."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


class WebhookReceiver:
    def __init__(
        self,
        secrets: str | Sequence[str],
        script: Iterable[Scripted] = (),
        *,
        default: Scripted = 200,
        path: str = "/hook",
    ) -> None:
        self.secrets = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        self._webhooks = [Webhook(s) for s in self.secrets]
        self._script: list[Scripted] = list(script)
        self.default = default
        self.path = path
        self.requests: list[Received] = []
        self._arrived = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def apprise_url(self, user: str, password: str) -> str:
        """The receiver as an Apprise `json://` target: Apprise posts its JSON message to the
        receiver's path, with `user` and `password` as Basic credentials."""
        return f"json://{user}:{password}@127.0.0.1:{self.port}{self.path}"

    def script(self, *answers: Scripted) -> None:
        """Append answers for the next requests."""
        self._script.extend(answers)

    async def start(self, port: int = 0) -> WebhookReceiver:
        """Listen on 127.0.0.1:`port` (0: a free one)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown timeout: hanging handlers are released by close() anyway.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The first `count` requests, waiting for them up to `timeout` seconds."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests[:count]

    def verify(self, request: Received, secret: str) -> Any:
        """Verify a recorded request with any secret now (raises WebhookVerificationError)."""
        return Webhook(secret).verify(request.body, request.headers)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified_by: list[bool] = []
        error: str | None = None
        for webhook in self._webhooks:
            try:
                webhook.verify(body, headers)
                verified_by.append(True)
            except (WebhookVerificationError, ValueError) as exc:
                verified_by.append(False)
                error = f"{type(exc).__name__}: {exc}"
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        answer = self._script.pop(0) if self._script else self.default
        record = Received(
            path=request.path, headers=headers, body=body, json=parsed,
            verified=any(verified_by), verified_by=tuple(verified_by),
            error=None if any(verified_by) else error,
            received_at=time.monotonic(), wall_time=datetime.now(UTC), answer=answer,
        )
        async with self._arrived:
            self.requests.append(record)
            self._arrived.notify_all()
        if answer == HANG:
            await self._closing.wait()
            return web.Response(status=503)
        if isinstance(answer, Reply):
            return web.Response(status=answer.status, headers=answer.headers, text=answer.body)
        assert isinstance(answer, int)
        return web.Response(status=answer)


ReceiverFactory = Callable[..., Awaitable[WebhookReceiver]]


@asynccontextmanager
async def receiver_factory() -> AsyncIterator[ReceiverFactory]:
    """`make(secrets, script=(), default=200, path="/hook")` starts a receiver on 127.0.0.1
    (a free port); every receiver made is closed when the block ends."""
    receivers: list[WebhookReceiver] = []

    async def make(
        secrets: str | Sequence[str], script: Iterable[Scripted] = (), **kwargs: Any
    ) -> WebhookReceiver:
        receiver = WebhookReceiver(secrets, script, **kwargs)
        receivers.append(receiver)
        return await receiver.start()

    try:
        yield make
    finally:
        for receiver in receivers:
            await receiver.close()


class Receiver(WebhookReceiver):
    """A receiver with the conveniences end-to-end runs use: what it accepted, and a script
    of failures set while it runs."""

    def accepted(self) -> list[Received]:
        """Requests answered with a 2xx, in arrival order."""
        out = []
        for r in self.requests:
            status = r.answer.status if isinstance(r.answer, Reply) else r.answer
            if isinstance(status, int) and 200 <= status < 300:
                out.append(r)
        return out

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` requests with `status` (0 clears the script)."""
        self._script = [status] * count


@asynccontextmanager
async def start_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(make_secret())
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.close()


def webhook_table(receiver: WebhookReceiver) -> str:
    """The `[[webhooks]]` table of a config that sends to `receiver`."""
    return f'[[webhooks]]\nurl = "{receiver.url}"\nsecret = "{receiver.secrets[0]}"\n'
