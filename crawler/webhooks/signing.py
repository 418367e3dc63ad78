"""Standard Webhooks signatures and request headers.

The signature covers `webhook-id.webhook-timestamp.body`; receivers verify it with any Standard
Webhooks library. During a secret rotation every configured secret signs, and the signatures
are joined by exactly one space (the spec's format), so a receiver holding either secret
accepts the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


class Signer:
    """Signs payloads for one endpoint. Holds the decoded secrets; never logs or shows them."""

    __slots__ = ("_webhooks",)

    def __init__(self, secrets: Sequence[str]) -> None:
        """Raises ValueError if `secrets` is empty or one is not valid base64 (the message
        never contains the secret)."""
        if not secrets:
            raise ValueError("at least one webhook secret is needed")
        try:
            self._webhooks = tuple(Webhook(secret) for secret in secrets)
        except Exception:
            raise ValueError("a webhook secret is not valid whsec_ base64") from None

    def __repr__(self) -> str:  # the default repr could end up in a log line
        return f"Signer(<{len(self._webhooks)} secret(s)>)"

    def signature(self, msg_id: str, timestamp: datetime, payload: str) -> str:
        """The `webhook-signature` value: one `v1,<base64>` per secret, space-separated."""
        # standardwebhooks replaces tzinfo instead of converting: hand it UTC.
        utc = timestamp.astimezone(UTC)
        return " ".join(webhook.sign(msg_id, utc, payload) for webhook in self._webhooks)

    def headers(
        self, msg_id: str, timestamp: datetime, payload: str, *, user_agent: str
    ) -> dict[str, str]:
        """Every header of one delivery attempt. `timestamp` should be the attempt's own
        time: receivers reject timestamps more than a few minutes off."""
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": self.signature(msg_id, timestamp, payload),
            "content-type": "application/json",
            "user-agent": user_agent,
        }
