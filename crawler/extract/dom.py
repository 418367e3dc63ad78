"""Small helpers over the lexbor tree: text measures and block-aware text rendering.

Nodes are only ever detached (`remove()`), never destroyed: lexbor frees destroyed memory at
once, and a node object obtained before its ancestor was destroyed would then point at freed
memory. Detached nodes live until the whole document is freed, so this is safe and still flat.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from crawler.textnorm import normalize_line

# A private-use character marks block boundaries while the text is flattened; it never occurs in
# real text worth keeping, and any stray one in the page is dropped with the boundaries.
_BREAK = "\ue000"
BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "thead", "tfoot", "tr", "ul", "caption",
)
_BLOCKS = frozenset(BLOCK_TAGS)
# Ends the text of a heading while the text is flattened, so that headings left with nothing
# under them can be told apart afterwards (see `drop_orphan_headings`).
HEADING_MARK = "\ue001"
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Table cells are separated by a space, not a paragraph: a row of figures reads as one line.
_CELLS = frozenset({"td", "th"})


# The same folding as the content hash's, so extracted text is already in its final form.
fold_text = normalize_line


def text_of(node: LexborNode) -> str:
    return node.text(deep=True, separator="", strip=False)


def text_length(node: LexborNode) -> int:
    """Characters of text, white space runs counted once (what a reader sees)."""
    return len(" ".join(text_of(node).split()))


def ink(text: str) -> int:
    """Characters that are not white space: a cheaper measure than `text_length` for ratios."""
    # Counting costs a pass over the text each; `in` is far cheaper for the rare characters.
    count = len(text) - text.count(" ") - text.count("\n")
    if "\t" in text:
        count -= text.count("\t")
    if "\r" in text:
        count -= text.count("\r")
    return count


def link_length(node: LexborNode) -> int:
    """Ink of the link text inside `node`."""
    # Ink is additive: one count over the joined text instead of four per anchor.
    return ink("".join([text_of(a) for a in node.css("a")]))


def link_density(node: LexborNode) -> float:
    """Share of the text of `node` that is link text, 0 for an empty node."""
    total = ink(text_of(node))
    if total == 0:
        return 0.0
    return min(1.0, link_length(node) / total)


def detach(node: LexborNode) -> None:
    node.remove()


def render(nodes: list[LexborNode]) -> list[str]:
    """The text of `nodes` as paragraphs: one per block element (and per `<br>`), normalized,
    empty ones dropped; a heading's paragraph ends with `HEADING_MARK`. Marks the tree: call
    it last."""
    out: list[str] = []
    for node in nodes:
        for child in node.traverse(include_text=False):
            tag = child.tag
            if tag in _BLOCKS:
                child.insert_before(_BREAK)
                child.insert_after(_BREAK)
                if tag in _HEADINGS:
                    child.insert_child(HEADING_MARK)
            elif tag == "br":
                child.insert_after(_BREAK)
            elif tag in _CELLS:
                child.insert_after(" ")
        # Normalizing the whole text once equals normalizing each part: `_BREAK` is a starter
        # that composes with nothing (NFC cannot reach across it) and is not white space, so
        # folding only leaves a single space on either side of it, which `strip` removes.
        for part in fold_text(text_of(node)).split(_BREAK):
            line = part.strip(" ")
            if line:
                out.append(line)
    return out


def drop_orphan_headings(paragraphs: list[str]) -> list[str]:
    """Remove headings whose section is gone (a "Related articles" title above a list the
    cleaning removed): a heading followed by another heading or by nothing, and last lines
    that only announce something with a colon. Strips the heading marks."""
    kept: list[tuple[str, bool]] = []  # reversed, with "is a heading"
    for para in reversed(paragraphs):
        heading = para.endswith(HEADING_MARK)
        if heading:
            para = para[: -len(HEADING_MARK)].rstrip(" ")
            # A paragraph marked up as a heading is still a paragraph.
            heading = len(para) <= _HEADING_MAX
            if not para or (heading and (not kept or kept[-1][1])):
                continue
        elif not kept and para.endswith((":", "：")) and len(para) <= _ANNOUNCE_MAX:
            continue
        kept.append((para, heading))
    kept.reverse()
    out = [para for para, _ in kept]
    # Short labels after the last sentence ("Contact", "Topics: Economy", "More tours") are the
    # page's furniture under the article, not its end.
    # A longer run of short lines is a list that ends the article (results, ingredients).
    run = 0
    while (run < len(out) - 1 and len(out[-1 - run]) < _TAIL_LABEL
           and not _ENDS_SENTENCE.search(out[-1 - run])):
        run += 1
    if 0 < run <= _TAIL_LABELS:
        del out[-run:]
    # The same above the first sentence: a category, a kicker, a date line; not a heading.
    run = 0
    while (run < len(out) - 1 and len(out[run]) < _TAIL_LABEL and not kept[run][1]
           and not _ENDS_SENTENCE.search(out[run])):
        run += 1
    if 0 < run <= _TAIL_LABELS:
        del out[:run]
    return out


# Longer than this, a "heading" is prose set in a heading tag.
_HEADING_MAX = 150
_FULL_STOPS = frozenset(".!?。！？…")
_CLOSERS = "\"'»”’)] \n\t\r"


def ends_sentence(text: str) -> bool:
    """`text` ends with a full stop, maybe followed by closing quotes or brackets."""
    end = text.rstrip(_CLOSERS)
    return bool(end) and end[-1] in _FULL_STOPS


# A trailing line shorter than this, without a full stop, is a label.
_TAIL_LABEL = 40
_TAIL_LABELS = 3
_ENDS_SENTENCE = re.compile(r"[.!?。！？…)\]\"'»”’]\s*$")
# A line that only announces what follows ("More on this topic:") is short.
_ANNOUNCE_MAX = 120
