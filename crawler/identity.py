"""Which URL names an article: its canonical URL when the page's claim is believable and, for
a claim naming another URL, verified. Pure.

A page's `<link rel=canonical>` (or `og:url`) is a claim made by whoever wrote the page. Taken
on trust, a page B that names article A's URL would be stored as A's next version (and an
`article.edited` for A sent), and a page naming a URL not published yet would take that URL
before the real page is ever fetched. So a claim naming another URL joins that identity only
when fetching the claimed URL shows the same article: the page there names itself (or has no
claim) and its text is this page's, or it redirects to this very page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.sites import same_site
from crawler.urls import is_http_url, normalize_url


def article_identity(final_url: str, claimed_canonical: str | None) -> str:
    """The normalized URL a page fetched from `final_url` says it is (before verification).

    The page's own claim is used only when it is an http(s) URL on the same site (registrable
    domain and port, `crawler.sites`) and not the site's home page: a hostile or broken page
    must not be able to merge itself into another site's article (many CMSs wrongly point
    every page at "/"). A claim naming a URL other than the page's own must still be verified
    (`needs_verification`, `judge_claim`) before it names the article.
    """
    final = normalize_url(final_url)
    if not claimed_canonical:
        return final
    try:
        claimed = normalize_url(claimed_canonical, base=final_url)
    except ValueError:
        return final
    if not is_http_url(claimed) or not same_site(claimed, final):
        return final
    if urlsplit(claimed).path in ("", "/") and urlsplit(final).path not in ("", "/"):
        return final
    return claimed


@dataclass(frozen=True, slots=True)
class Probe:
    """What fetching a claimed URL found."""

    status: int | None
    """The HTTP status; None when the fetch failed (network, robots.txt, refused address)."""
    final_url: str = ""
    """Where its redirects ended, normalized."""
    identity: str = ""
    """What that page says it is (`article_identity`); "" when it was not read."""
    content_hash: str = ""
    """The hash of its extracted content; "" when it was not read."""


@dataclass(frozen=True, slots=True)
class ClaimVerdict:
    identity: str
    """The URL that names the article: the claim when verified, else the page's own URL."""
    verified: bool
    """False only when the page claimed another URL and the claim was refused."""
    reason: str
    """For logs: "own_url" (no usable claim), "self" (the claim names the page or the URL
    that led to it), "redirects_here", "same_page", or why a claim was refused:
    "unreachable", "other_identity", "other_content"."""


def _own_urls(requested: str, final_url: str) -> tuple[str, str]:
    final = normalize_url(final_url)
    try:
        return normalize_url(requested), final
    except ValueError:
        return final, final


def needs_verification(requested: str, final_url: str, claimed: str) -> bool:
    """True when `claimed` (from `article_identity`) names a URL other than the page's own
    (`final_url`, where the redirects from `requested` ended, or `requested` itself): only a
    fetch of `claimed` can then tell whether it is the same article."""
    return claimed not in _own_urls(requested, final_url)


def judge_claim(requested: str, final_url: str, claimed: str, content_hash: str,
                probe: Probe | None) -> ClaimVerdict:
    """Whether the page fetched from `requested` (redirected to `final_url`, its content
    hashing to `content_hash`) is the article at `claimed`, given what fetching `claimed`
    found (`probe`; None when it was not fetched). A refused claim leaves the page its own
    URL, so it can never take a URL the crawler has not fetched nor join another article."""
    own = normalize_url(final_url)
    if claimed == own:
        return ClaimVerdict(own, verified=True, reason="own_url")
    if not needs_verification(requested, final_url, claimed):
        return ClaimVerdict(claimed, verified=True, reason="self")
    if probe is None or probe.status != 200:
        return ClaimVerdict(own, verified=False, reason="unreachable")
    if probe.final_url == own:
        return ClaimVerdict(claimed, verified=True, reason="redirects_here")
    if probe.identity != claimed:
        return ClaimVerdict(own, verified=False, reason="other_identity")
    if probe.content_hash != content_hash:
        return ClaimVerdict(own, verified=False, reason="other_content")
    return ClaimVerdict(claimed, verified=True, reason="same_page")
