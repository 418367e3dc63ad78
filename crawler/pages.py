"""From a page's bytes to what is versioned: one path for the daemon and `crawler extract`.

The hash `crawler extract` prints must be the one the daemon stores for the same bytes and URL
(operators compare them when tuning `[sites."host"]` rules), so both decode, pick site rules,
extract and normalize through these two functions and nothing else.
"""

from __future__ import annotations

from crawler.config import Settings
from crawler.extract import ExtractedArticle, extract_article
from crawler.fetch.charset import decode_html_utf8
from crawler.models import Content, SiteRules
from crawler.textnorm import make_content
from crawler.urls import host_of


def rules_for(settings: Settings | None, url: str) -> SiteRules | None:
    """The operator's `[sites."host"]` rules for the page at `url`; None without a config or
    when its host has none."""
    site = settings.site_rules_for(host_of(url)) if settings is not None else None
    if site is None:
        return None
    return SiteRules(content=site.content, ignore=site.ignore)


def read_page(body: bytes, content_type: str | None, url: str, settings: Settings | None, *,
              fallback_title: str = "") -> tuple[ExtractedArticle, Content]:
    """The extracted page (its canonical URL included) and its versioned content.

    `body` is the page as fetched (or read from a file), `content_type` its Content-Type header
    (None for a file: then the bytes and `<meta>` decide the charset, as for a server that sends
    none), `url` the final URL it came from. `fallback_title` is used when the page names no
    headline (the daemon passes the feed entry's title)."""
    return read_with_rules(body, content_type, url, rules_for(settings, url),
                           fallback_title=fallback_title)


def read_with_rules(body: bytes, content_type: str | None, url: str, rules: SiteRules | None,
                    fallback_title: str = "") -> tuple[ExtractedArticle, Content]:
    """`read_page` with the site rules already chosen: what a worker process runs (it gets
    picklable arguments, not the whole config)."""
    html, utf8 = decode_html_utf8(body, content_type)
    extracted = extract_article(html, url, rules, utf8=utf8)
    return extracted, make_content(extracted.title or fallback_title, extracted.text,
                                   normalized=True)
