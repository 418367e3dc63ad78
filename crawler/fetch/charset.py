"""Bytes of an HTML page to text, deterministically, whatever its charset claims.

`decode_html` tries, in order, and takes the first declared encoding the bytes are valid in:
1. a byte order mark (UTF-8, UTF-16 LE/BE): authoritative, as in browsers;
2. the `charset` parameter of the HTTP Content-Type header;
3. `<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">` anywhere
   in the head (up to `</head>` or `<body>`, not only the first 1 KB the spec looks at);
4. the XML declaration's `encoding` (XHTML served as XML);
5. detection, when nothing was declared or every declaration is contradicted by the bytes.
Labels are mapped the way browsers map them (WHATWG): "iso-8859-1" and "ascii" mean
windows-1252, "gb2312" means GB18030, "shift_jis" means cp932.

Detection, the usual case being a windows-1252 page labelled UTF-8: bytes that are mostly UTF-8
with a few stray legacy bytes are decoded as UTF-8 with those bytes read as windows-1252; bytes
with no UTF-8 at all go to charset-normalizer, except that when it proposes one of the Latin
single-byte code pages (which it cannot tell apart on short texts: French comes out as cp1250)
and the text reads as plausible windows-1252, windows-1252 wins. Nothing depends on anything but
the bytes and the header, so the same input always gives the same str.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\b|<body\b", re.IGNORECASE)
_META = re.compile(rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([A-Za-z0-9_:.+\-]+)", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_.:+\-]+)["']""")
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_ASCII = bytes(range(128))
_NO_HEAD_SCAN = 64 * 1024  # how far to look for a <meta> when the page has no </head>
_MARKUP = re.compile(rb"<script\b.*?</script\s*>|<style\b.*?</style\s*>|<[^>]*>", re.I | re.S)

# WHATWG Encoding Standard label -> the Python codec that decodes like a browser does.
_WHATWG_ALIASES = {
    "ascii": "cp1252", "us-ascii": "cp1252", "iso-8859-1": "cp1252", "iso8859-1": "cp1252",
    "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252", "iso_8859-1": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "chinese": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "big5": "big5hkscs",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}
# Single-byte Latin-script code pages charset-normalizer confuses with each other.
_LATIN_SINGLE_BYTE = frozenset({
    "ascii", "latin_1", "cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "iso8859_2",
    "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14",
    "iso8859_15", "iso8859_16", "mac_latin2", "mac_roman", "mac_iceland", "mac_turkish",
    "cp437", "cp775", "cp850", "cp852", "cp858", "cp860", "cp861", "cp863", "cp865",
})
# Non-letters that real windows-1252 text is made of (typography, currency, units).
_CP1252_PUNCTUATION = frozenset("\u00a0«»“”‘’‚„–—…•€°·×÷§©®™¢£¥¿¡´¨¯¸ªº±µ¶†‡‰‹›\u00ad²")


def decode_html(body: bytes, content_type: str | None) -> str:
    """The text of an HTML (or XML) document; never raises, same input -> same output."""
    return decode_html_utf8(body, content_type)[0]


def decode_html_utf8(body: bytes, content_type: str | None) -> tuple[str, bytes | None]:
    """`decode_html`'s text, and `body` itself when it is that text's exact UTF-8 encoding
    (declared UTF-8, decoded without an error): the extractor parses UTF-8, and encoding a
    170 KB text again costs about a tenth of an extraction. None otherwise."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(bom_codec, errors="replace"), None
    for label in _declared_labels(body, content_type):
        codec = _codec_for(label)
        if codec is None:
            continue
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue  # the declaration is contradicted by the bytes: try the next one
        # A strict UTF-8 decode round-trips byte for byte.
        return text, body if codec == "utf-8" else None
    return _detect(body), None


def _declared_labels(body: bytes, content_type: str | None) -> list[str]:
    labels: list[str] = []
    if content_type:
        header = _HEADER_CHARSET.search(content_type)
        if header:
            labels.append(header.group(1))
    end = _HEAD_END.search(body)
    head = body[: end.start()] if end else body[:_NO_HEAD_SCAN]
    meta = _META.search(head)  # the first <meta> declaration is the one that counts
    if meta:
        label = meta.group(1).decode("ascii", errors="ignore")
        # A <meta> readable as ASCII cannot truthfully announce UTF-16 (HTML spec: use UTF-8).
        labels.append("utf-8" if label.lower().startswith("utf-16") else label)
    xml = _XML_DECL.match(body)
    if xml:
        labels.append(xml.group(1).decode("ascii", errors="ignore"))
    return labels


def _codec_for(label: str) -> str | None:
    label = label.strip().lower()
    label = _WHATWG_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # Only text encodings that keep ASCII as ASCII make sense for a label found in ASCII text.
    if name.startswith(("utf-16", "utf-32")) or name in ("rot-13", "uu", "base64", "hex"):
        return None
    return _WHATWG_ALIASES.get(name, name)


def _detect(body: bytes) -> str:
    if _mostly_utf8(body):
        return body.decode("utf-8", errors="crawler_cp1252_fallback")
    best = from_bytes(body).best()
    if best is None:
        return body.decode("utf-8", errors="crawler_cp1252_fallback")
    encoding = codecs.lookup(best.encoding).name.replace("-", "_")
    if encoding in _LATIN_SINGLE_BYTE:
        western = _plausible_cp1252(body)
        if western is not None:
            return western
    return str(best)


def _mostly_utf8(body: bytes) -> bool:
    """True when most non-ASCII bytes form well-formed UTF-8 characters.

    Legacy encodings produce a few valid-looking pairs by accident (KOI8-R "\xd3\xa3"), so one
    valid sequence proves nothing; a page that is UTF-8 with a few stray bytes has many.
    """
    non_ascii = len(body.translate(None, _ASCII))
    if not non_ascii:
        return False
    covered = sum(len(seq) for seq in _UTF8_SEQUENCE.findall(body))
    return covered >= 0.8 * non_ascii


def _plausible_cp1252(body: bytes) -> str | None:
    """The windows-1252 reading of `body` if its non-ASCII text looks like a Latin language."""
    try:
        text = body.decode("cp1252")
        prose = _MARKUP.sub(b" ", body).decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = [c for c in prose if c.isalpha()]
    accented = [c for c in letters if not c.isascii()]
    # Mis-decoded Cyrillic/Greek in cp1252 is all accented letters; real Western text is mostly
    # plain ASCII letters with a few accents.
    if letters and len(accented) > 0.3 * len(letters):
        return None
    for char in prose:
        if char.isascii():
            continue
        if char in _CP1252_PUNCTUATION:
            continue
        if char.isalpha() and unicodedata.name(char, "").startswith("LATIN"):
            continue
        return None
    return text


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read each undecodable byte as windows-1252 (latin-1 if undefined)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start:error.end]
    return "".join(_CP1252_BYTES[byte] for byte in bad), error.end


def _byte_as_cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return bytes([byte]).decode("latin-1")  # the 5 bytes cp1252 leaves undefined


_CP1252_BYTES = tuple(_byte_as_cp1252(b) for b in range(256))
# A codec error handler is process-wide by name; registering it again is harmless.
codecs.register_error("crawler_cp1252_fallback", _cp1252_fallback)
