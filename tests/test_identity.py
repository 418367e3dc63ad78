"""The pure rules of identity, table-tested: which hosts are one site (Public Suffix List),
what a page claims to be, when a claim naming another URL is verified, and which feed entries
may be told apart by their guid."""

from __future__ import annotations

import pytest

from crawler.feeds import distinct_entry_ids
from crawler.identity import Probe, article_identity, judge_claim, needs_verification
from crawler.models import FeedEntry
from crawler.sites import registrable_domain, same_site, site_of


@pytest.mark.parametrize(("host", "domain"), [
    ("www.bbc.co.uk", "bbc.co.uk"),
    ("evil.co.uk", "evil.co.uk"),
    ("news.abc.net.au", "abc.net.au"),
    ("shop.example.com.au", "example.com.au"),
    ("alice.github.io", "alice.github.io"),  # private section: each name is someone else's
    ("docs.alice.github.io", "alice.github.io"),
    ("x.blogspot.com", "x.blogspot.com"),
    ("WWW.Example.ORG.", "example.org"),
    ("co.uk", "co.uk"),  # a public suffix is nobody's site but its own
    ("github.io", "github.io"),
    ("localhost", "localhost"),
    ("127.0.0.1", "127.0.0.1"),  # not "0.1"
    ("[::1]", "::1"),
    ("www.xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
    ("", ""),
])
def test_registrable_domain(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


@pytest.mark.parametrize(("a", "b", "same"), [
    ("https://www.bbc.co.uk/news/1", "https://m.bbc.co.uk/news/1", True),
    ("https://evil.co.uk/a", "https://www.bbc.co.uk/news/1", False),
    ("https://evil.com.au/a", "https://www.abc.com.au/a", False),
    ("https://alice.github.io/p", "https://bob.github.io/p", False),
    ("https://alice.blogspot.com/p", "https://bob.blogspot.com/p", False),
    ("https://www.e.org/a", "https://e.org/b", True),
    ("http://e.org/a", "https://e.org/a", True),  # default ports: one site
    ("https://e.org:443/a", "https://e.org/a", True),
    ("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a", False),  # ports included
    ("http://127.0.0.1:8001/a", "http://127.0.0.1:8001/b", True),
    ("https://e.org:8443/a", "https://e.org/a", False),
    ("https://e.org/a", "not a url", False),
    ("", "", False),
])
def test_same_site(a: str, b: str, same: bool) -> None:
    assert same_site(a, b) is same
    assert same_site(b, a) is same


def test_site_of_names_the_port() -> None:
    assert site_of("http://www.e.org:8080/x") == "e.org:8080"
    assert site_of("https://www.e.org/x") == "e.org"
    assert site_of("http://e.org:99999/x") == ""  # an impossible port is no site


@pytest.mark.parametrize(("final", "claimed", "identity"), [
    # across a public suffix, another user's hosting name or another port: refused outright
    ("https://evil.co.uk/a", "https://www.bbc.co.uk/news/1", "https://evil.co.uk/a"),
    ("https://alice.github.io/p", "https://bob.github.io/p", "https://alice.github.io/p"),
    ("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a", "http://127.0.0.1:8001/a"),
    # on one site: a candidate, still to be verified
    ("https://m.bbc.co.uk/news/1", "https://www.bbc.co.uk/news/1", "https://www.bbc.co.uk/news/1"),
])
def test_article_identity_across_sites(final: str, claimed: str, identity: str) -> None:
    assert article_identity(final, claimed) == identity


A = "https://e.org/news/a"
B = "https://e.org/news/b"
H = "sha256:b"


@pytest.mark.parametrize(("requested", "final", "claimed", "probe", "identity", "reason"), [
    # no claim, or a claim of the page itself or of the URL that redirected to it: no fetch
    (B, B, B, None, B, "own_url"),
    ("https://e.org/b?id=2", B, "https://e.org/b?id=2", None, "https://e.org/b?id=2", "self"),
    # B claims A: A's page is another article (its own identity, other text)
    (B, B, A, Probe(200, A, A, "sha256:a"), B, "other_content"),
    # B claims D, not published yet: D answers 404, or could not be fetched at all
    (B, B, A, Probe(404, A), B, "unreachable"),
    (B, B, A, Probe(None), B, "unreachable"),
    (B, B, A, None, B, "unreachable"),
    # A's page names a third URL: no chain of claims
    (B, B, A, Probe(200, A, "https://e.org/news/z", H), B, "other_identity"),
    # A answers with this very page after redirects, or with the same article
    (B, B, A, Probe(200, B, B, H), A, "redirects_here"),
    (B, B, A, Probe(200, A, A, H), A, "same_page"),
    # a mobile page claiming the desktop one, same text
    ("https://m.e.org/a", "https://m.e.org/a", "https://www.e.org/a",
     Probe(200, "https://www.e.org/a", "https://www.e.org/a", H), "https://www.e.org/a",
     "same_page"),
])
def test_judge_claim(requested: str, final: str, claimed: str, probe: Probe | None,
                     identity: str, reason: str) -> None:
    verdict = judge_claim(requested, final, claimed, H, probe)
    assert (verdict.identity, verdict.reason) == (identity, reason)
    assert verdict.verified is (verdict.identity == claimed)


@pytest.mark.parametrize(("requested", "final", "claimed", "needed"), [
    (B, B, B, False),
    (A, B, A, False),  # the requested URL redirected here
    (B, B, A, True),
    (B + "?utm_source=rss", B, B, False),
])
def test_needs_verification(requested: str, final: str, claimed: str, needed: bool) -> None:
    assert needs_verification(requested, final, claimed) is needed


def _entry(entry_id: str, link: str) -> FeedEntry:
    return FeedEntry(entry_id=entry_id, link=link, title="", content_html=None)


@pytest.mark.parametrize(("entries", "ids"), [
    ([("g", "/1"), ("g", "/2"), ("g", "/3")], ["/1", "/2", "/3"]),  # one guid, three stories
    ([("g", "/1"), ("g", "/1")], ["g", "g"]),  # a duplicated item keeps its guid
    ([("g", "/1"), ("h", "/2"), ("g", "/3")], ["/1", "h", "/3"]),
    ([("g", "/1"), ("h", "/1")], ["g", "h"]),  # two guids, one link: the link joins them later
    ([], []),
])
def test_entries_sharing_a_guid_across_links_are_told_apart_by_link(
        entries: list[tuple[str, str]], ids: list[str]) -> None:
    out = distinct_entry_ids([_entry(i, link) for i, link in entries])
    assert [e.entry_id for e in out] == ids
    assert [e.link for e in out] == [link for _, link in entries]
