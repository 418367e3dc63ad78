"""URL identity: which URLs name the same article, and which may be fetched at all. Pure."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only track where a reader came from; they never select content.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "at_", "xtor", "ga_")
_TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
    "igshid", "twclid", "ttclid", "li_fat_id", "_hsenc", "_hsmi", "hsctatracking", "ref_src",
    "cmpid", "ocid", "ito", "spm", "sr_share", "s_cid", "ns_mchannel", "ns_source",
    "ns_campaign", "ns_linkname", "ns_fee", "rss", "feed", "__twitter_impression", "_ga",
})

HTTP_SCHEMES = frozenset({"http", "https"})


def is_http_url(url: str) -> bool:
    """True only for absolute http(s) URLs with a host and no backslash: the one check for
    "a web page's URL", for links to follow (feeds may carry file:, data:, javascript: and
    other links that must never be followed), configured URLs and links the web view shows.
    What may actually be requested is `crawler.fetch.urlcheck.vet_url`'s stricter call."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.hostname) and "\\" not in url


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def normalize_url(url: str, base: str | None = None) -> str:
    """The identity form of an article URL: resolved against `base`, scheme and host lower-cased,
    default port and fragment dropped, tracking parameters removed, remaining query kept in
    order. Raises ValueError for a URL that cannot be parsed."""
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if ":" not in host else f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    if port is not None and port != default_port:
        netloc = f"{netloc}:{port}"
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _is_tracking(k)]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query_pairs, doseq=True), ""))


def host_of(url: str) -> str:
    """Lower-cased host name of a URL ("" when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
