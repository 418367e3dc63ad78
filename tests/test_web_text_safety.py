"""What a page can put in an event or a listing: no control characters (terminal escapes,
bells, NULs) in anything stored, a headline of bounded length, and payloads that fit
`delivery.max_payload_bytes` however long a page's fields are. Table tests of the pure parts,
then a hostile page through the daemon's whole path to a verifying receiver."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from crawler import events
from crawler.config import ConfigError, load_config
from crawler.models import Content
from crawler.store.records import decode_text
from crawler.testing.crawler_process import write_config
from crawler.testing.webhook_receiver import Receiver, webhook_table
from crawler.textnorm import MAX_TITLE_CHARS, make_content, normalize_line, normalize_text
from tests.hostile_server import serve
from tests.test_e2e_daemon import crawler

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REF = events.ArticleRef("https://n.example/a", "https://n.example/a", "https://n.example/rss",
                        "Title")
HOOKS = events.Routes()

CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), *range(0x0e, 0x1c), 0x7f,
                                    *range(0x80, 0x85), *range(0x86, 0xa0)])


@pytest.mark.parametrize(("raw", "clean"), [
    ("Storm \x1b]0;pwned\x07hits", "Storm ]0;pwnedhits"),   # OSC window title
    ("Calm \x1b[2Jtext", "Calm [2Jtext"),                     # clear screen
    ("a\x9b31mb", "a31mb"),                                   # one-character C1 CSI
    ("nul\x00here\x7fdel", "nulheredel"),
    ("unit\x1fsep\x1cfile\x85next", "unit sep file next"),   # separators are white space
    ("tab\tand\nnewline", "tab and newline"),                # folded in a line, as before
    ("Ünïcödé « guillemets » 新闻", "Ünïcödé « guillemets » 新闻"),   # printable kept
])
def test_no_control_character_survives_a_line(raw: str, clean: str) -> None:
    assert normalize_line(raw) == clean


def test_an_ascii_line_loses_exactly_the_control_characters() -> None:
    # ASCII lines take a faster path than the others: the same characters go on both.
    every = "".join(chr(c) for c in range(128))
    kept = "".join(ch for ch in every if ch not in CONTROLS)
    assert normalize_line(f"a{every}b") == " ".join(f"a{kept}b".split())
    assert normalize_line(f"a{every}bé") == " ".join(f"a{kept}bé".split())


def test_every_control_character_goes_and_paragraphs_stay() -> None:
    text = normalize_text(f"First{CONTROLS} paragraph.\n\nSecond\x1b[0m one.")
    assert text == "First paragraph.\n\nSecond[0m one."
    assert not any(ch in text for ch in CONTROLS)


def test_a_headline_is_cut_at_its_limit() -> None:
    content = make_content("word " * 1000, "Body.")
    assert len(content.title) <= MAX_TITLE_CHARS and content.title.startswith("word word")
    assert make_content("Short headline", "Body.").title == "Short headline"


@pytest.mark.parametrize("field", ["title", "url"])
def test_a_payload_fits_its_cap_whatever_field_is_huge(field: str) -> None:
    cap = 64 * 1024
    huge = "Ж" * 1_500_000  # two bytes each in UTF-8
    ref = events.ArticleRef(
        url=huge if field == "url" else REF.url, canonical_url=REF.canonical_url,
        feed_url=REF.feed_url, title=huge if field == "title" else REF.title)
    content = Content(title=ref.title, text="Body text. " * 20000, content_hash="sha256:x")
    event = events.article_new(ref, content, created_at=NOW, routes=HOOKS, max_bytes=cap)
    assert len(event.payload.encode()) <= cap
    data = json.loads(event.payload)["data"]
    assert data["truncated"] is True and data["content_hash"] == "sha256:x"
    assert data["article"][field].endswith("…")


def test_payloads_with_characters_json_escapes_still_fit() -> None:
    cap = 32 * 1024
    content = Content(title='"' * 30000, text='\\"' * 40000, content_hash="sha256:y")
    ref = events.ArticleRef(REF.url, REF.canonical_url, REF.feed_url, content.title)
    event = events.article_new(ref, content, created_at=NOW, routes=HOOKS, max_bytes=cap)
    assert len(event.payload.encode()) <= cap


def test_a_payload_cap_without_room_for_an_event_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"],
                          extra='[delivery]\nmax_payload_bytes = "2KB"\n')
    with pytest.raises(ConfigError, match=r"max_payload_bytes.*at least 16KB"):
        load_config(config)


async def test_a_hostile_page_stores_and_sends_no_control_character(
        tmp_path: Path, receiver: Receiver, unused_tcp_port: int) -> None:
    title = "Storm \x1b]0;pwned\x07 hits \x1b]52;c;ZWNobyBoaQ==\x07coast " + "x" * 1_500_000
    body = ("<p>The storm \x1b[2J\x1b[H hit the coast on Tuesday night, the authorities "
            "said, and\x00 twelve homes were damaged in the village.</p>" * 6)

    async def page(request: web.Request) -> web.Response:
        html = (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                f"{body}</article></body></html>")
        return web.Response(text=html, content_type="text/html")

    async def rss(request: web.Request) -> web.Response:
        link = f"http://127.0.0.1:{unused_tcp_port}/a.html"
        return web.Response(
            text=f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
                 f"<item><title>Storm</title><link>{link}</link><guid>a</guid></item>"
                 f"</channel></rss>", content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/a.html", page)
    app.router.add_get("/rss.xml", rss)
    async with serve(app, port=unused_tcp_port):
        config = write_config(tmp_path, [f"http://127.0.0.1:{unused_tcp_port}/rss.xml"],
                              webhooks=webhook_table(receiver),
                              extra='[delivery]\nmax_payload_bytes = "64KB"\n')
        code, _, err = await crawler("once", "--config", str(config), cwd=tmp_path)
        assert code == 0, err
    [request] = receiver.accepted()
    assert request.verified and len(request.body) <= 64 * 1024
    sent = request.json["data"]
    assert sent["article"]["title"].startswith("Storm ]0;pwned hits ]52;c;")
    assert not any(ch in request.body.decode() for ch in CONTROLS)
    with sqlite3.connect(tmp_path / "crawler.db") as db:
        stored_title, stored_text = db.execute("SELECT title, text FROM versions").fetchone()
    stored = stored_title + decode_text(stored_text)
    assert len(stored_title) <= MAX_TITLE_CHARS
    assert "twelve homes" in stored and not any(ch in stored for ch in CONTROLS)
