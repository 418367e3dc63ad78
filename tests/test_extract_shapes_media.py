"""Page shapes whose text sits where the cleaning looks for furniture: in figures, slides,
hidden tab panels and page-builder boxes. Each test builds the shape from generic template
parts (no real site) and states what must be in the text and what must not."""

from __future__ import annotations

import importlib

import pytest
from selectolax.lexbor import LexborNode

from crawler.extract import extract_article
from crawler.extract.dom import text_length
from tests.test_extract_shapes import page, paras, prose, text_of


def test_a_table_set_in_a_figure_is_text() -> None:
    # Content systems wrap tables in <figure> as they wrap pictures.
    body = prose("BODY", 4)
    rows = "".join(f"<tr><td>ROW{i} fee</td><td>{i}.50 per trade</td></tr>" for i in range(4))
    html = page(f"<article>{paras(body[:2])}<figure class='table-block'><table>{rows}</table>"
                f"</figure>{paras(body[2:])}</article>")
    text = text_of(html)
    assert "ROW2 fee 2.50 per trade" in text
    assert all(p in text for p in body)


def test_a_picture_and_its_caption_in_a_figure_are_not_text() -> None:
    body = prose("BODY", 4)
    html = page(f"<article>{paras(body[:2])}<figure><img src='a.jpg'><figcaption>CAPTION of "
                f"the picture, with a few words</figcaption></figure>{paras(body[2:])}</article>")
    text = text_of(html)
    assert "CAPTION" not in text
    assert all(p in text for p in body)


def test_a_gallery_whose_figures_hold_the_text_keeps_them() -> None:
    # A slideshow page: a short intro, then one <figure> per slide whose caption is the text.
    intro = prose("INTRO", 1)
    slides = "".join(
        f"<figure class='slide'><h2>{i}. SLIDE{i} title</h2><img src='{i}.jpg'>"
        f"<figcaption>{prose(f'SLIDE{i}', 1)[0]}</figcaption></figure>" for i in range(8))
    text = text_of(page(f"<article>{paras(intro)}{slides}</article>"))
    assert all(f"SLIDE{i} sentence 0" in text for i in range(8))
    assert intro[0] in text


def test_slides_marked_as_image_objects_holding_the_text_are_kept() -> None:
    # Each slide is a schema.org ImageObject whose description is the article's text.
    def slide(i: int) -> str:
        return (f"<section class='slide' itemscope itemtype='https://schema.org/ImageObject'>"
                f"<img src='{i}.jpg'><p>{prose(f'SLIDE{i}', 1, words=20)[0]}</p></section>")

    html = page(f"<div class='slideshow-body'>{''.join(slide(i) for i in range(6))}</div>")
    text = text_of(html)
    assert all(f"SLIDE{i} sentence 0" in text for i in range(6))


def test_an_image_object_beside_the_body_is_not_text() -> None:
    body = prose("BODY", 5)
    html = page(f"<article>{paras(body)}<div itemscope itemtype='https://schema.org/ImageObject'>"
                "<img src='a.jpg'><span>PICTURE of the scene, by a photographer</span></div>"
                "</article>")
    text = text_of(html)
    assert "PICTURE" not in text
    assert all(p in text for p in body)


def test_hidden_tabs_of_the_same_kind_as_the_shown_one_are_text() -> None:
    # A recipe or a guide in tabs: script shows one panel at a time.
    def panel(i: int, hidden: bool) -> str:
        attrs = " style='display: none;'" if hidden else ""
        return f"<div class='tab-panel panel-{i}'{attrs}>{paras(prose(f'PANEL{i}', 2))}</div>"

    panels = "".join(panel(i, hidden=i > 0) for i in range(3))
    text = text_of(page(f"<article><div class='tabs'>{panels}</div></article>"))
    assert all(f"PANEL{i} sentence 1" in text for i in range(3))


def test_a_hidden_box_without_a_shown_twin_is_not_text() -> None:
    body = prose("BODY", 4)
    login = (f"<div class='signin-box' style='display:none'>{paras(prose('LOGIN', 2))}</div>"
             f"<div class='signup-box' style='display:none'>{paras(prose('SIGNUP', 2))}</div>")
    text = text_of(page(f"<article>{paras(body)}{login}</article>"))
    assert "LOGIN" not in text and "SIGNUP" not in text
    assert all(p in text for p in body)


