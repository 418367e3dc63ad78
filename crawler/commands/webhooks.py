"""`crawler webhooks test [--endpoint URL]`: one signed `webhook.test` event to each configured
webhook now, and each answer printed.

The event goes out exactly as a delivery attempt does (`senders.post_webhook`: the endpoint's
secrets, Standard Webhooks headers, no redirects followed, the delivery timeout), but it is
never stored and never retried: it shows whether an endpoint takes and verifies what the
daemon sends, without touching the outbox. `[[notify]]` targets are for people and are not
tested here.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

import aiohttp

from crawler.clock import utc_now
from crawler.config import Settings, WebhookSettings
from crawler.events import format_timestamp, new_event_id
from crawler.models import Delivery
from crawler.redact import bare_url
from crawler.webhooks.senders import Answer, post_webhook
from crawler.webhooks.signing import Signer

TEST_EVENT = "webhook.test"
MESSAGE = "A test event from `crawler webhooks test`: nothing changed."


def event_payload(at: datetime) -> str:
    """The body of a test event (CONTRACT.md: `{"message": "..."}` as its data)."""
    return json.dumps({"type": TEST_EVENT, "timestamp": format_timestamp(at),
                       "data": {"message": MESSAGE}}, ensure_ascii=False, separators=(",", ":"))


def chosen(webhooks: tuple[WebhookSettings, ...], endpoint: str | None) -> list[WebhookSettings]:
    """The webhooks `--endpoint` names (its URL, or the URL as shown without its query); all
    of them without one."""
    if endpoint is None:
        return list(webhooks)
    exact = [hook for hook in webhooks if hook.url == endpoint]
    return exact or [hook for hook in webhooks if bare_url(hook.url) == endpoint]


def answer_text(answer: Answer, elapsed_ms: float) -> str:
    if answer.status is not None:
        verdict = "ok" if answer.ok else "not 2xx"
        return f"HTTP {answer.status} ({verdict}) in {elapsed_ms:.0f} ms"
    return f"no answer: {answer.error or 'unknown error'}"


async def _send(session: aiohttp.ClientSession, hook: WebhookSettings, *, within: float,
                user_agent: str) -> tuple[Answer, float]:
    now = utc_now()
    # A delivery record that exists only here, so the event goes out by the one code path
    # every delivery attempt takes.
    delivery = Delivery(delivery_id=0, event_id=new_event_id(), event_type=TEST_EVENT,
                        endpoint_url=hook.url, payload=event_payload(now), attempts=0,
                        created_at=now, next_attempt_at=None, status="pending",
                        last_status=None, last_error=None)
    started = time.monotonic()
    answer = await post_webhook(session, hook.url, Signer(hook.secret), delivery,
                                signed_at=now, user_agent=user_agent, within=within)
    return answer, (time.monotonic() - started) * 1000


async def send_test_events(settings: Settings, *, endpoint: str | None) -> int:
    """Exit 0 when every endpoint answered 2xx; 1 when one did not, when none is configured
    or when `endpoint` names none of them."""
    hooks = chosen(settings.webhooks, endpoint)
    if not hooks:
        where = f"named {endpoint}" if endpoint else "configured"
        print(f"crawler: no [[webhooks]] endpoint {where}", file=sys.stderr)
        return 1
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(
            _send(session, hook, within=settings.delivery.timeout,
                  user_agent=settings.fetch.user_agent) for hook in hooks))
    for hook, (answer, elapsed) in zip(hooks, results, strict=True):
        print(f"{bare_url(hook.url)}: {answer_text(answer, elapsed)}")
    return 0 if all(answer.ok for answer, _ in results) else 1
