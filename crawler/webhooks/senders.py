"""The two ways one delivery attempt goes out, both a `Sender`: a signed webhook POST
(`WebhookSender`, Standard Webhooks), or an Apprise notification for people
(`AppriseSender`). Both end within the delivery timeout and never raise for a failed send: the
`Answer` says what happened, and the deliverer records it.

Apprise is an optional extra: it is imported only when a notification is sent, so the core
runs without it. Apprise URLs carry tokens (bot tokens, passwords): nothing here logs them,
and Apprise's own log records (which may name its target) are kept out of ours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import aiohttp

from crawler.fetch.errors import describe_transport_error
from crawler.models import Delivery
from crawler.redact import bare_url
from crawler.webhooks.notify_message import NotifyMessage, render_message
from crawler.webhooks.signing import Signer

_APPRISE_GRACE = 2.0
"""Beyond the timeout handed to Apprise, how long to wait for its thread before giving up."""


@dataclass(frozen=True, slots=True)
class Answer:
    ok: bool
    """The target took the delivery (2xx, or Apprise reported success)."""
    status: int | None = None
    """The HTTP status of a webhook answer; None for no answer and for Apprise."""
    error: str | None = None
    retry_after: str | None = None


class Sender(Protocol):
    """Where one endpoint's deliveries go."""

    async def send(self, delivery: Delivery, *, within: float) -> Answer:
        """One attempt of `delivery`, answered or given up within `within` seconds."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookSender:
    """A `[[webhooks]]` endpoint: the stored payload, signed, POSTed to `url`."""

    session: aiohttp.ClientSession
    url: str
    signer: Signer
    user_agent: str
    signing_clock: Callable[[], datetime]
    """Gives the `webhook-timestamp`, which receivers compare with their own wall clock."""

    async def send(self, delivery: Delivery, *, within: float) -> Answer:
        return await post_webhook(self.session, self.url, self.signer, delivery,
                                  signed_at=self.signing_clock(), user_agent=self.user_agent,
                                  within=within)


@dataclass(frozen=True, slots=True)
class AppriseSender:
    """A `[[notify]]` target: the event's human message, through Apprise."""

    apprise_url: str = field(repr=False)
    """Carries tokens: never logged."""

    async def send(self, delivery: Delivery, *, within: float) -> Answer:
        return await send_apprise(self.apprise_url, delivery, within=within)


async def post_webhook(
    session: aiohttp.ClientSession, url: str, signer: Signer, delivery: Delivery, *,
    signed_at: datetime, user_agent: str, within: float,
) -> Answer:
    """POST the stored payload, signed (Standard Webhooks). Redirects are never followed."""
    headers = signer.headers(delivery.event_id, signed_at, delivery.payload,
                             user_agent=user_agent)
    try:
        async with session.post(
            url, data=delivery.payload.encode("utf-8"), headers=headers,
            allow_redirects=False, timeout=aiohttp.ClientTimeout(total=within),
        ) as response:
            return Answer(ok=200 <= response.status < 300, status=response.status,
                          retry_after=response.headers.get("Retry-After"))
    except TimeoutError:
        return Answer(ok=False, error=f"no answer within {within:g}s")
    except Exception as exc:
        # Whatever kept us from an answer is a failed attempt and follows the schedule. The
        # error is stored and logged: an exception quoting the URL must not leak its token.
        error = describe_transport_error(exc).replace(url, bare_url(url))
        return Answer(ok=False, error=error[:500])


async def send_apprise(apprise_url: str, delivery: Delivery, *, within: float) -> Answer:
    """Send the event's human message through Apprise (synchronous, so in a thread) within
    `within` seconds. Apprise's False is a failed attempt."""
    try:
        message = render_message(delivery.payload)
    except ValueError as exc:
        return Answer(ok=False, error=f"cannot render the message: {exc}")
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_notify_blocking, apprise_url, message, within),
            within + _APPRISE_GRACE,
        )
    except TimeoutError:
        return Answer(ok=False, error=f"no answer within {within:g}s")
    except Exception as exc:
        # Never str(exc): an Apprise exception may quote the URL and its token.
        return Answer(ok=False, error=f"Apprise raised {type(exc).__name__}")


def _notify_blocking(apprise_url: str, message: NotifyMessage, timeout: float) -> Answer:
    import apprise

    _quiet_apprise_logs()
    sender = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not sender.add(apprise_url):
        return Answer(ok=False, error="Apprise does not understand the [[notify]] url")
    result = sender.notify(body=message.body, title=message.title, timeout=timeout)
    if result:
        return Answer(ok=True)
    services = ", ".join(sorted({str(getattr(r, "name", "?")) for r in result})) or "-"
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    return Answer(ok=False, error=f"Apprise: {status} ({services})")


def _quiet_apprise_logs() -> None:
    """Apprise logs through stdlib logging, where our handlers would write its records (some
    name the target, tokens included). Ours say what happened, by the "apprise:" key."""
    logger = logging.getLogger("apprise")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
