"""Article extraction: headline, body text and canonical URL from one HTML page or feed entry.

Pure and deterministic: the same HTML always gives the same result, and the result leaves out
what changes between two fetches of an unchanged article (dates, counters, ads, related lists),
because its hash decides whether an edit is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.candidates import Choice, choose
from crawler.extract.canonical import canonical_url
from crawler.extract.cleaning import clean_body, clean_ruled, preclean
from crawler.extract.confidence import confidence
from crawler.extract.dom import HEADING_MARK, drop_orphan_headings, ink, render, text_of
from crawler.extract.headline import headline
from crawler.extract.hints import (
    COMMENT_PROMPT_MAX,
    CREDIT_MAX,
    CREDIT_TAIL,
    READ_ALSO,
    READ_ALSO_MAX,
    comment_prompt,
    volatile,
)
from crawler.extract.jsonld import article_body
from crawler.extract.scan import scan
from crawler.extract.shape import flatten, shape
from crawler.models import SiteRules
from crawler.textnorm import normalize_line, normalize_text

__all__ = ["ExtractedArticle", "SiteRules", "extract_article"]


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    title: str
    """The headline, without the site's name; empty when the page names none."""
    text: str
    """The article body (lead included, boilerplate excluded), paragraphs separated by a blank
    line; empty when nothing looks like an article. Already as `textnorm.normalize_text`
    leaves a text (so `make_content(..., normalized=True)` may hash it as it is)."""
    canonical_url: str | None
    """Absolute URL from <link rel=canonical>, else og:url; None if the page declares neither."""
    fallback: str = ""
    """Empty when the body was found the ordinary way; else why a fallback gave the text
    ("cleaned_away": the cleaning emptied the chosen block, which is kept uncleaned;
    "description": the page has no text block, its og:description is kept) or why there is
    none ("no_text")."""
    confidence: float = 0.0
    """How sure the extraction is that `text` is the page's article, 0 to 1 (see
    `crawler.extract.confidence`): low when much of the page's prose lies outside the chosen
    body, when the body is short, or when a fallback gave the text."""


# Below this many tags even a page nested all the way parses in ~40 ms.
_SHAPE_SCAN_TAGS = 5_000

_EMPTY = ExtractedArticle(title="", text="", canonical_url=None)


def extract_article(html: str, url: str, rules: SiteRules | None = None, *,
                    utf8: bytes | None = None) -> ExtractedArticle:
    """Extract the article from a page or an HTML fragment (a full-content feed entry).

    `rules` (the operator's per-site selectors) win when configured and matching. `utf8`,
    when given, must be `html.encode("utf-8")` (`crawler.fetch.charset.decode_html_utf8`
    gives a page's own bytes when they are): it spares encoding the text again. Never
    raises: on input it cannot make sense of, returns empty title and text.
    """
    try:
        return _extract(html, url, rules, utf8)
    except Exception:
        return _EMPTY


def _extract(html: str, url: str, rules: SiteRules | None,
             utf8: bytes | None) -> ExtractedArticle:
    if not isinstance(html, str) or not html or html.isspace():
        return _EMPTY
    # lexbor parses UTF-8: encoded once here rather than by the parser on each attempt. The
    # scans below are also far cheaper on the bytes than on a str of wide characters.
    data = html.encode("utf-8") if utf8 is None else utf8
    if b"\x00" in data:
        # NUL is not text in any page; lexbor would keep it as U+FFFD.
        html = html.replace("\x00", "")
        data = html.encode("utf-8")
    # Parsing time grows with elements x depth; only a page with many tags can be deep
    # enough to matter, and the scan is skipped for the rest (see `shape`).
    if _more_tags_than(data, _SHAPE_SCAN_TAGS) and shape(html).too_deep():
        data = flatten(html).encode("utf-8")
    article = _attempt(data, url, rules, clean=True)
    if article.text or rules is not None:
        return article
    # Never silently empty: the page is parsed again (cleaning and rendering mark the tree)
    # and the chosen block is kept as it stands.
    retry = _attempt(data, url, rules, clean=False)
    if retry.text:
        return retry
    return ExtractedArticle(title=article.title, text="", canonical_url=article.canonical_url,
                            fallback="no_text", confidence=0.0)


def _more_tags_than(data: bytes, limit: int) -> bool:
    """More than `limit` tags (counted as `<`) in `data`. `bytes.count` of one byte steps
    through every byte; deleting at most `limit + 1` of them finds each with `memchr`, a
    quarter of the cost on a page of average density."""
    return len(data) - len(data.replace(b"<", b"", limit + 1)) > limit


