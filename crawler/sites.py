"""Which hosts are one site: registrable domains from the Public Suffix List. Pure.

"The last two labels" would make every `*.co.uk`, `*.com.au`, `*.github.io` and
`*.blogspot.com` host one site, so a page on `evil.co.uk` could speak for `www.bbc.co.uk`.
The list ships inside the `publicsuffixlist` package: nothing is downloaded at run time, and
its private section (github.io, blogspot.com, ...) counts, because each name under those
suffixes belongs to someone else.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

_DEFAULT_PORTS = {"http": 80, "https": 443}


@cache
def _suffix_list() -> PublicSuffixList:
    # Parsing the list takes tens of milliseconds: once per process, on first use.
    return PublicSuffixList()


def registrable_domain(host: str) -> str:
    """The part of `host` that one owner registered (`www.bbc.co.uk` -> `bbc.co.uk`,
    `alice.github.io` -> itself). An IP address, a public suffix itself or a single label is
    its own site. "" for an empty host."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if not host:
        return ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    return _suffix_list().privatesuffix(host) or host


def site_of(url: str) -> str:
    """The site a URL belongs to: its registrable domain, with the port when it is not the
    scheme's default (two services on one machine are two sites). "" when the URL has no
    host or cannot be parsed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    domain = registrable_domain(parts.hostname or "")
    if not domain:
        return ""
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return domain
    return f"{domain}:{port}"


def same_site(a: str, b: str) -> bool:
    """True when both URLs have a host and belong to one site (see `site_of`)."""
    site = site_of(a)
    return bool(site) and site == site_of(b)
