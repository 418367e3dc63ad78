"""The standfirst when the template keeps it outside the body box.

Two shapes: an element beside the body whose class says lead/standfirst, and prose paragraphs
that sit between the headline and the body in another container (a hero or header box).
"""

from __future__ import annotations

from functools import lru_cache

from selectolax.lexbor import LexborNode

from crawler.extract.dom import ends_sentence, ink, link_density, text_length, text_of
from crawler.extract.hints import LEAD, NEGATIVE, class_id
from crawler.extract.prose import ancestors, attached
from crawler.extract.scan import Scan

# A standfirst is a sentence or a short paragraph.
_MIN_LEAD = 30
_MAX_LEAD = 700
_LEAD_SIBLINGS = 3
# Between the headline and the body: at most this many paragraphs, each a sentence of at least
# this length with at most this share of link text, looked for this far up from each.
_BETWEEN_MAX = 2
_BETWEEN_MIN = 60
_BETWEEN_LINKS = 0.2
_HINT_LEVELS = 3
_BETWEEN_SCAN = 40
# Characters of other text a standfirst's box may hold (a stray label, a space).
_BOX_SLACK = 10
# The standfirst and the body meet within this many levels above each.
_NEAR_LEVELS = 6


def leads(picked: list[LexborNode], found: Scan) -> list[LexborNode]:
    """Lead elements to put before `picked` (the body), in document order."""
    named = _named_leads(picked)
    between = [node for node in _between_headline_and_body(picked, found)
               if not any(_contains(lead, node) for lead in named)]
    if named or between:
        return named + between
    return _standfirst_before(picked)


def _named_leads(picked: list[LexborNode]) -> list[LexborNode]:
    """An element among the preceding siblings whose class says lead/standfirst."""
    out: list[LexborNode] = []
    sibling = picked[0].prev
    seen = 0
    while sibling is not None and seen < _LEAD_SIBLINGS:
        if sibling.is_element_node:
            seen += 1
            for node in (sibling, *sibling.css("[class],[id],[itemprop]")):
                attrs = node.attributes
                hint = f"{class_id(attrs)} {(attrs.get('itemprop') or '').lower()}"
                if _is_lead(hint) and _MIN_LEAD <= text_length(node) <= _MAX_LEAD:
                    out.insert(0, node)
                    break
        sibling = sibling.prev
    return out


def _standfirst_before(picked: list[LexborNode]) -> list[LexborNode]:
    """The box right before the body when its only text is one prose paragraph: a standfirst
    set apart from the body (a hero or intro box) on a page without a headline element."""
    sibling = picked[0].prev
    while sibling is not None and not sibling.is_element_node:
        sibling = sibling.prev
    if sibling is None:
        return []
    para = sibling if sibling.tag == "p" else None
    if para is None:
        found = sibling.css("p")
        if len(found) != 1:
            return []
        para = found[0]
        # Nothing else in the box: a heading or a link list beside it makes it something else.
        if ink(text_of(sibling)) > ink(text_of(para)) + _BOX_SLACK:
            return []
    return [sibling] if _standfirst(para) else []


def _between_headline_and_body(picked: list[LexborNode], found: Scan) -> list[LexborNode]:
    """Prose paragraphs after the page's first headline and before the body's first paragraph,
    outside the body: the standfirst in a hero or header box."""
    if not found.h1_at:
        return []
    body = {node.mem_id for node in picked}
    start = found.h1_at[0]
    if _inside(found.h1s[0], body):
        return []
    candidates: list[LexborNode] = []
    # Bounded: each step walks up the tree, and a hostile page may hold thousands of blocks
    # between a headline and anything else.
    for para in found.paragraphs[start : start + _BETWEEN_SCAN]:
        if para.tag != "p" or not attached(para):
            continue
        if _inside(para, body):
            break
        candidates.append(para)
    else:
        return []  # the body starts before the headline, or too far after it
    near = ancestors(picked[0], _NEAR_LEVELS)
    return [para for para in candidates[-_BETWEEN_MAX:]
            if _standfirst(para) and _shares_ancestor(para, near)]


def _shares_ancestor(node: LexborNode, ids: set[int]) -> bool:
    """`node` lies within a few levels of one of `ids`: the same article box as the body, not
    a promotion in the page's header."""
    current = node.parent
    for _ in range(_NEAR_LEVELS):
        if current is None:
            return False
        if current.mem_id in ids:
            return True
        current = current.parent
    return False


def _standfirst(para: LexborNode) -> bool:
    text = " ".join(text_of(para).split())
    if not _BETWEEN_MIN <= len(text) <= _MAX_LEAD or not ends_sentence(text):
        return False
    if link_density(para) > _BETWEEN_LINKS:
        return False
    node: LexborNode | None = para
    for _ in range(_HINT_LEVELS):
        if node is None:
            break
        hint = class_id(node.attributes)
        if hint and _boilerplate(hint) and not _is_lead(hint):
            return False
        node = node.parent
    return True


def _inside(node: LexborNode, ids: set[int]) -> bool:
    current: LexborNode | None = node
    while current is not None:
        if current.mem_id in ids:
            return True
        current = current.parent
    return False


def _contains(outer: LexborNode, node: LexborNode) -> bool:
    return _inside(node, {outer.mem_id})


@lru_cache(maxsize=8192)
def _is_lead(hint: str) -> bool:
    return LEAD.search(hint) is not None


@lru_cache(maxsize=8192)
def _boilerplate(hint: str) -> bool:
    return NEGATIVE.search(hint) is not None
