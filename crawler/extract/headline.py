"""The headline: what the page itself calls the article, without the site's name."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from crawler.textnorm import normalize_line

# Separators sites put between a headline and their own name in <title> and og:title.
_SEPARATOR = re.compile(r"\s+[-|–—:·•»/]\s+|\s*[|｜]\s*|\s+::\s+")
# A site name is short; a longer tail is part of the headline ("Paris: the day after").
_MAX_SITE_WORDS = 4


def meta_values(metas: list[dict[str, str | None]]) -> dict[str, str]:
    """`<meta property|name=... content=...>` (given as their attributes) by lower-cased key,
    raw; the first non-empty wins."""
    values: dict[str, str] = {}
    for attrs in metas:
        key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        content = attrs.get("content")
        if key and key not in values and content and not content.isspace():
            values[key] = content
    return values


def _first(values: dict[str, str], *keys: str) -> str:
    for key in keys:
        if key in values:
            return normalize_line(values[key])
    return ""


def _strip_site(title: str, site: str) -> str:
    """Remove a " - Site" suffix (or "Site | " prefix) when it names the site."""
    parts = _SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    seps = _SEPARATOR.findall(title)
    head, tail = parts[0], parts[-1]
    site_key = site.casefold()
    if site_key:
        if tail.casefold() == site_key or (len(site_key) > 3 and site_key in tail.casefold()):
            return title[: len(title) - len(tail) - len(seps[-1])].strip()
        if head.casefold() == site_key:
            return title[len(head) + len(seps[0]) :].strip()
    if len(tail.split()) <= _MAX_SITE_WORDS and len(tail) < len(title) / 2:
        return title[: len(title) - len(tail) - len(seps[-1])].strip()
    return title


def _first_text(nodes: list[LexborNode]) -> str:
    for node in nodes:
        line = normalize_line(node.text(deep=True, separator=" "))
        if line:
            return line
    return ""


def headline(
    metas: list[dict[str, str | None]], h1s: list[LexborNode], titles: list[LexborNode]
) -> str:
    """og:title (or twitter:title), else the first non-empty <h1>, else <title>; the site
    name suffix or prefix removed. `metas` are the attributes of the `<meta>` elements.
    Empty string when the page names nothing."""
    values = meta_values(metas)
    site = _first(values, "og:site_name", "application-name")
    og = _first(values, "og:title", "twitter:title")
    h1_text = _first_text(h1s)
    if og:
        stripped = _strip_site(og, site)
        # When the page's own <h1> is the og:title minus a suffix, the <h1> is the headline.
        if h1_text and h1_text != stripped and og.startswith(h1_text):
            return h1_text
        return stripped
    if h1_text:
        return h1_text
    title = _first_text(titles)
    return _strip_site(title, site) if title else ""