def test_page_builder_widget_boxes_holding_the_body_are_kept() -> None:
    # Every box of the builder is a numbered "widget"; the text boxes hold most of the body.
    def widget(i: int, inner: str) -> str:
        return (f"<div class='builder-element builder-element-{i:x}f3 builder-widget "
                f"builder-widget-text'><div class='builder-widget-container'>{inner}</div></div>")

    parts = [prose(f"PART{i}", 2, words=12) for i in range(5)]
    boxes = "".join(widget(i + 160, paras(part)) for i, part in enumerate(parts))
    html = page(f"<div class='post-body'><h2>Intro</h2>{boxes}"
                f"<div class='builder-widget-share'><a href='/s'>Share this post</a></div></div>")
    article = extract_article(html, "https://news.example.org/story")
    assert all(p in article.text for part in parts for p in part)
    assert "Share this post" not in article.text
    assert article.fallback == ""  # found by the ordinary way, not kept uncleaned


def test_teaser_widgets_of_links_beside_the_body_are_not_kept() -> None:
    body = prose("BODY", 5)
    teasers = "".join(
        f"<div class='related-widget related-widget-{i}'><a href='/a{i}'>TEASER{i} "
        f"{prose('LINKED', 1, words=20)[0]}</a></div>" for i in range(6))
    text = text_of(page(f"<article>{paras(body)}<div class='more'>{teasers}</div></article>"))
    assert "TEASER" not in text
    assert all(p in text for p in body)


def _intro_page(intro: str) -> str:
    """No <h1> (the template draws the title elsewhere); the intro sits alone in its own box
    just before the section that holds the body; links to other stories close the page."""
    body = f"<section class='content'>{paras(prose('BODY', 6))}</section>"
    more = "".join(f"<li><a href='/s{i}'>Another story of the week, number {i}</a></li>"
                   for i in range(20))
    return (f"<html><body><main><div class='col'><p class='large'>{intro}</p></div>{body}"
            f"<ul>{more}</ul></main></body></html>")


def test_a_standfirst_box_right_before_the_body_is_kept_without_a_headline() -> None:
    intro = ("INTRO: boundaries are the ground of self-care, a shelter and a guide, and this "
             "piece shows how to find yours.")
    text = text_of(_intro_page(intro))
    assert text.startswith(intro)
    assert "Another story" not in text


def test_a_line_before_the_body_that_is_no_sentence_is_not_a_standfirst() -> None:
    text = text_of(_intro_page("PROMO subscribe to the weekly letter and get every story "
                               "of the week first"))
    assert "PROMO" not in text
    assert "BODY sentence 0" in text


def test_a_credit_left_alone_once_the_captions_beside_it_went_is_a_caption() -> None:
    # A picture box holding a credit line and a captioned picture: the box is too long to be a
    # caption until the inner caption goes; the next picture in it finds it short enough.
    body = prose("BODY", 3)
    caption = "CAPTION " + "of the second picture " * 10 + "in the box"  # 238 characters
    assert len(caption) == 238
    box = (f"<div class='pics'><img src='/a.jpg'>Pictures by Agency North-West<div class='pic'>"
           f"<img src='/b.jpg'>{caption}</div><img src='/c.jpg'></div>")
    text = text_of(page(f"<article>{paras(body[:2])}{box}{paras(body[2:])}</article>"))
    assert all(p in text for p in body)
    assert "CAPTION" not in text
    assert "Agency North-West" not in text  # 29 + 238 characters: too long until the caption went


def test_the_pictures_of_one_long_block_measure_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A long article with a picture between every two paragraphs, each straight in the body's
    # block: every picture's walk up meets the same block, whose text is measured only once
    # (it was measured for every picture: quadratic in the pictures).
    cleaning = importlib.import_module("crawler.extract.cleaning")
    measured: list[str] = []

    def counting(node: LexborNode) -> int:
        measured.append(node.attributes.get("class") or "")
        return text_length(node)

    monkeypatch.setattr(cleaning, "text_length", counting)
    body = prose("BODY", 60)
    mixed = "".join(f"<p>{para}</p><img src='/{i}.jpg'>" for i, para in enumerate(body))
    text = text_of(page(f"<article><div class='story'>{mixed}</div></article>"))
    assert all(p in text for p in body)
    assert measured.count("story") == 1
