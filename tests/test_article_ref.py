"""Naming an article on the command line (`crawler.article_ref`): ids, and the URL forms one
stored URL may be typed in. Pure, table-driven."""

from __future__ import annotations

import pytest

from crawler.article_ref import article_id, iri_form, lookup_urls, uri_form

RFI_URI = ("https://www.rfi.fr/cn/%E5%9B%BD%E9%99%85/"
           "20261126-%E5%8C%97%E7%BA%A6%E5%B3%B0%E4%BC%9A")
RFI_IRI = "https://www.rfi.fr/cn/国际/20261126-北约峰会"


@pytest.mark.parametrize(("ref", "expected"), [
    ("42", 42), (" 7 ", 7), ("0", 0), ("-1", None), ("4.2", None), ("٤٢", None),
    ("https://news.example/42", None), ("", None),
])
def test_article_id(ref: str, expected: int | None) -> None:
    assert article_id(ref) == expected


@pytest.mark.parametrize(("typed", "stored"), [
    (RFI_IRI, RFI_URI),                                     # as a browser shows it
    (RFI_URI, RFI_URI),                                     # as the feed gave it
    (RFI_URI.lower().replace("https://www.rfi.fr", "https://www.rfi.fr"), RFI_URI),
    (RFI_IRI + "?utm_source=rss&utm_medium=feed#top", RFI_URI),
    (RFI_URI, RFI_IRI),                                     # a feed that carried the IRI
    ("HTTPS://WWW.RFI.FR:443/cn/国际/20261126-北约峰会", RFI_URI),
    ("https://bücher.example/a", "https://xn--bcher-kva.example/a"),
    ("https://xn--bcher-kva.example/a", "https://bücher.example/a"),
    ("https://news.example/a%20b?id=3&fbclid=x", "https://news.example/a%20b?id=3"),
    ("https://news.example:8080/%c3%bc", "https://news.example:8080/%C3%BC"),
])
def test_a_typed_url_finds_the_stored_key(typed: str, stored: str) -> None:
    assert stored in lookup_urls(typed)


@pytest.mark.parametrize("ref", ["42", "news.example/a", "ftp://news.example/a",
                                 "javascript:alert(1)", "", "https://news.example:x/"])
def test_what_is_not_an_http_url_has_no_keys(ref: str) -> None:
    assert lookup_urls(ref) == []


def test_ascii_escapes_stay_escaped_and_forms_round_trip() -> None:
    assert iri_form("https://a.example/x%2Fy%E5%9B%BD") == "https://a.example/x%2Fy国"
    assert uri_form("https://a.example/x%2fy国") == "https://a.example/x%2Fy%E5%9B%BD"
    assert uri_form(iri_form(RFI_URI)) == RFI_URI
    assert iri_form("https://a.example/%FF%FE") == "https://a.example/%FF%FE"  # not UTF-8
    assert uri_form("https://user@bücher.example:81/") == "https://user@xn--bcher-kva.example:81/"
