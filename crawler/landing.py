"""Where a re-check of an article landed: on the article, on the site's home page or a section
index (the article is gone), or on a page that names another URL as itself. Pure.

Sites often answer a removed article with a redirect to their home page or to the section the
article was in, and a merged story with a redirect to the story that absorbed it. Diffing those
pages against the article would announce the home page's teasers, or another story, as edits of
the article: the re-check must know where it landed before anything is compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from crawler.urls import normalize_url

LandingKind = Literal["article", "home", "section", "claims"]


@dataclass(frozen=True, slots=True)
class Landing:
    kind: LandingKind
    """"article": the page may be the article; "home": redirected to the site's root;
    "section": redirected to an index above the article's path (`/news/` for
    `/news/storm.html`); "claims": the page is another URL's (`url`: the canonical it
    declares, else where the redirects ended): another article, or this one renamed or moved
    to https — only the store can tell which."""
    url: str = ""
    """The final URL ("home", "section") or the declared canonical ("claims")."""


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _same_host(a: str, b: str) -> bool:
    """One host, whatever the scheme (sites redirect http to https on the way)."""
    return urlsplit(a).netloc == urlsplit(b).netloc


def landing(requested: str, final: str, declared: str | None) -> Landing:
    """Where a check of `requested` landed, given the URL the answer came from after redirects
    (`final`) and the canonical URL the page declares (`declared`, None when it declares none).
    Unparseable URLs count as the article's own: this rule only refuses what it recognises."""
    try:
        asked, landed = normalize_url(requested), normalize_url(final)
        claimed = normalize_url(declared, base=final) if declared else ""
    except ValueError:
        return Landing("article")
    asked_path = urlsplit(asked).path
    if landed != asked and _segments(asked_path):
        path = _segments(urlsplit(landed).path)
        if not path:
            return Landing("home", landed)
        # An index the article sat in: its path is a proper prefix of the article's.
        above = _segments(asked_path)
        if _same_host(asked, landed) and len(path) < len(above) and path == above[:len(path)]:
            return Landing("section", landed)
    if claimed and claimed not in (asked, landed) and not _segments(urlsplit(claimed).path) \
            and _segments(asked_path) and _same_host(claimed, landed):
        # The article's URL now serves a page calling itself the home page.
        return Landing("home", claimed)
    named = claimed or landed
    return Landing("claims", named) if named != asked else Landing("article")
