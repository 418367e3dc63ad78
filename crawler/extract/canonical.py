"""The article's canonical URL, as the page declares it."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborNode


def canonical_url(
    links: list[LexborNode], metas: list[dict[str, str | None]], url: str
) -> str | None:
    """Absolute URL from `<link rel=canonical>`, else `og:url`, resolved against `url`.

    `metas` are the attributes of the page's `<meta>` elements. None when the page declares
    neither, or only something that is not an http(s) URL.
    """
    candidates: list[str] = []
    for link in links:
        attrs = link.attributes
        href = attrs.get("href")
        if href and "canonical" in (attrs.get("rel") or "").lower().split():
            candidates.append(href)
    for attrs in metas:
        key = (attrs.get("property") or attrs.get("name") or "").lower()
        content = attrs.get("content")
        if key == "og:url" and content:
            candidates.append(content)
    for raw in candidates:
        resolved = _resolve(raw.strip(), url)
        if resolved is not None:
            return resolved
    return None


def _resolve(href: str, base: str) -> str | None:
    if not href:
        return None
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:  # malformed IPv6 hosts and the like
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return absolute
