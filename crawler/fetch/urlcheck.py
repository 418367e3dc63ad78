"""URL vetting before any connection: scheme, authority tricks, and numeric hosts.

Different URL parsers disagree on odd input (`http://a:1\\@b/` is host `a` to a browser and host
`b` to urllib), and the disagreement is a classic way around address checks. Rather than pick a
side, anything ambiguous is refused; numeric hosts in legacy forms (`127.1`, `2130706433`,
`0x7f.1`) are parsed the way browsers do (WHATWG IPv4 parser) so the policy sees the real address.
"""

from __future__ import annotations

import ipaddress
import re

from yarl import URL

from crawler.fetch.errors import FetchError
from crawler.fetch.netguard import AddressPolicy
from crawler.urls import HTTP_SCHEMES

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_LABEL = r"[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")


def vet_url(raw: str, policy: AddressPolicy) -> URL:
    """The URL to request, after refusing what must never be fetched.

    Raises FetchError with kind "unsupported_scheme" (anything but http/https), "invalid_url"
    (unparseable, no host, credentials, backslashes or control characters in it) or
    "blocked_address" (an IP literal, in any spelling, that the policy forbids).
    Hostnames are not resolved here: their addresses are checked at connect time.
    """
    text = raw.strip()
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        raise FetchError("invalid_url", raw, "not an absolute URL")
    scheme = scheme_match.group(1).lower()
    if scheme not in HTTP_SCHEMES:
        raise FetchError("unsupported_scheme", raw, f"scheme {scheme!r} is never fetched")
    if _CONTROL.search(text):
        raise FetchError("invalid_url", raw, "control characters or spaces in the URL")
    rest = text[scheme_match.end():]
    authority = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if not rest.startswith("//") or "\\" in rest.split("?", 1)[0].split("#", 1)[0]:
        # A backslash is a path separator to browsers but not to RFC 3986 parsers; whichever
        # reading a server or proxy uses, the two disagree about the host.
        raise FetchError("invalid_url", raw, "malformed authority (backslash or missing //)")
    if "@" in authority:
        raise FetchError("invalid_url", raw, "credentials in the URL are not accepted")
    try:
        url = URL(text)
    except ValueError as exc:
        raise FetchError("invalid_url", raw, f"unparseable URL ({exc})") from None
    host = url.raw_host
    if not host:
        raise FetchError("invalid_url", raw, "no host")
    ip = _literal_ip(host, raw)
    if ip is None:
        if not _HOSTNAME.match(host.lower()):
            raise FetchError("invalid_url", raw, f"invalid host name {host!r}")
        return url
    if not policy.allows(ip):
        raise FetchError("blocked_address", raw, f"address {ip} is private or reserved")
    # Connect to the canonical spelling, so nothing downstream re-parses a legacy form.
    return url.with_host(str(ip)) if str(ip) != host else url


def _literal_ip(host: str, raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise FetchError("invalid_url", raw, f"invalid IPv6 address {host!r}") from None
    return whatwg_ipv4(host, raw)


def whatwg_ipv4(host: str, raw: str = "") -> ipaddress.IPv4Address | None:
    """The IPv4 address a host names in any legacy numeric form, None for a domain name.

    Follows the WHATWG URL standard: a host whose last label is a number is an IPv4 address;
    labels may be decimal, octal (leading 0) or hex (0x); fewer than four labels fill the
    remaining bytes from the last one. A malformed numeric host raises FetchError("invalid_url").
    """
    labels = host.split(".")
    if labels and labels[-1] == "" and len(labels) > 1:
        labels = labels[:-1]
    if not labels or not _NUMBER.match(labels[-1]):
        return None
    if len(labels) > 4:
        raise FetchError("invalid_url", raw or host, f"invalid IPv4 host {host!r}")
    numbers: list[int] = []
    for label in labels:
        value = _ipv4_number(label)
        if value is None:
            raise FetchError("invalid_url", raw or host, f"invalid IPv4 host {host!r}")
        numbers.append(value)
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise FetchError("invalid_url", raw or host, f"IPv4 host {host!r} out of range")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _ipv4_number(label: str) -> int | None:
    if not label:
        return None
    try:
        if label[:2].lower() == "0x":
            return int(label[2:], 16) if len(label) > 2 else 0
        if len(label) > 1 and label[0] == "0":
            return int(label[1:], 8)
        return int(label, 10) if label.isascii() and label.isdigit() else None
    except ValueError:
        return None


def origin_of(url: URL) -> str:
    """scheme://host:port, the unit robots.txt and politeness apply to (RFC 9309 section 2.3)."""
    return f"{url.scheme}://{url.raw_host}:{url.port}"
