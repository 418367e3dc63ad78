"""Signing: RELIABILITY 1 and 3 at the unit level (the delivery tests repeat them end to end)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crawler.testing.webhook_receiver import make_secret
from crawler.webhooks.signing import Signer

PAYLOAD = json.dumps({"type": "article.new", "data": {"text": "汉字 and ascii"}},
                     ensure_ascii=False)


def test_signature_verifies_and_one_changed_byte_fails() -> None:  # case 1
    secret = make_secret()
    headers = Signer([secret]).headers("evt_1", datetime.now(UTC), PAYLOAD, user_agent="ua/1")
    assert Webhook(secret).verify(PAYLOAD.encode(), headers)["type"] == "article.new"
    body = bytearray(PAYLOAD.encode())
    body[10] ^= 0x01
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(bytes(body), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(PAYLOAD.encode(), {**headers, "webhook-id": "evt_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(make_secret()).verify(PAYLOAD.encode(), headers)


def test_headers() -> None:
    now = datetime(2026, 11, 26, 12, 0, 30, 900000, tzinfo=UTC)
    headers = Signer([make_secret()]).headers("evt_1", now, PAYLOAD, user_agent="ua/1")
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "ua/1"
    assert headers["webhook-signature"].startswith("v1,")


def test_two_secrets_two_signatures_either_verifies() -> None:  # case 3
    old, new = make_secret(), make_secret()
    headers = Signer([old, new]).headers("evt_1", datetime.now(UTC), PAYLOAD, user_agent="u")
    signature = headers["webhook-signature"]
    parts = signature.split(" ")
    assert len(parts) == 2
    assert all(p.startswith("v1,") and len(p) > 10 for p in parts)
    assert "  " not in signature
    assert signature == signature.strip()
    for secret in (old, new):
        Webhook(secret).verify(PAYLOAD.encode(), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(make_secret()).verify(PAYLOAD.encode(), headers)


def test_non_utc_timestamp_signs_the_same_instant() -> None:
    secret = make_secret()
    now = datetime.now(UTC)
    local = now.astimezone(timezone(timedelta(hours=-7)))
    signer = Signer([secret])
    assert signer.signature("e", local, PAYLOAD) == signer.signature("e", now, PAYLOAD)
    Webhook(secret).verify(PAYLOAD.encode(), signer.headers("e", local, PAYLOAD, user_agent="u"))


def test_secrets_never_shown() -> None:
    secret = make_secret()
    signer = Signer([secret])
    assert secret[6:] not in repr(signer)
    with pytest.raises(ValueError, match="secret") as info:
        Signer(["whsec_!!!not-base64!!!"])
    assert "!!!" not in str(info.value)
    with pytest.raises(ValueError, match="at least one"):
        Signer([])
