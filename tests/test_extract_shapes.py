"""Page shapes the extractor must handle, one per rule: each test builds the shape from generic
template parts (no real site) and states what must be in the text and what must not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crawler.extract import extract_article


def prose(label: str, count: int, words: int = 30) -> list[str]:
    """`count` distinct sentences of prose, each tagged with `label` so a test can find it."""
    return [
        f"{label} sentence {i} tells the reader, with clauses and commas, "
        + " ".join(f"word{i}x{j}" for j in range(words))
        + "."
        for i in range(count)
    ]


def paras(texts: list[str]) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def page(body: str, title: str = "The headline of the story") -> str:
    return (f"<html><head><title>{title}</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>{body}"
            "<footer>Copyright the publisher</footer></body></html>")


def text_of(html: str) -> str:
    return extract_article(html, "https://news.example.org/story").text


# A page shape (`test_the_body_is_kept_and_the_rest_dropped`): the paragraphs its text must
# keep, and the page.
Shape = tuple[list[str], str]


def comment_thread_longer_than_the_post_is_not_the_body() -> Shape:
    post = prose("POST", 3)
    thread = "".join(
        f"<li class='comment'><div class='comment-body'>{paras(prose(f'REPLY{i}', 3))}</div></li>"
        for i in range(8)
    )
    html = page(f"<div class='entry'>{paras(post)}</div>"
                f"<div id='comments'><ol class='commentlist'>{thread}</ol></div>")
    return post, html


def test_a_page_that_is_only_a_thread_is_not_empty() -> None:
    # Live commentary or a forum page: the thread is all the text there is.
    thread = "".join(
        f"<div class='live-comment'>{paras(prose(f'MINUTE{i}', 1))}</div>" for i in range(6)
    )
    assert "MINUTE3" in text_of(page(f"<div class='live-comments'>{thread}</div>"))


def test_body_split_across_page_builder_boxes_is_joined() -> None:
    # Each paragraph in a box of its own, several levels deep, the boxes in sibling sections.
    def box(text: str) -> str:
        return (f"<div class='builder-element'><div class='builder-wrap'>"
                f"<div class='builder-text'><p>{text}</p></div></div></div>")

    parts = prose("PART", 6)
    sections = "".join(
        f"<section class='builder-section'>{box(parts[i])}{box(parts[i + 1])}</section>"
        for i in range(0, 6, 2)
    )
    text = text_of(page(f"<div class='builder'>{sections}</div>"))
    assert all(p in text for p in parts)


def many_small_boxes_of_prose_beat_one_dense_dialog() -> Shape:
    def box(text: str) -> str:
        return f"<div class='row'><div class='col'><div class='cell'><p>{text}</p></div></div></div>"

    body = prose("BODY", 8)
    # A disclosure dialog: one box with much comma-rich text.
    dialog = paras(prose("DIALOG, long, with, many, commas,", 4, words=45))
    html = page(f"<div class='modal'><div class='modal-body'>{dialog}</div></div>"
                f"<div class='page'>{''.join(box(t) for t in body)}</div>")
    return body, html


def a_sidebar_with_more_prose_than_a_short_post_is_not_chosen() -> Shape:
    post = prose("POST", 2)
    side = paras(prose("SIDEBAR", 6))
    html = page(f"<div class='content'><div class='post'>{paras(post)}</div>"
                f"<div id='sidebar'><div class='widget widget-text'>{side}</div></div></div>")
    return post, html


def test_heading_of_a_removed_link_list_is_dropped() -> None:
    body = prose("BODY", 4)
    links = "".join(f"<li><a href='/s{i}'>Another story number {i}</a></li>" for i in range(6))
    html = page(f"<article>{paras(body)}<h2>Related articles</h2><ul>{links}</ul>"
                "<p>More on this topic:</p></article>")
    text = text_of(html)
    assert text.split("\n\n") == body


def test_headings_with_their_sections_are_kept() -> None:
    first, second = prose("ONE", 2), prose("TWO", 2)
    html = page(f"<article><h2>First part</h2>{paras(first)}<h2>Second part</h2>"
                f"{paras(second)}</article>")
    assert text_of(html).split("\n\n") == ["First part", *first, "Second part", *second]


def test_forum_posts_typed_into_blockquotes_are_text() -> None:
    posts = prose("FORUMPOST", 4)
    items = "".join(
        f"<li class='postbit'><div class='postbody'><blockquote class='postcontent'>"
        f"{t[:60]}<br>{t[60:]}</blockquote></div></li>" for t in posts
    )
    html = page(f"<div class='pagination'><a href='?p=2'>Page 2</a> of 9</div>"
                f"<ol class='posts'>{items}</ol>")
    text = text_of(html)
    for t in posts:
        assert t[:60].strip() in text


@pytest.mark.parametrize("wrapper", ["aside class='main-column'", "div role='complementary'"])
def test_an_article_wrapped_in_an_aside_is_kept(wrapper: str) -> None:
    body = prose("BODY", 5)
    tag = wrapper.split()[0]
    html = page(f"<{wrapper}><article>{paras(body)}</article></{tag}>"
                f"<aside class='links'><p>{prose('SIDE', 1)[0]}</p></aside>")
    text = text_of(html)
    assert all(p in text for p in body)
    assert "SIDE" not in text


@pytest.mark.parametrize("sidebar", ["aside", "div role='complementary'"])
def test_a_sidebar_beside_the_article_goes(sidebar: str) -> None:
    # Either kind alone, no <aside> on the page for the role: the sidebar pass still runs.
    body = prose("BODY", 5)
    tag = sidebar.split()[0]
    html = page(f"<article>{paras(body)}</article>"
                f"<{sidebar}><p>{prose('SIDE', 2)[0]}</p><p>{prose('SIDE', 2)[1]}</p></{tag}>")
    text = text_of(html)
    assert all(p in text for p in body)
    assert "SIDE" not in text


def post_served_inside_noscript_is_kept_and_a_notice_is_not() -> Shape:
    body = prose("BODY", 4)
    html = page(f"<div class='post-body'><noscript>{paras(body)}</noscript></div>"
                "<noscript><p>Please enable JavaScript to view the comments.</p></noscript>")
    return body, html


def test_a_block_emptied_by_the_cleaning_is_kept_uncleaned() -> None:
    # Every box of the story is named like boilerplate (a "related" template reused), and a
    # third of its text is a link, as in a list of teasers.
    body = prose("BODY", 4)
    link = "<a href='/more'>" + " ".join(f"linked{i}" for i in range(12)) + "</a>"
    boxes = "".join(f"<div class='related-text'><p>{t} {link}</p></div>" for t in body)
    article = extract_article(page(f"<div class='story'>{boxes}</div>"), "https://x.example/")
    assert all(p in article.text for p in body)
    assert article.fallback == "cleaned_away"


def test_a_page_drawn_by_script_gives_its_summary() -> None:
    summary = "A video about the harbour: how the new quay was built, and what it cost the city."
    html = (f"<html><head><meta property='og:description' content='{summary}'></head>"
            "<body><div id='app'></div><script>render()</script></body></html>")
    article = extract_article(html, "https://x.example/")
    assert (article.text, article.fallback) == (summary, "description")


def test_a_page_without_any_text_says_so() -> None:
    article = extract_article("<html><body><div id='app'></div></body></html>", "https://x.example/")
    assert (article.text, article.fallback) == ("", "no_text")


def test_an_ordinary_page_uses_no_fallback() -> None:
    assert extract_article(page(paras(prose("BODY", 3))), "https://x.example/").fallback == ""


def boxes_of_one_class_holding_most_of_the_body_are_its_structure() -> Shape:
    # A product guide whose every section is called "gallery-item": a boilerplate word, but the
    # boxes are the body; a related list of long teasers stays boilerplate.
    parts = prose("ITEM", 4)
    sections = "".join(f"<div class='gallery-item'>{paras([t])}</div>" for t in parts)
    teasers = "".join(f"<div class='related-post'>{paras(prose(f'TEASER{i}', 1))}</div>"
                      for i in range(2))
    return parts, page(f"<article>{paras(prose('INTRO', 1))}{sections}{teasers}</article>")


def test_a_sentence_whose_words_are_mostly_links_stays() -> None:
    body = prose("BODY", 3)
    linked = "He joined <a href='/a'>the marketing team of the company</a> in <a href='/b'>2019</a>."
    text = text_of(page(f"<article>{paras(body)}<p>{linked}</p>"
                        "<p><a href='/c'>Another story</a> <a href='/d'>And one more</a></p>"
                        "</article>"))
    assert "He joined the marketing team of the company in 2019." in text
    assert "Another story" not in text


def test_a_box_with_an_image_and_a_line_of_text_is_a_caption() -> None:
    body = prose("BODY", 3)
    html = page(f"<article>{paras(body[:2])}"
                "<div class='imginline'><img src='/m.png'><span>Figure: the glacier in May.</span>"
                f"</div>{paras(body[2:])}<p><img src='/flag.png'> {prose('INLINE', 1)[0]}</p>"
                "</article>")
    text = text_of(html)
    assert all(p in text for p in body)
    assert "the glacier in May" not in text
    assert "INLINE sentence 0" in text


def a_dialog_laid_over_the_page_gives_way_to_the_article() -> Shape:
    # The article's box also holds a long reference list, so its prose is no larger than the
    # dialog's: the dialog loses because it is a box laid over the page.
    body = prose("BODY", 3)
    refs = "".join(f"<li><a href='/r{i}'>Reference number {i} of the paper</a></li>"
                   for i in range(60))
    dialog = paras(prose("DISCLOSURE, with, many, commas,", 4, words=45))
    html = page(f"<div class='article__content'><div class='article__body'>{paras(body)}"
                f"<ol class='references'>{refs}</ol></div>"
                f"<div class='modal disclosures'><div class='modal__body'>{dialog}</div></div></div>")
    return body, html


@pytest.mark.parametrize("box", ["div class='article-teaser'", "div class='hidden-xs'",
                                 "div class='col l-hidden-s'"])
def test_lead_and_responsive_boxes_are_body_text(box: str) -> None:
    # "teaser" names the lead in many newsroom templates (related teasers are link lists, which
    # go as such); "hidden-xs" hides a box on small screens only.
    lead = prose("LEAD", 1)[0]
    body = prose("BODY", 4)
    tag = box.split()[0]
    text = text_of(page(f"<article><{box}><p>{lead}</p></{tag}>{paras(body)}</article>"))
    assert lead in text


def test_a_box_hidden_by_class_is_not_body_text() -> None:
    body = prose("BODY", 4)
    text = text_of(page(f"<article>{paras(body)}<div class='hidden'><p>{prose('GONE', 1)[0]}"
                        "</p></div></article>"))
    assert "GONE" not in text


def test_prose_set_in_a_heading_tag_is_kept() -> None:
    long_heading = prose("INTRO", 1, words=40)[0]
    body = prose("BODY", 3)
    text = text_of(page(f"<article><h2>{long_heading}</h2><h3>Part one</h3>{paras(body)}"
                        "</article>"))
    assert long_heading in text and "Part one" in text


def test_a_standfirst_in_a_hero_box_before_the_body_is_kept() -> None:
    lead = "The council voted on Tuesday to close the old bridge to all traffic until spring."
    body = prose("BODY", 4)
    # The promotion comes after the headline too, but deep in the page header, far from the
    # article's box.
    deep = "<div>" * 6
    html = page(f"<header class='top'><h1>Bridge closed</h1>{deep}<p>Chat with us on the "
                "messenger app and find out what is happening in the world.</p>"
                f"{'</div>' * 6}</header><main><div class='hero'><p>{lead}</p></div>"
                f"<div class='article'><div class='body'>{paras(body)}</div></div></main>")
    text = text_of(html)
    assert text.split("\n\n")[0] == lead
    assert "messenger" not in text


@pytest.mark.parametrize("credit", ["Photo: Jane Doe/Reuters", "Crédits photos : Bestimage",
                                    "Augusta National/Getty Images", "Quelle: Landesregierung",
                                    "Foto: dpa"])
def test_picture_credit_and_source_lines_are_not_text(credit: str) -> None:
    body = prose("BODY", 3)
    text = text_of(page(f"<article>{paras(body[:2])}<p>{credit}</p>{paras(body[2:])}</article>"))
    assert text.split("\n\n") == body


def test_a_sentence_that_mentions_a_photo_agency_stays() -> None:
    line = "The agency said its photographers would stop working with Getty Images next year."
    body = prose("BODY", 3)
    text = text_of(page(f"<article>{paras(body)}<p>{line}</p></article>"))
    assert line in text


def test_a_sentence_ending_with_a_photo_agency_stays() -> None:
    line = "He sold the pictures of the flood to Getty Images."
    body = prose("BODY", 3)
    assert line in text_of(page(f"<article>{paras(body)}<p>{line}</p></article>"))


@pytest.mark.parametrize("name", ["news-teaser", "article-intro", "story-summary", "excerpt"])
def test_a_named_lead_box_beside_the_body_is_kept(name: str) -> None:
    lead = "Thousands of volunteers were honoured in the capital on Friday for their work."
    body = prose("BODY", 4)
    html = page(f"<div class='news'><div class='{name}'>{lead}</div>"
                f"<div class='news-bodytext'>{paras(body)}</div></div>")
    assert text_of(html).split("\n\n")[0] == lead


def test_short_labels_after_the_last_sentence_are_dropped_but_a_closing_list_stays() -> None:
    body = prose("BODY", 3)
    labels = "<p>Contact</p><p>Topics: Economy</p>"
    assert text_of(page(f"<article>{paras(body)}{labels}</article>")).split("\n\n") == body
    results = [f"Team {i} (Group {i}): appearance {i}" for i in range(6)]
    text = text_of(page(f"<article>{paras(body)}{paras(results)}</article>"))
    assert text.split("\n\n") == body + results


def test_short_labels_above_the_first_sentence_are_dropped_but_a_heading_stays() -> None:
    body = prose("BODY", 3)
    html = page(f"<article><p>Category: News</p><p>Celebrities</p>{paras(body)}</article>")
    assert text_of(html).split("\n\n") == body
    html = page(f"<article><h2>Introduction</h2>{paras(body)}</article>")
    assert text_of(html).split("\n\n") == ["Introduction", *body]


@pytest.mark.parametrize("prompt", ["Write a comment", "Keine Kommentare",
                                    "Verraten Sie es uns in den Kommentaren:",
                                    "Join the discussion!"])
def test_comment_prompts_are_not_text(prompt: str) -> None:
    body = prose("BODY", 3)
    assert text_of(page(f"<article>{paras(body)}<p>{prompt}</p></article>")).split("\n\n") == body


def test_a_sentence_about_comments_stays() -> None:
    line = "The minister declined to answer comments made by the union."
    body = prose("BODY", 3)
    assert line in text_of(page(f"<article>{paras(body)}<p>{line}</p></article>"))


def test_thousands_of_blocks_between_headline_and_body_are_not_walked_one_by_one() -> None:
    # A hostile shape for the standfirst search: it looks at a bounded number of blocks (the
    # suite's timeout would catch a walk over all of them at every depth).
    filler = "<p>Filler paragraph text that is long enough to count as a paragraph.</p>" * 3000
    body = prose("BODY", 5)
    html = page(f"<div><h1>T</h1>{'<div>' * 1500}{filler}{'</div>' * 1500}"
                f"<article>{paras(body)}</article></div>")
    assert extract_article(html, "https://x.example/").text


def test_the_headline_leaves_the_body_but_section_h1s_stay() -> None:
    body = prose("BODY", 4)
    html = page(f"<article><h1>The headline of the page</h1>{paras(body[:2])}"
                f"<h1>Career</h1>{paras(body[2:])}</article>")
    assert text_of(html).split("\n\n") == [*body[:2], "Career", *body[2:]]


@pytest.mark.parametrize("line", ["Tags: economy, housing", "Themen: Kritik aus dem Internet",
                                  "Mots-clés : logement", "标签：经济"])
def test_tag_and_topic_lines_are_not_text(line: str) -> None:
    body = prose("BODY", 3)
    assert text_of(page(f"<article>{paras(body)}<p>{line}</p></article>")).split("\n\n") == body


def test_a_summary_that_only_repeats_the_headline_gives_no_text() -> None:
    title = "A video about the harbour and how the new quay was built for the city in the end"
    html = (f"<html><head><title>{title}</title><meta name='description' content='{title}'>"
            "</head><body><div id='app'></div></body></html>")
    article = extract_article(html, "https://x.example/")
    assert (article.title, article.text, article.fallback) == (title, "", "no_text")


def widening_past_a_level_with_a_sidebar_does_not_take_the_sidebar() -> Shape:
    post = prose("POST", 2)
    html = page(f"<div class='outer'><div class='wrap'><div class='post'>{paras(post)}</div>"
                f"<div class='sidebar'>{paras(prose('SIDE', 6))}</div></div>"
                f"<div class='more'>{paras(prose('MORE', 1))}</div></div>")
    return post, html


@pytest.mark.parametrize(("shape", "dropped"), [
    (comment_thread_longer_than_the_post_is_not_the_body, "REPLY"),
    (many_small_boxes_of_prose_beat_one_dense_dialog, "DIALOG"),
    (a_sidebar_with_more_prose_than_a_short_post_is_not_chosen, "SIDEBAR"),
    (post_served_inside_noscript_is_kept_and_a_notice_is_not, "enable JavaScript"),
    (a_dialog_laid_over_the_page_gives_way_to_the_article, "DISCLOSURE"),
    (boxes_of_one_class_holding_most_of_the_body_are_its_structure, "TEASER"),
    (widening_past_a_level_with_a_sidebar_does_not_take_the_sidebar, "SIDE"),
], ids=lambda case: case.__name__ if callable(case) else None)
def test_the_body_is_kept_and_the_rest_dropped(shape: Callable[[], Shape], dropped: str) -> None:
    kept, html = shape()
    text = text_of(html)
    assert all(p in text for p in kept)
    assert dropped not in text
