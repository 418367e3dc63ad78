"""Feed parsing: RSS/Atom forms, entry identity, links, and hostile XML."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from crawler.feeds import FeedParseError, parse_feed

FEED_URL = "https://news.example.org/feeds/world.xml"

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>World</title><ttl>30</ttl>
<item><title>One</title><link>/world/one.html?utm_source=rss</link><guid isPermaLink="false">id-1</guid>
<pubDate>Thu, 26 Nov 2026 10:00:00 GMT</pubDate>
<content:encoded><![CDATA[<p><strong>Lead.</strong></p><p>Body.</p>]]></content:encoded></item>
<item><title>Two</title><link>https://news.example.org/world/two.html</link></item>
<item><title>Local file</title><link>file:///etc/passwd</link></item>
<item><title>Script</title><link>javascript:alert(1)</link></item>
<item><title>Data</title><link>data:text/html;base64,PGI+eDwvYj4=</link></item>
<item><title>Gopher</title><link>gopher://news.example.org/1</link></item>
</channel></rss>"""

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://news.example.org/"><title>R1</title><link>https://news.example.org/</link></channel>
<item rdf:about="https://news.example.org/r1.html"><title>R1 item</title><link>https://news.example.org/r1.html</link></item>
</rdf:RDF>"""

RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
<item><title>Old item</title><link>https://news.example.org/old.html</link></item></channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example.org/atom/">
<title>Atom</title><id>urn:feed</id><updated>2026-11-26T10:00:00Z</updated>
<entry><id>urn:entry:1</id><title>A1</title><link rel="alternate" href="../a1.html"/>
<updated>2026-11-26T10:00:00Z</updated><content type="html">&lt;p&gt;Text&lt;/p&gt;</content></entry>
</feed>"""


def test_rss2_entries() -> None:
    feed = parse_feed(RSS2, FEED_URL)
    assert feed.ttl_seconds == 1800
    assert [e.link for e in feed.entries] == [
        "https://news.example.org/world/one.html", "https://news.example.org/world/two.html"]
    one, two = feed.entries
    assert one.entry_id == "id-1" and one.title == "One"
    assert one.content_html is not None and "<strong>Lead.</strong>" in one.content_html
    assert two.entry_id == two.link  # no guid: the link identifies the entry


@pytest.mark.parametrize("body", [RSS1, RSS091])
def test_older_rss_forms(body: bytes) -> None:
    feed = parse_feed(body, FEED_URL)
    assert len(feed.entries) == 1 and feed.entries[0].link.startswith("https://news.example.org/")


def test_atom_relative_links_resolve_against_xml_base() -> None:
    entry = parse_feed(ATOM, FEED_URL).entries[0]
    assert entry.entry_id == "urn:entry:1"
    assert entry.link == "https://news.example.org/a1.html"
    assert entry.content_html == "<p>Text</p>"


def test_full_content_entry_from_a_real_feed() -> None:
    example = Path(__file__).parent / "data" / "feedx-rfi-entry.txt"
    lines = example.read_text(encoding="utf-8").split("\n")
    title_line = lines[1]
    title = title_line[1:title_line.index("](")]
    link = title_line[title_line.index("](") + 2:-1]
    entry_html = "\n".join(lines[lines.index("------") + 1:])
    rss = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>RFI</title>'
           f"<item><title>{title}</title><link>{link}</link>"
           f"<description><![CDATA[{entry_html}]]></description></item></channel></rss>")
    entry = parse_feed(rss.encode(), "https://feedx.net/rss/rfi.xml").entries[0]
    assert entry.title == title
    assert entry.link.startswith("https://www.rfi.fr/cn/")
    assert entry.content_html is not None and "北约军事委员会" in entry.content_html


@pytest.mark.parametrize("body", [b"", b"<html><body>Not a feed</body></html>", b"\x00\xff\xfe"])
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(FeedParseError, match="not an RSS or Atom feed"):
        parse_feed(body, FEED_URL)


def test_body_naming_a_local_file_reads_no_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS2.replace(b"World", b"TOPSECRET"))
    with pytest.raises(FeedParseError):
        parse_feed(str(secret).encode(), FEED_URL)
    with pytest.raises(FeedParseError):
        parse_feed(secret.as_uri().encode(), FEED_URL)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://news.example.org/x.html</link></item></channel></rss>"""


def _quadratic_blowup() -> bytes:
    big = "A" * 100_000
    refs = "&a;" * 5_000
    return (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{big}">]>'
            f'<rss version="2.0"><channel><title>{refs}</title></channel></rss>').encode()


def _xxe(path: Path) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "{path.as_uri()}">]>'
            '<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>'
            '<link>https://news.example.org/x.html</link><description>&xxe;</description>'
            "</item></channel></rss>").encode()


@pytest.mark.parametrize("make", [lambda _: BILLION_LAUGHS, lambda _: _quadratic_blowup(), _xxe])
def test_entity_attacks_fail_fast_with_bounded_memory(make: object, tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:TOPSECRET")
    body = make(secret)  # type: ignore[operator]
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(FeedParseError, match="entities"):
        parse_feed(body, FEED_URL)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 * 1024 * 1024


def test_entry_html_with_scripts_becomes_text_without_them() -> None:
    """Entry HTML is never rendered, only extracted; the extractor, not a sanitizer, keeps
    scripts, styles and handlers out of the text."""
    from crawler.extract import extract_article

    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Storm</title><link>https://news.example.org/a.html</link><description><![CDATA[
<p>A storm hit the northern coast on Tuesday night, the authorities said today.</p>
<script>document.write("injected words")</script><style>p { color: red }</style>
<p onclick="steal()">Twelve homes were damaged in the village of Westport, they said.</p>
<img src="x" onerror="alert(1)"><iframe src="https://evil.example/"></iframe>
]]></description></item></channel></rss>"""
    entry = parse_feed(rss, FEED_URL).entries[0]
    assert entry.content_html is not None
    assert extract_article(entry.content_html, entry.link).text == ("A storm hit the northern coast on Tuesday night, the authorities "
                            "said today.\n\nTwelve homes were damaged in the village of "
                            "Westport, they said.")
