"""What an operator may type to name an article (CONTRACT.md, `ARTICLE`): its id, or any URL
that leads to it, as a browser shows it (IRI: `https://www.rfi.fr/cn/国际/...`) or as a feed
carries it (percent-encoded), with or without tracking parameters. Pure.

Stored URLs are `crawler.urls.normalize_url` forms of whatever a feed or a page said, so one
typed URL becomes a few candidate keys: its percent-encoded form, its IRI form, and itself,
each normalized. The store answers with the first one it knows.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from crawler.urls import is_http_url, normalize_url

# Characters a path keeps as they are when it is percent-encoded: RFC 3986's unreserved and
# sub-delimiters, ":", "@", "/", and "%" so that escapes already there are not escaped again.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def article_id(ref: str) -> int | None:
    """The id `ref` names when it is a whole number ("42"); None for anything else."""
    text = ref.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _upper_escapes(text: str) -> str:
    return _ESCAPES.sub(lambda m: m.group().upper(), text)


def _decode_escapes(run: str) -> str:
    """A run of %XX escapes with those that spell non-ASCII UTF-8 characters decoded; ASCII
    escapes (`%2F`, `%20`) stay escaped: decoding them could change what the URL means."""
    raw = bytes.fromhex(run.replace("%", ""))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return run.upper()
    return "".join(ch if ord(ch) > 0x7F else f"%{ord(ch):02X}" for ch in text)


def _host_ascii(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def _host_unicode(host: str) -> str:
    try:
        return host.encode("ascii").decode("idna") if "xn--" in host else host
    except UnicodeError:
        return host


def _with(url: str, host: str, path: str) -> str:
    """`url` with another host and path; userinfo and port stay as they were. Raises
    ValueError for a port that is not a number."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0] + "@" if "@" in parts.netloc else ""
    bracketed = f"[{host}]" if ":" in host else host
    port = "" if parts.port is None else f":{parts.port}"
    return urlunsplit((parts.scheme, userinfo + bracketed + port, path, parts.query,
                       parts.fragment))


def uri_form(url: str) -> str:
    """`url` percent-encoded: non-ASCII path characters escaped (UTF-8), the host in IDNA
    ASCII, escapes in upper case."""
    parts = urlsplit(url)
    host = _host_ascii((parts.hostname or "").lower())
    return _with(url, host, _upper_escapes(quote(parts.path, safe=_PATH_SAFE)))


def iri_form(url: str) -> str:
    """`url` as a browser shows it: escapes of non-ASCII characters decoded, the host in
    Unicode."""
    parts = urlsplit(url)
    host = _host_unicode((parts.hostname or "").lower())
    return _with(url, host, _ESCAPES.sub(lambda m: _decode_escapes(m.group()), parts.path))


def lookup_urls(ref: str) -> list[str]:
    """The normalized URLs an article named by `ref` may be stored under, most likely
    first, without repeats; empty when `ref` is not an http(s) URL."""
    text = ref.strip()
    if not is_http_url(text):
        return []
    keys: list[str] = []
    for form in (uri_form, iri_form, lambda u: u):
        try:
            key = normalize_url(form(text))
        except ValueError:
            continue
        if key not in keys:
            keys.append(key)
    return keys
