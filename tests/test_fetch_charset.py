"""decode_html: declared, misdeclared and undeclared charsets (RELIABILITY 31)."""

from __future__ import annotations

import codecs
import hashlib

import pytest
from aiohttp import web

from crawler.fetch import Fetcher, decode_html
from crawler.fetch.charset import decode_html_utf8
from tests.hostile_server import fetch_settings, recording_app, serve

FRENCH = (
    "Le café était très animé. À côté, une crème brûlée coûtait « cher » — dit-on. "
    "Élève, garçon, naïve : où est l’hôtel ? Ça coûte 5 €."
)
RUSSIAN = "Привет, мир. Это новость о погоде в Москве и Санкт-Петербурге; всё изменилось."
CHINESE = "法国国际广播电台：巴黎市中心今天举行了大规模的示威活动。"


def _page(text: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"


CASES = [
    # (name, bytes, content-type header, expected substring)
    ("plain utf-8 header", _page(FRENCH).encode(), "text/html; charset=utf-8", FRENCH),
    ("cp1252 labelled utf-8 by header",
     _page(FRENCH).encode("cp1252"), "text/html; charset=UTF-8", FRENCH),
    ("cp1252 labelled utf-8 by meta",
     _page(FRENCH, '<meta charset="utf-8">').encode("cp1252"), "text/html", FRENCH),
    ("cp1252 unlabelled", _page(FRENCH).encode("cp1252"), None, FRENCH),
    ("iso-8859-1 label means windows-1252",
     _page("“quotes” — and € " + FRENCH).encode("cp1252"), "text/html; charset=iso-8859-1",
     "“quotes” — and €"),
    ("koi8-r by meta http-equiv",
     _page(RUSSIAN, '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">')
     .encode("koi8_r"), "text/html", RUSSIAN),
    ("koi8-r by meta, header wrongly says utf-8",
     _page(RUSSIAN, "<meta charset=KOI8-R>").encode("koi8_r"),
     "text/html; charset=utf-8", RUSSIAN),
    ("meta charset after the first 1 KB",
     _page(RUSSIAN, "<script>/*" + "x" * 3000 + "*/</script><meta charset='windows-1251'>")
     .encode("cp1251"), "text/html", RUSSIAN),
    ("gb2312 label decoded as gb18030",
     _page(CHINESE, '<meta charset="gb2312">').encode("gb18030"), None, CHINESE),
    ("utf-8 bom beats a wrong header",
     codecs.BOM_UTF8 + _page(FRENCH).encode(), "text/html; charset=koi8-r", FRENCH),
    ("utf-16 bom", codecs.BOM_UTF16_LE + _page(RUSSIAN).encode("utf-16-le"), None, RUSSIAN),
    ("xml declaration",
     ('<?xml version="1.0" encoding="windows-1251"?>' + _page(RUSSIAN)).encode("cp1251"),
     "application/xhtml+xml", RUSSIAN),
    ("utf-16 in meta means utf-8",
     _page(CHINESE, '<meta charset="utf-16">').encode("utf-8"), None, CHINESE),
    ("unknown label falls through to detection",
     _page(CHINESE, '<meta charset="x-bogus">').encode("utf-8"), None, CHINESE),
    ("mostly utf-8 with stray cp1252 bytes",
     _page(FRENCH).encode() + "déjà vu".encode("cp1252"), "text/html; charset=utf-8",
     "déjà vu"),
]


@pytest.mark.parametrize(("name", "body", "content_type", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_decode_html(name: str, body: bytes, content_type: str | None, expected: str) -> None:
    decoded = decode_html(body, content_type)
    assert expected in decoded
    assert "\ufeff" not in decoded
    # Deterministic: the same bytes always give the same text.
    assert all(decode_html(body, content_type) == decoded for _ in range(3))


@pytest.mark.parametrize(("name", "body", "content_type", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_a_page_s_own_bytes_are_handed_on_only_when_they_are_its_text_in_utf8(
        name: str, body: bytes, content_type: str | None, expected: str) -> None:
    text, utf8 = decode_html_utf8(body, content_type)
    assert text == decode_html(body, content_type)
    if utf8 is not None:
        assert utf8 is body and utf8 == text.encode("utf-8")
    # Declared and exactly UTF-8: the bytes as they came, not encoded again.
    assert (utf8 is not None) == (name in ("plain utf-8 header", "utf-16 in meta means utf-8"))


def test_undeclared_cyrillic_is_detected() -> None:
    body = _page(RUSSIAN * 3).encode("koi8_r")
    assert RUSSIAN in decode_html(body, None)


def test_garbage_never_raises() -> None:
    for body in (b"", b"\xff\xfe\xfd" * 100, bytes(range(256)) * 10, b"<meta charset=>"):
        assert isinstance(decode_html(body, "text/html; charset=nonsense"), str)


async def test_same_misdeclared_page_fetched_twice_gives_the_same_hash() -> None:
    body = _page(FRENCH).encode("cp1252")

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    app, _ = recording_app({"/a": page})
    async with serve(app) as server, Fetcher(fetch_settings()) as f:
        url = server.make_url("/a").human_repr()
        first, second = await f.fetch(url), await f.fetch(url)
    texts = [decode_html(r.body, r.content_type) for r in (first, second)]
    assert FRENCH in texts[0]
    hashes = {hashlib.sha256(t.encode()).hexdigest() for t in texts}
    assert len(hashes) == 1
