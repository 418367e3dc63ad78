"""extract_article: the public contract (feed entries, titles, canonical URLs, site rules,
hostile input)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extract import ExtractedArticle, SiteRules, extract_article
from crawler.textnorm import make_content, normalize_text

# One entry of a full-content feed as captured (a copy of shared/examples/feedx-rfi-entry.txt).
EXAMPLE = Path(__file__).parent / "data" / "feedx-rfi-entry.txt"
FEEDX_ENTRY = (
    EXAMPLE.read_text(encoding="utf-8").split("------", 1)[1] if EXAMPLE.is_file() else ""
)
LEAD = "据韩联社援引北约方面消息报导，北约已邀请韩国等4个印太伙伴国参加新年首次军事委员会参谋长级会议。"
ARTICLE_PARAS = "".join(
    f"<p>Paragraph number {i} of the story, long enough to count as real prose, with commas, "
    f"clauses and words.</p>" for i in range(5)
)


@pytest.mark.skipif(not FEEDX_ENTRY, reason="shared example entry not present")
def test_feedx_entry_keeps_lead_and_body_only() -> None:
    article = extract_article(FEEDX_ENTRY, "https://www.rfi.fr/cn/")
    paras = article.text.split("\n\n")
    assert paras[0] == LEAD
    assert paras[1].startswith("消息指，北约军事委员会参谋长级会议将于1月17日")
    assert paras[-1].endswith("双边军事合作持续升温。")
    assert len(paras) == 5
    for noise in ("04/01/2024", "15:38", "分享", "获取更多", "feedx", "RSS", "http"):
        assert noise not in article.text


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<meta property="og:title" content="Big news - RFI"><meta property="og:site_name" '
         'content="RFI">', "Big news"),
        ("<title>Storm hits the coast | The Daily</title>", "Storm hits the coast"),
        ("<title>Paris: the day after the vote that changed everything</title>",
         "Paris: the day after the vote that changed everything"),
        ('<meta property="og:title" content="Rates held">', "Rates held"),
        ("", "Headline in h1"),
    ],
)
def test_title(head: str, expected: str) -> None:
    html = f"<html><head>{head}</head><body><h1>Headline in h1</h1>{ARTICLE_PARAS}</body></html>"
    if head:
        html = html.replace("<h1>Headline in h1</h1>", "")
    article = extract_article(html, "https://example.org/a")
    assert article.title == expected
    assert "Paragraph number 0" in article.text


@pytest.mark.parametrize(
    ("head", "url", "expected"),
    [
        ('<link rel="canonical" href="/news/1">', "https://ex.org/a?utm=1",
         "https://ex.org/news/1"),
        ('<meta property="og:url" content="https://ex.org/b">', "https://ex.org/a",
         "https://ex.org/b"),
        ('<link rel="canonical" href="javascript:alert(1)">', "https://ex.org/a", None),
        ('<link rel="canonical" href="http://[::1">', "https://ex.org/a", None),
        ("", "https://ex.org/a", None),
    ],
)
def test_canonical_url(head: str, url: str, expected: str | None) -> None:
    article = extract_article(f"<html><head>{head}</head><body>{ARTICLE_PARAS}</body></html>", url)
    assert article.canonical_url == expected


def test_site_rules_win() -> None:
    html = (
        "<html><body><div class='story'><p>Short chosen text here.</p><p class='x'>drop me</p>"
        f"</div><div class='other'>{ARTICLE_PARAS}</div></body></html>"
    )
    ruled = extract_article(html, "https://ex.org/", SiteRules(content=".story", ignore=(".x",)))
    assert ruled.text == "Short chosen text here."
    fallback = extract_article(html, "https://ex.org/", SiteRules(content=".missing"))
    assert "Paragraph number 0" in fallback.text
    invalid = extract_article(html, "https://ex.org/", SiteRules(content="[[[", ignore=("<<",)))
    assert "Paragraph number 0" in invalid.text


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "\x00\x00<p>\x00</p>",
        "garbage < > & ;; <<<>>>",
        "<" * 10_000,
        "<div>" * 20_000 + "deep text" + "</div>" * 10,
        "<script type='application/ld+json'>" + "[" * 5000 + "</script>",
        "<script type='application/ld+json'>{\"@type\":\"NewsArticle\",\"articleBody\":1}</script>",
        "<html><head><title>only a title</title></head></html>",
        "\ud800 lone surrogate <p>text</p>",
        "<table>" * 3000,
        "<p>" + "word " * 200_000 + "</p>",
    ],
)
def test_never_raises(html: str) -> None:
    article = extract_article(html, "not a url")
    assert isinstance(article, ExtractedArticle)
    make_content(article.title, article.text)


def test_deterministic() -> None:
    html = f"<html><body><h1>T</h1><div class='body'>{ARTICLE_PARAS}</div></body></html>"
    results = {extract_article(html, "https://ex.org/") for _ in range(5)}
    assert len(results) == 1


@pytest.mark.parametrize("body", [
    "<p>Non\u00a0breaking\u2009spaces and\u3000ideographic ones, in a sentence long enough.</p>",
    "<p>Zero\u200bwidth\u00adsoft hyphens and \x1b[31mterminal escapes in running text.</p>",
    "<p>Line\r\nbreaks\rof every\nkind inside one paragraph of the article body.</p>",
    "<p>\u0301Combining marks at the start of a paragraph, e\u0301 and cafe\u0301.</p>",
    "<h2>A heading\ue001 with the marks\ue000 the renderer uses</h2><p>Then prose.</p>",
    "<div>Text typed straight into a div<br><br>   between breaks,\t\ttabs  and   runs.</div>",
    "<table><tr><td>Cells</td><td>\u00a0</td><td>in a row</td></tr></table><p>Prose.</p>",
])
def test_the_text_is_normalized_as_the_content_hash_normalizes(body: str) -> None:
    # The daemon hashes the text as it comes (`make_content(..., normalized=True)`).
    text = extract_article(f"<html><body><article>{body}{ARTICLE_PARAS}</article></body></html>",
                           "https://news.example/a").text
    assert text and normalize_text(text) == text


def _deep_page(tags: int) -> str:
    """Two paragraphs 600 elements deep, padded with `<br>`s to `tags` tags in all."""
    body = "<div>" * 600 + "".join(
        f"<p>{word} paragraph of the deep story, long enough to be prose, with words.</p>"
        for word in ("First", "Second"))
    return body + "<br>" * (tags - body.count("<"))


@pytest.mark.parametrize(("tags", "flattened"), [(5000, False), (5001, True)])
def test_only_a_page_with_many_tags_is_flattened_past_the_depth_cap(
        tags: int, flattened: bool) -> None:
    # Flattening drops the tags beyond the cap, the paragraphs' among them: their text runs on.
    text = extract_article(_deep_page(tags), "https://ex.org/").text
    assert ("prose, with words.Second" in text) is flattened
    assert text.count("\n\n") == (0 if flattened else 1)


@pytest.mark.parametrize(("html", "depth", "elements"), [
    # Tag names match regardless of case, as Unicode folds it ("İ", "ı", "ſ", Kelvin sign).
    ("<dİv><ſpan><\u212abd><ıns>", 4, 4),
    # Raw text runs to its end tag in any case; the tags inside it are text.
    ("<ſcript><div><div></ſcript><div>", 1, 2),
    ("<SCRIPT><div></script ><div>", 1, 2),
    ("<TİTLE><div></title><b>", 1, 2),
    ("<Div><DIV></dIv><p><br/><div/>", 2, 5),
])
def test_the_depth_estimate_reads_tags_regardless_of_case(
        html: str, depth: int, elements: int) -> None:
    from crawler.extract.shape import shape

    assert (shape(html).depth, shape(html).elements) == (depth, elements)
