"""Which URL names an article: its canonical URL when the page's claim is believable. Pure."""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.urls import is_fetchable, normalize_url


def _site(host: str) -> str:
    """The last two labels of a host name: enough to tell one publisher's hosts from another's."""
    labels = host.lower().rstrip(".").split(".")
    return ".".join(labels[-2:])


def article_identity(final_url: str, claimed_canonical: str | None) -> str:
    """The normalized canonical URL of an article fetched from `final_url`.

    The page's own claim (`<link rel=canonical>`, `og:url`) is used only when it is an http(s)
    URL on the same site and not the site's home page: a hostile or broken page must not be able
    to merge itself into another article (many CMSs wrongly point every page at "/").
    """
    final = normalize_url(final_url)
    if not claimed_canonical:
        return final
    try:
        claimed = normalize_url(claimed_canonical, base=final_url)
    except ValueError:
        return final
    if not is_fetchable(claimed):
        return final
    claimed_parts, final_parts = urlsplit(claimed), urlsplit(final)
    if _site(claimed_parts.hostname or "") != _site(final_parts.hostname or ""):
        return final
    if claimed_parts.path in ("", "/") and final_parts.path not in ("", "/"):
        return final
    return claimed
