"""`crawler webhooks test`: one signed `webhook.test` event to each endpoint, verified by real
Standard Webhooks receivers, each answer printed, exit 0 only when every answer is 2xx, and
nothing stored or retried."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from crawler.commands.webhooks import MESSAGE
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.webhook_receiver import ReceiverFactory, Reply, make_secret

TOKEN = "s3cret-token"


async def crawler(config: Path, *args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CRAWLER_CMD, *args, "--config", str(config), cwd=config.parent,
        env=subprocess_env(**env), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def config_with(tmp_path: Path, hooks: list[tuple[str, str | list[str]]]) -> Path:
    tables = "".join(f'[[webhooks]]\nurl = "{url}"\nsecret = {json.dumps(secret)}\n\n'
                     for url, secret in hooks)
    return write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"], webhooks=tables,
                        extra='[delivery]\ntimeout = "2s"\n')


async def test_each_endpoint_gets_one_verified_test_event_and_its_answer_is_printed(
        tmp_path: Path, receivers: ReceiverFactory) -> None:
    old, new = make_secret(), make_secret()
    ok = await receivers([old, new])
    failing = await receivers(make_secret(), [500], path="/fail")
    ok_url = f"{ok.url}?token={TOKEN}"
    config = config_with(tmp_path, [(ok_url, [new, old]), (failing.url, failing.secrets[0])])

    code, out, err = await crawler(config, "webhooks", "test")
    assert code == 1, err
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert lines[ok.url].startswith("HTTP 200 (ok) in ")  # shown without its token
    assert lines[failing.url].startswith("HTTP 500 (not 2xx) in ")
    assert TOKEN not in out + err
    [got] = ok.requests
    assert got.verified_by == (True, True)  # each rotated secret verifies it
    assert got.json["type"] == "webhook.test" and got.json["data"] == {"message": MESSAGE}
    assert got.headers["webhook-id"].startswith("evt_")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert len(failing.requests) == 1 and failing.requests[0].verified
    # Never stored (there is not even a database) and never retried.
    assert not (tmp_path / "crawler.db").exists()
    await asyncio.sleep(0.5)
    assert len(failing.requests) == 1


async def test_endpoint_picks_one_and_every_2xx_is_success(
        tmp_path: Path, receivers: ReceiverFactory) -> None:
    ok = await receivers(make_secret(), [204])
    failing = await receivers(make_secret(), [503], path="/fail")
    config = config_with(tmp_path, [(f"{ok.url}?token={TOKEN}", ok.secrets[0]),
                                    (failing.url, failing.secrets[0])])
    code, out, err = await crawler(config, "webhooks", "test", "--endpoint", ok.url)
    assert code == 0, err
    assert out.startswith(f"{ok.url}: HTTP 204 (ok)")
    assert failing.requests == [] and len(ok.requests) == 1
    code, _, err = await crawler(config, "webhooks", "test", "--endpoint",
                                 "http://127.0.0.1:9/elsewhere")
    assert code == 1 and "no [[webhooks]] endpoint named http://127.0.0.1:9/elsewhere" in err


async def test_a_redirect_is_not_followed_and_silence_is_a_failure(
        tmp_path: Path, receivers: ReceiverFactory) -> None:
    target = await receivers(make_secret(), path="/target")
    redirecting = await receivers(make_secret(), [Reply(307, {"Location": target.url})])
    config = config_with(tmp_path, [(redirecting.url, redirecting.secrets[0]),
                                    ("http://127.0.0.1:9/closed", make_secret())])
    code, out, _ = await crawler(config, "webhooks", "test")
    assert code == 1
    assert f"{redirecting.url}: HTTP 307 (not 2xx)" in out
    assert "http://127.0.0.1:9/closed: no answer: " in out
    assert target.requests == []


async def test_without_endpoints_or_secrets_nothing_is_sent(tmp_path: Path) -> None:
    config = config_with(tmp_path, [])
    code, _, err = await crawler(config, "webhooks", "test")
    assert code == 1 and "no [[webhooks]] endpoint configured" in err
    config.write_text(config.read_text() + '[[webhooks]]\nurl = "http://127.0.0.1:9/h"\n'
                      'secret = "${HOOK_SECRET}"\n', encoding="utf-8")
    code, _, err = await crawler(config, "webhooks", "test")
    assert code == 2
    assert "webhooks[0].secret: environment variable HOOK_SECRET is not set" in err
