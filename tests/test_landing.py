"""`crawler.landing.landing`: where a re-check landed, table-tested."""

from __future__ import annotations

import pytest

from crawler.landing import Landing, landing

ART = "https://news.example/news/2026/storm-hits-coast.html?utm_source=rss"
SELF = "https://news.example/news/2026/storm-hits-coast.html"


@pytest.mark.parametrize(("requested", "final", "declared", "expected"), [
    # the article itself, however its URLs are spelled
    (ART, ART, None, Landing("article")),
    (ART, SELF, SELF, Landing("article")),
    (ART, SELF, SELF + "?utm_medium=feed#top", Landing("article")),
    # served from, or declaring, another URL: the store tells whose it is
    (ART, "http://news.example/news/2026/storm-hits-coast.html", None,
     Landing("claims", "http://news.example/news/2026/storm-hits-coast.html")),
    # redirected to the site's root, on this host or another spelling of it
    (ART, "https://news.example/", None, Landing("home", "https://news.example/")),
    (ART, "https://news.example", "https://news.example/",
     Landing("home", "https://news.example/")),
    (ART, "https://www.news.example/?from=article", None,
     Landing("home", "https://www.news.example/?from=article")),
    # redirected to an index the article sat in
    (ART, "https://news.example/news/", None, Landing("section", "https://news.example/news/")),
    (ART, "https://news.example/news/2026", None,
     Landing("section", "https://news.example/news/2026")),
    # the article's own URL now serves a page calling itself the home page
    (ART, ART, "/", Landing("home", "https://news.example/")),
    (ART, "https://news.example/news/2026/storm-batters-coast.html", None,
     Landing("claims", "https://news.example/news/2026/storm-batters-coast.html")),
    (ART, "https://news.example/news/2026/storm-batters-coast.html",
     "https://news.example/news/2026/storm-batters-coast.html",
     Landing("claims", "https://news.example/news/2026/storm-batters-coast.html")),
    (ART, SELF, "https://news.example/news/2026/flood.html",
     Landing("claims", "https://news.example/news/2026/flood.html")),
    (ART, "https://news.example/world/x.html", "/world/y.html",
     Landing("claims", "https://news.example/world/y.html")),
    # an unrelated index elsewhere on the site is not a section of this article
    (ART, "https://news.example/sport/", None,
     Landing("claims", "https://news.example/sport/")),
    # a feed link that is itself the site's root (?p=123) never counts as sent home
    ("https://blog.example/?p=123", "https://blog.example/", None,
     Landing("claims", "https://blog.example/")),
    ("https://blog.example/?p=123", "https://blog.example/2026/11/post/",
     "https://blog.example/?p=123", Landing("article")),
    # what cannot be parsed is not refused here
    (ART, "http://[::1", None, Landing("article")),
])
def test_landing(requested: str, final: str, declared: str | None, expected: Landing) -> None:
    assert landing(requested, final, declared) == expected
