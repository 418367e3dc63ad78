"""`crawler deliveries`, `deliveries replay` and `deliveries resume` as an operator runs them:
`python -m crawler` subprocesses on a database prepared through SQLiteStore, and a real
receiver verifying what a following `crawler once` sends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.events import notify_endpoint_key
from crawler.kinds import EndpointState
from crawler.store.sqlite import SQLiteStore
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.webhook_receiver import ReceiverFactory, WebhookReceiver, make_secret
from tests.test_webhooks_delivery import add_event

TOKEN = "tok3n-in-the-query"
NOTIFY_URL = "json://bot:n0tify-pass@127.0.0.1:9/notify"


async def crawler(config: Path, *args: str) -> tuple[int, str, str]:
    """Run `python -m crawler --config CONFIG ARGS` (--config before the subcommand, as
    `crawler --config X deliveries` must honour it) without blocking the loop (the receivers
    run in it)."""
    proc = await asyncio.create_subprocess_exec(
        *CRAWLER_CMD, "--config", str(config), *args, cwd=config.parent, env=subprocess_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def config_for(tmp_path: Path, hooks: list[tuple[str, str]], notify: bool = False) -> Path:
    tables = "".join(f'[[webhooks]]\nurl = "{url}"\nsecret = "{secret}"\n\n'
                     for url, secret in hooks)
    if notify:
        tables += f'[[notify]]\nurl = "{NOTIFY_URL}"\n\n'
    # The feed is a closed local port: `crawler once` fails its poll quickly, and still
    # attempts every due delivery.
    return write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"], webhooks=tables,
                        extra='[delivery]\ntimeout = "2s"\n')


async def open_store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "crawler.db")
    await store.migrate()
    await store.open()
    return store


def lines_for(out: str, shown_url: str) -> list[list[str]]:
    """The rows of an endpoint shown as `shown_url` (plus the fingerprint a URL whose token
    is masked gets)."""
    return [line.split("\t") for line in out.splitlines()
            if line.startswith((shown_url + "\t", shown_url + " #"))]


async def test_list_per_endpoint_with_health_and_no_secrets(
    tmp_path: Path, receivers: ReceiverFactory,
) -> None:
    secret_a, secret_b = make_secret(), make_secret()
    a = await receivers(secret_a)
    b = await receivers(secret_b)
    url_a = f"{a.url}?token={TOKEN}"
    config = config_for(tmp_path, [(url_a, secret_a), (b.url, secret_b)], notify=True)
    rc, out, _ = await crawler(config, "deliveries")
    assert (rc, out.strip()) == (0, "no pending, failed or disabled deliveries")

    store = await open_store(tmp_path)
    key = notify_endpoint_key(NOTIFY_URL)
    now = datetime.now(UTC)
    try:
        pending = await add_event(store, url_a, b.url, key, at=now)
        failed = await add_event(store, b.url, at=now)
        rows = {(d.event_id, d.endpoint_url): d for d in await store.list_deliveries(("pending",))}
        await store.record_delivery_attempt(
            rows[(failed.event_id, b.url)].delivery_id, attempted_at=now, status_code=500,
            error="HTTP 500", duration_ms=3.0, outcome="failed", next_attempt_at=None)
        await store.record_delivery_attempt(
            rows[(pending.event_id, url_a)].delivery_id, attempted_at=now, status_code=503,
            error="HTTP 503", duration_ms=3.0, outcome="retry",
            next_attempt_at=now + timedelta(minutes=5))
        paused = EndpointState(url_a, failing_since=now - timedelta(days=2),
                               paused_at=now - timedelta(days=1),
                               next_probe_at=now + timedelta(hours=1), reason="HTTP 503")
        await store.update_endpoint_state(url_a, lambda _: paused)
    finally:
        await store.close()

    rc, out, err = await crawler(config, "deliveries")
    assert rc == 0, err
    [row_a] = lines_for(out, a.url)  # shown without its query (the token)
    assert row_a[1:5] == ["pending", pending.event_id, "article.new", "1"]
    assert row_a[6:8] == ["503", "HTTP 503"]
    assert row_a[-1].startswith("paused since ")
    rows_b = lines_for(out, b.url)
    assert sorted((r[1], r[2]) for r in rows_b) == sorted(
        [("pending", pending.event_id), ("failed", failed.event_id)])
    assert {r[-1] for r in rows_b} == {"ok"}
    [row_n] = lines_for(out, key)
    assert row_n[1:3] == ["pending", pending.event_id]
    for text in (out, err):
        for secret in (secret_a, secret_b, secret_a.removeprefix("whsec_"), TOKEN,
                       "n0tify-pass", NOTIFY_URL):
            assert secret not in text


async def test_replay_failed_and_by_event_keeps_the_event_id(
    tmp_path: Path, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    receiver: WebhookReceiver = await receivers(secret)
    other = await receivers(secret)
    config = config_for(tmp_path, [(receiver.url, secret), (other.url, secret)])
    store = await open_store(tmp_path)
    now = datetime.now(UTC)
    try:
        failed = await add_event(store, receiver.url, other.url, at=now)
        for d in await store.list_deliveries(("pending",)):
            await store.record_delivery_attempt(
                d.delivery_id, attempted_at=now, status_code=500, error="HTTP 500",
                duration_ms=1.0, outcome="failed", next_attempt_at=None)
    finally:
        await store.close()

    rc, out, err = await crawler(config, "deliveries", "replay", "--failed",
                                 "--endpoint", receiver.url)
    assert (rc, out.strip()) == (0, "1 delivery queued again"), err
    rc, _, err = await crawler(config, "once")
    assert rc == 1  # the feed is unreachable; the delivery is still attempted
    [request] = receiver.requests
    assert request.verified
    assert request.headers["webhook-id"] == failed.event_id
    assert other.requests == []  # only the endpoint asked for

    rc, out, _ = await crawler(config, "deliveries", "replay", "--event", failed.event_id)
    assert (rc, out.strip()) == (0, "2 deliveries queued again")
    await crawler(config, "once")
    assert [r.headers["webhook-id"] for r in receiver.requests] == [failed.event_id] * 2
    assert [r.headers["webhook-id"] for r in other.requests] == [failed.event_id]
    assert all(r.verified for r in [*receiver.requests, *other.requests])
    rc, out, _ = await crawler(config, "deliveries")
    assert out.strip() == "no pending, failed or disabled deliveries"

    rc, out, _ = await crawler(config, "deliveries", "replay", "--event", "evt_unknown")
    assert (rc, out.strip()) == (1, "0 deliveries queued again")
    rc, _, err = await crawler(config, "deliveries", "replay")
    assert rc == 2
    assert "--event" in err


async def test_resume_paused_and_disabled_endpoints_by_command(
    tmp_path: Path, receivers: ReceiverFactory,
) -> None:
    secret = make_secret()
    paused_rx = await receivers(secret)
    gone_rx = await receivers(secret)
    paused_url = f"{paused_rx.url}?token={TOKEN}"
    config = config_for(tmp_path, [(paused_url, secret), (gone_rx.url, secret)], notify=True)
    store = await open_store(tmp_path)
    now = datetime.now(UTC)
    try:
        events = [await add_event(store, paused_url, gone_rx.url, at=now) for _ in range(2)]
        await store.update_endpoint_state(paused_url, lambda s: EndpointState(
            s.url, failing_since=now - timedelta(days=2), paused_at=now - timedelta(days=1),
            next_probe_at=now + timedelta(hours=1), reason="HTTP 500"))
        first = next(d for d in await store.list_deliveries(("pending",))
                     if d.endpoint_url == gone_rx.url)
        await store.record_delivery_attempt(
            first.delivery_id, attempted_at=now, status_code=410,
            error="HTTP 410 Gone: endpoint disabled", duration_ms=1.0, outcome="disabled",
            next_attempt_at=None)
        await store.update_endpoint_state(
            gone_rx.url, lambda s: EndpointState(s.url, disabled_at=now, reason="HTTP 410"))
    finally:
        await store.close()

    rc, out, _ = await crawler(config, "deliveries")
    assert {r[-1].split(" since")[0] for r in lines_for(out, paused_rx.url)} == {"paused"}
    assert {r[-1].split(" since")[0] for r in lines_for(out, gone_rx.url)} == {"disabled"}
    await crawler(config, "once")
    assert paused_rx.requests == gone_rx.requests == []  # held: probe not due, 410 persisted

    # By the form `crawler deliveries` shows (no token), and by the full URL.
    rc, out, err = await crawler(config, "deliveries", "resume", "--endpoint", paused_rx.url)
    assert rc == 0, err
    assert out.startswith(f"{paused_rx.url} #")  # its token masked, a fingerprint instead
    assert " resumed (was paused since " in out
    rc, out, _ = await crawler(config, "deliveries", "resume", "--endpoint", gone_rx.url)
    assert rc == 0
    assert "1 held delivery queued again" in out
    await crawler(config, "once")
    ids = sorted(e.event_id for e in events)
    assert sorted(r.headers["webhook-id"] for r in paused_rx.requests) == ids
    assert sorted(r.headers["webhook-id"] for r in gone_rx.requests) == ids
    assert all(r.verified for r in [*paused_rx.requests, *gone_rx.requests])
    rc, out, _ = await crawler(config, "deliveries")
    assert out.strip() == "no pending, failed or disabled deliveries"

    rc, out, _ = await crawler(config, "deliveries", "resume", "--endpoint", NOTIFY_URL)
    assert rc == 0
    assert out.startswith(notify_endpoint_key(NOTIFY_URL) + " was not paused or disabled")
    assert "n0tify-pass" not in out
    rc, _, err = await crawler(config, "deliveries", "resume", "--endpoint", "http://x.invalid/")
    assert rc == 1
    assert "no endpoint" in err
