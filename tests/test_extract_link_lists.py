"""Link lists inside the chosen body: a block's link text is the sum over every anchor below
it, however many branches those anchors sit in."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from crawler.extract.cleaning import clean_body
from crawler.extract.dom import ink, text_of

PROSE = "<p>" + "The council met on Tuesday and agreed on the budget for next year. " * 12 + "</p>"


def _cleaned(block: str) -> str:
    tree = LexborHTMLParser(f"<html><body><article>{PROSE}{block}</article></body></html>")
    root = tree.css_first("article")
    assert root is not None
    clean_body(root, ink(text_of(root)))
    return text_of(root)


def test_a_block_sums_the_links_of_all_its_branches() -> None:
    # Each paragraph alone is a sentence and stays; the <div> around both is mostly links
    # only when both anchors count, in separate branches below it.
    linked = ("<div><p>See <a href='/a'>{}</a>.</p><p><a href='/b'>{}</a> here.</p></div>"
              .format("first teaser title words", "second teaser title words"))
    text = _cleaned(linked)
    assert "teaser" not in text and "council met" in text


def test_a_block_with_one_linked_branch_of_two_stays() -> None:
    block = ("<div><p>See <a href='/a'>first teaser title words</a>.</p>"
             "<p>The second paragraph has no link at all in it.</p></div>")
    text = _cleaned(block)
    assert "first teaser" in text and "no link at all" in text
