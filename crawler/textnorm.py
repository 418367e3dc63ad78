"""Text normalization and the content hash: the single definition of "same content".

Pure functions. Both the daemon and `crawler extract` go through `make_content`, so the same page
gives the same hash everywhere.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from crawler.models import Content

# Characters that render as nothing but differ byte-wise between two fetches of the same page
# (CMS editors and CDNs insert them freely).
_INVISIBLE = (
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Control characters from the web are never stored: C0 but tab and newline, DEL and C1 (a
# title or text could otherwise carry terminal escapes to every receiver and reader). Those
# that `str.split` counts as white space (\x0b, \x0c, \x1c-\x1f, \x85) fold to a space with
# the rest of the white space; the others are dropped.
_CONTROL = "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
# Both are deleted in one pass: a regex deletes them ~15 times faster than `str.translate` on
# non-ASCII text, which is most news text, and one pass over a whole body costs half of two.
_DROPPED = re.compile(f"[{_INVISIBLE}{_CONTROL}]")
# The same set within ASCII, derived from it so the two cannot part: ASCII text, most text,
# is cleaned by `bytes.translate`, a quarter of the regex's cost.
_ASCII_DROPPED = bytes(code for code in range(128) if _DROPPED.match(chr(code)))
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n+")
# A headline longer than this is not one (no paper prints a thousand-character headline); it
# is cut, so that a hostile `<title>` cannot fill every event and listing.
MAX_TITLE_CHARS = 1000


def normalize_line(text: str) -> str:
    """One paragraph or headline: NFC, invisible and control characters dropped, runs of any
    Unicode white space (newlines included) folded to one space, trimmed."""
    return " ".join(_visible(unicodedata.normalize("NFC", text)).split())


def _visible(text: str) -> str:
    if text.isascii():
        raw = text.encode("ascii")
        kept = raw.translate(None, _ASCII_DROPPED)
        return text if len(kept) == len(raw) else kept.decode("ascii")
    return _DROPPED.sub("", text)


def normalize_text(text: str) -> str:
    """A body: paragraphs (separated by blank lines) each normalized with `normalize_line`,
    empty ones dropped, joined by exactly one blank line."""
    paragraphs = (normalize_line(p) for p in _PARAGRAPH_BREAK.split(text.replace("\r", "\n")))
    return "\n\n".join(p for p in paragraphs if p)


def content_hash(title: str, text: str) -> str:
    """`sha256:` + hex digest over the normalized headline line followed by the body."""
    digest = hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()
    return f"sha256:{digest}"


def make_content(title: str, text: str, *, normalized: bool = False) -> Content:
    """Normalize a headline (cut at `MAX_TITLE_CHARS`) and body and hash them together.

    `normalized`: `text` is `normalize_text`'s output already, as the extractor's is
    (`crawler.extract` folds its text the same way): normalizing it again would give it back
    unchanged, at some 20 µs a KB."""
    title = normalize_line(title)[:MAX_TITLE_CHARS].rstrip()
    if not normalized:
        text = normalize_text(text)
    return Content(title=title, text=text, content_hash=content_hash(title, text))


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a normalized body."""
    return [p for p in text.split("\n\n") if p]
