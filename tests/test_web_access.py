# ruff: noqa: F811
"""Who may read the pages, the feed and the API (`[http] token`): table tests of the rules,
then the endpoint itself on a database the daemon's passes filled."""

from __future__ import annotations

import base64
from pathlib import Path

import aiohttp
import pytest

from crawler.config import load_config
from crawler.testing.crawler_process import write_config
from crawler.web.access import Access, access_for, presented_token, token_matches
from tests.log_capture import capture_logs
from tests.web_support import Tracked, clock, serving, track_site, tracked  # noqa: F401 (fixtures)

TOKEN = "tok-3f9a1c"
WEB_PATHS = ("/", "/articles/1", "/articles/1/diff", "/changes.atom", "/api/changes",
             "/api/articles", "/api/articles/1", "/api/articles/1/versions/1",
             "/static/style.css")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(("host", "token", "access"), [
    ("127.0.0.1", "", Access.OPEN),
    ("127.0.0.2", "", Access.OPEN),
    ("::1", "", Access.OPEN),
    ("localhost", "", Access.OPEN),
    ("0.0.0.0", "", Access.OFF),
    ("::", "", Access.OFF),
    ("192.168.1.10", "", Access.OFF),
    ("crawler.internal", "", Access.OFF),          # a name may resolve to anything
    ("0.0.0.0", TOKEN, Access.TOKEN),
    ("127.0.0.1", TOKEN, Access.TOKEN),            # a token is asked for wherever it is set
])
def test_where_pages_are_served(host: str, token: str, access: Access) -> None:
    assert access_for(host, token) is access


@pytest.mark.parametrize(("header", "token"), [
    (None, None),
    ("", None),
    (f"Bearer {TOKEN}", TOKEN),
    (f"bearer   {TOKEN} ", TOKEN),
    (basic("anyone", TOKEN), TOKEN),
    (basic("", TOKEN), TOKEN),
    (basic("user", "a:b"), "a:b"),                 # the password may contain ':'
    ("Basic !!notbase64", None),
    ("Basic " + base64.b64encode(b"no-colon").decode(), None),
    ("Digest abc", None),
    ("Bearer", None),
])
def test_the_token_a_request_presents(header: str | None, token: str | None) -> None:
    assert presented_token(header) == token


def test_a_token_matches_only_itself() -> None:
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert not token_matches(f"Bearer {TOKEN}x", TOKEN)
    assert not token_matches(f"Bearer {TOKEN[:-1]}", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches(basic(TOKEN, "wrong"), TOKEN)   # the user name is not the token


def test_reading_commands_do_without_an_unset_token(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss"],
                          extra='[http]\nlisten = "127.0.0.1:0"\ntoken = "${CRAWLER_HTTP_TOKEN}"')
    assert load_config(config, env={}, reading=True).http.token == ""
    assert load_config(config, env={"CRAWLER_HTTP_TOKEN": TOKEN}).http.token == TOKEN
    with pytest.raises(Exception, match="CRAWLER_HTTP_TOKEN"):
        load_config(config, env={})




async def test_with_a_token_every_page_asks_for_it(tracked: Tracked) -> None:
    async with serving(tracked.settings, token=TOKEN) as (api, _), \
            aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        for path in WEB_PATHS:
            async with session.get(base + path) as resp:
                assert resp.status == 401, path
                assert resp.headers["WWW-Authenticate"].startswith("Basic ")
                assert "Content-Security-Policy" in resp.headers
                assert "Storm" not in await resp.text()
            async with session.get(base + path, headers={"Authorization": "Bearer nope"}) as resp:
                assert resp.status == 401, path
            for auth in (f"Bearer {TOKEN}", basic("me", TOKEN)):
                async with session.get(base + path, headers={"Authorization": auth}) as resp:
                    assert resp.status == 200, (path, auth)
        for path in ("/healthz", "/metrics"):
            async with session.get(base + path) as resp:
                assert resp.status == 200, path


async def test_without_a_token_pages_are_off_on_a_reachable_address(tracked: Tracked) -> None:
    with capture_logs() as logs:
        async with serving(tracked.settings, host="0.0.0.0") as (api, _), \
                aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{api.port}"
            for path in WEB_PATHS:
                async with session.get(base + path) as resp:
                    assert resp.status == 404, path
                    assert "Storm" not in await resp.text()
            for path in ("/healthz", "/metrics"):
                async with session.get(base + path) as resp:
                    assert resp.status == 200, path
    warnings = [e for e in logs if e["event"] == "web_view_off"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
    assert "[http] token" in warnings[0]["reason"]


async def test_without_a_token_pages_are_open_on_loopback(tracked: Tracked) -> None:
    async with serving(tracked.settings) as (api, _), aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{api.port}"
        for path in WEB_PATHS:
            async with session.get(base + path) as resp:
                assert resp.status == 200, path