def _attempt(data: bytes, url: str, rules: SiteRules | None, *, clean: bool) -> ExtractedArticle:
    tree = LexborHTMLParser(data)
    found = scan(tree)
    # Both read the <meta> attributes, and selectolax builds a new dict on every `.attributes`.
    metas = [meta.attributes for meta in found.metas]
    canonical = canonical_url(found.links, metas, url)
    title = headline(metas, found.h1s, found.titles)
    structured = article_body(found.scripts)
    preclean(tree, found.junk, asides=bool(found.asides))
    nodes = _ruled_nodes(tree, rules)
    fallback = "" if clean else "cleaned_away"
    choice: Choice | None = None
    ruled = nodes is not None
    if nodes is None:
        choice = choose(found)
        thread = False
        if choice is not None:
            nodes = list(choice.nodes)
            thread = choice.thread
        elif tree.body is not None:
            # A feed entry's fragment, or a page of bare paragraphs: the body is the block.
            nodes = [tree.body]
        else:
            nodes = []
        measured = choice.inks if choice is not None else {}
        for node in nodes:
            if clean:
                total = measured.get(node.mem_id)
                clean_body(node, ink(text_of(node)) if total is None else total, thread=thread)
            else:
                clean_ruled(node, ())
    paragraphs = drop_orphan_headings(_keep(render(nodes), title))
    text = "\n\n".join(paragraphs)
    sure = _RULED_CONFIDENCE if ruled else -1.0
    if _prefer_structured(text, structured):
        text = "\n\n".join(_keep(normalize_text(structured).split("\n\n"), title))
        fallback = ""
        sure = _STRUCTURED_CONFIDENCE
    if not text and not clean:
        # A page whose only text is drawn by script (a video or gallery page): its own
        # summary is what a reader is shown.
        summary = _keep([normalize_line(_description(metas))], title)
        text = summary[0] if summary else ""
        fallback = "description"
    fallback = fallback if text else ""
    if sure < 0 or not text:
        sure = confidence(choice, text, fallback)
    return ExtractedArticle(title=title, text=text, canonical_url=canonical,
                            fallback=fallback, confidence=sure)


def _description(metas: list[dict[str, str | None]]) -> str:
    """The page's og:description or description, when it is long enough to be a summary."""
    for key in ("og:description", "description", "twitter:description"):
        for attrs in metas:
            if (attrs.get("property") or attrs.get("name") or "").lower() == key:
                content = attrs.get("content") or ""
                if len(content) >= _MIN_DESCRIPTION:
                    return content
    return ""


_MIN_DESCRIPTION = 80
# The operator's selectors chose the body; the publisher's JSON-LD articleBody gave the text.
_RULED_CONFIDENCE = 1.0
_STRUCTURED_CONFIDENCE = 0.9


def _ruled_nodes(tree: LexborHTMLParser, rules: SiteRules | None) -> list[LexborNode] | None:
    """The operator's body selection, cleaned of their ignore list; None when no rule applies
    (or the selector matches nothing on this page), so the heuristics take over."""
    if rules is None:
        return None
    clean_ruled(tree, rules.ignore)
    if not rules.content:
        return None
    try:
        nodes = tree.css(rules.content)
    except Exception:
        return None
    if not nodes:
        return None
    # A selector may match an element and its descendant: keep the outermost only.
    ids = {n.mem_id for n in nodes}
    outer = [n for n in nodes if not _has_ancestor_in(n, ids)]
    for node in outer:
        clean_ruled(node, ())
    return outer


def _has_ancestor_in(node: LexborNode, ids: set[int]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


def _keep(paragraphs: list[str], title: str) -> list[str]:
    """Drop the headline repeated in the body, date/counter lines and "read also" lines."""
    key = normalize_line(title).casefold()
    out: list[str] = []
    for para in paragraphs:
        # Case folding never shortens a text: a longer line cannot be the headline.
        if key and len(para) <= len(key) + len(HEADING_MARK) + 1 and (
                para.removesuffix(HEADING_MARK).rstrip(" ").casefold() == key):
            continue
        if volatile(para):
            continue
        if len(para) <= READ_ALSO_MAX and READ_ALSO.match(para):
            continue
        if len(para) <= CREDIT_MAX and _credit(para):
            continue
        if (len(para) <= COMMENT_PROMPT_MAX and not para.endswith(".")
                and comment_prompt(para)):
            continue
        out.append(para)
    return out


def _credit(line: str) -> bool:
    """CREDIT_TAIL is found in `line`. Its matches start at the start of the line or at one
    of "/©|": without those in the line only the start needs trying."""
    if "/" in line or "|" in line or "©" in line:
        return CREDIT_TAIL.search(line)
    return CREDIT_TAIL.match(line)


def _prefer_structured(text: str, structured: str) -> bool:
    """JSON-LD articleBody when the page's DOM gave clearly less of it."""
    if len(structured) < 200:
        return False
    return len(text) < 0.5 * len(structured)
