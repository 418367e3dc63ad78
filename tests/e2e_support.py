"""Helpers shared by the end-to-end tests: a receiver with a few conveniences."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from crawler.app import App
from crawler.config import Settings
from tests.webhook_receiver import Received, Reply, WebhookReceiver, make_secret


async def run_pass(settings: Settings, clock: Callable[[], datetime]) -> bool:
    """One `crawler once` pass in-process at the clock's time; True if something failed."""
    async with App(settings, clock=clock) as app:
        return (await app.run_pass()).failed


class Receiver(WebhookReceiver):
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
    return f'[[webhooks]]\nurl = "{receiver.url}"\nsecret = "{receiver.secrets[0]}"\n'
