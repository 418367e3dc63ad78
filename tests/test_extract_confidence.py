"""The confidence of an extraction, per page shape: high where the body holds the page's prose,
lower where prose of similar weight lies elsewhere, where the body is short, or where a
fallback gave the text."""

from __future__ import annotations

from crawler.extract import SiteRules, extract_article
from crawler.extract.candidates import Choice
from crawler.extract.confidence import FALLBACK_CONFIDENCE, confidence
from tests.test_extract_shapes import page, paras, prose

URL = "https://news.example.org/story"


def test_an_article_holding_all_the_prose_is_sure() -> None:
    article = extract_article(page(f"<article>{paras(prose('BODY', 8))}</article>"), URL)
    assert article.confidence >= 0.9


def test_as_much_prose_outside_the_body_makes_it_unsure() -> None:
    # A sidebar (or a second story) holding as much prose as the article: a wrong or partial
    # block is likeliest on such pages.
    body = f"<main><article>{paras(prose('BODY', 6))}</article></main>"
    sidebar = f"<div class='sidebar'><div class='box'>{paras(prose('SIDE', 6))}</div></div>"
    article = extract_article(page(body + sidebar), URL)
    sure = extract_article(page(body), URL)
    assert "SIDE" not in article.text
    assert article.confidence < 0.7 <= sure.confidence


def test_a_body_of_one_short_paragraph_is_weak_evidence() -> None:
    short = extract_article(page(f"<article>{paras(prose('ONLY', 1, words=8))}</article>"), URL)
    long = extract_article(page(f"<article>{paras(prose('MANY', 8))}</article>"), URL)
    assert short.text and short.confidence < long.confidence
    assert short.confidence <= 0.6


def test_a_page_that_is_only_a_thread_is_at_most_half_sure() -> None:
    thread = "".join(f"<div class='comment'>{paras(prose(f'POST{i}', 2))}</div>"
                     for i in range(6))
    article = extract_article(page(f"<div class='comments'>{thread}</div>"), URL)
    assert article.text and 0 < article.confidence <= 0.5


def test_fallbacks_and_empty_pages_score_low() -> None:
    described = extract_article(
        "<html><head><meta property='og:description' content='" + "A summary of the video, "
        "long enough to be shown to a reader as what the page is about.'></head>"
        "<body><div id='player'></div></body></html>", URL)
    assert described.fallback == "description"
    assert described.confidence == FALLBACK_CONFIDENCE["description"]
    empty = extract_article("<html><body><div id='app'></div></body></html>", URL)
    assert empty.text == "" and empty.confidence == 0.0


def test_the_operators_selector_is_trusted() -> None:
    html = page(f"<div class='story'>{paras(prose('RULED', 1, words=6))}</div>"
                f"<div class='other'>{paras(prose('OTHER', 8))}</div>")
    article = extract_article(html, URL, SiteRules(content=".story"))
    assert "RULED" in article.text and article.confidence == 1.0


def test_confidence_from_the_evidence_alone() -> None:
    assert confidence(None, "", "") == 0.0
    assert confidence(Choice(nodes=(), score=1.0, prose=3000, page_prose=3000), "x", "") == 1.0
    half = confidence(Choice(nodes=(), score=1.0, prose=1500, page_prose=3000), "x", "")
    assert half == 0.5
    short = confidence(Choice(nodes=(), score=1.0, prose=150, page_prose=150), "x", "")
    assert short == 0.55
