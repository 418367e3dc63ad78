"""Credentials in URLs are never printed, logged or sent: the pure masking rules, the config's
refusal of a password in a feed URL, and the whole path (`check-config`, log lines, event
payloads) against a local site and a verifying receiver."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_config
from crawler.redact import (
    bare_url,
    fingerprinted_url,
    has_userinfo,
    redact_text,
    redact_url,
    secret_name,
)
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.test_e2e_daemon import crawler

SECRET = "s3cr3tVALUE"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://example.org/rss.xml", "https://example.org/rss.xml"),
    ("https://user:pw@example.org/rss", "https://***@example.org/rss"),
    ("https://tok@example.org:8443/rss", "https://***@example.org:8443/rss"),
    ("https://e.org/rss?token=abc&lang=en", "https://e.org/rss?token=***&lang=en"),
    ("https://e.org/f?private_token=abc", "https://e.org/f?private_token=***"),
    ("https://e.org/f?X-Amz-Signature=abc&X-Amz-Date=1", "https://e.org/f?X-Amz-Signature=***&X-Amz-Date=1"),
    ("https://e.org/f?API_KEY=abc", "https://e.org/f?API_KEY=***"),
    ("https://e.org/f?hub.verify_token=abc", "https://e.org/f?hub.verify_token=***"),
    ("https://e.org/a?id=7&page=2", "https://e.org/a?id=7&page=2"),  # nothing secret: as is
    ("https://e.org/a?keyword=rain", "https://e.org/a?keyword=rain"),
    ("not a url", "not a url"),
])
def test_urls_are_shown_without_their_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(("name", "secret"), [
    ("token", True), ("Token", True), ("access_token", True), ("apikey", True),
    ("client-secret", True), ("sig", True), ("password", True),
    ("id", False), ("page", False), ("keyword", False), ("tokens_left", False), ("", False),
])
def test_secret_looking_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


@pytest.mark.parametrize(
    ("url", "masked", "bare", "fingerprinted"),
    [
        ("https://hooks.example/in?key=abc", "https://hooks.example/in?key=***",
         "https://hooks.example/in", "https://hooks.example/in #"),
        # Any query of an endpoint may be a token: the bare forms drop it, whatever its name.
        ("https://hooks.example/in?c=abc", "https://hooks.example/in?c=abc",
         "https://hooks.example/in", "https://hooks.example/in #"),
        ("https://u:p@[::1]:8080/in#x", "https://***@[::1]:8080/in#x", "https://[::1]:8080/in",
         "https://[::1]:8080/in #"),
        ("https://hooks.example/in", "https://hooks.example/in", "https://hooks.example/in",
         "https://hooks.example/in"),
        ("apprise:0123abcd", "apprise:0123abcd", "apprise:0123abcd", "apprise:0123abcd"),
    ],
)
def test_the_three_ways_a_url_is_shown(url: str, masked: str, bare: str,
                                       fingerprinted: str) -> None:
    assert redact_url(url) == masked
    assert bare_url(url) == bare
    shown = fingerprinted_url(url)
    assert shown.startswith(fingerprinted)
    assert len(shown) == len(fingerprinted) + (6 if fingerprinted.endswith("#") else 0)


def test_urls_that_differ_only_in_a_token_are_told_apart() -> None:
    old, rotated = "https://h.example/in?token=old", "https://h.example/in?token=new"
    assert bare_url(old) == bare_url(rotated)
    assert fingerprinted_url(old) != fingerprinted_url(rotated)


def test_every_url_in_a_text_is_masked() -> None:
    text = ("feed https://u:p@e.org/rss?token=abc failed: 500 from "
            "'http://e.org/x?key=k' (see https://e.org/help)")
    assert redact_text(text) == ("feed https://***@e.org/rss?token=*** failed: 500 from "
                                 "'http://e.org/x?key=***' (see https://e.org/help)")
    assert has_userinfo("https://u:p@e.org/") and not has_userinfo("https://e.org/a@b")


def test_a_password_in_a_feed_url_is_a_config_error_that_does_not_echo_it(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, [f"https://reader:{SECRET}@feeds.example/rss.xml"])
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "feeds[0].url" in str(caught.value) and "user name or password" in str(caught.value)
    assert SECRET not in str(caught.value)
    result = subprocess.run([*CRAWLER_CMD, "check-config", "--config", str(config)],
                            env=subprocess_env(), capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 2 and SECRET not in result.stdout + result.stderr


def test_check_config_masks_tokens_of_feeds_and_webhooks(tmp_path: Path) -> None:
    hooks = ('[[webhooks]]\nurl = "https://hooks.example/in?token=' + SECRET + '"\n'
             'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n')
    config = write_config(tmp_path, [f"https://feeds.example/rss.xml?key={SECRET}"],
                          webhooks=hooks)
    result = subprocess.run([*CRAWLER_CMD, "check-config", "--config", str(config)],
                            env=subprocess_env(), capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "https://feeds.example/rss.xml?key=***" in result.stdout
    assert "https://hooks.example/in?token=***" in result.stdout
    assert SECRET not in result.stdout + result.stderr


async def test_log_lines_and_events_carry_no_token(
        tmp_path: Path, site: NewsSite, receiver: Receiver) -> None:
    site.add("storm", "Storm hits coast", "A storm hit the northern coast on Tuesday night.",
             ["Twelve homes were damaged in the village of Westport, the fire service said."])
    good = site.url(f"/rss.xml?token={SECRET}")
    broken = site.url(f"/broken.xml?api_key={SECRET}")
    config = write_config(tmp_path, [good, broken], webhooks=webhook_table(receiver))
    code, out, err = await crawler("once", "--config", str(config), cwd=tmp_path)
    assert code == 1  # the broken feed failed, and said so
    log = (tmp_path / "crawler.jsonl").read_text()
    assert '"feed_failed"' in log and "broken.xml?api_key=***" in log
    assert SECRET not in log + out + err
    [event] = receiver.accepted()
    assert event.verified
    assert event.json["data"]["article"]["feed_url"].endswith("/rss.xml?token=***")
    assert SECRET not in event.body.decode()
