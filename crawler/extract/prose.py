"""Evidence from undecayed prose: how many characters of real paragraphs each element holds.

Readability's decaying points (candidates.py) find the densest box; these sums find how far the
body reaches and overrule the points when a body spread over many small boxes lost to one
dense box elsewhere. Class/id names only veto (a sidebar, a notice, a thread is never the
body), they never add points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from selectolax.lexbor import LexborNode

from crawler.extract.dom import ink, link_length, text_of
from crawler.extract.hints import OFF_BODY, class_id

STOP = frozenset({"html", "body", "-undef", "-document", "#document"})
# Undecayed prose sums go this far up (bounded: a hostile page may nest without end).
DEPTH = 40
# Widening: how far up, the share of the extra text that must be prose, the link share
# allowed in the wider element.
_WIDEN_LEVELS = 3
_WIDEN_PROSE = 0.75
_WIDEN_LINKS = 0.25
# Net prose: weights of other text and link text, and how much more a rival must have.
_NET_OTHER = 1.0
_NET_LINKS = 1.0
_NET_MARGIN = 1.5
# Against a choice inside a sidebar or a notice, a rival needs only this share of its prose.
_SUSPECT_SHARE = 0.25
_OFF_BODY_LEVELS = 4
# How many of the elements with the most prose are weighed as rivals.
_RIVALS = 5


@dataclass(slots=True)
class Evidence:
    """What the text blocks say about each of their ancestors."""

    scores: dict[int, float]
    """Readability points, decaying with the distance to the block."""
    nodes: dict[int, LexborNode]
    prose: dict[int, int]
    """Characters of qualifying text blocks anywhere below, not decayed (for widening)."""
    in_thread: set[int]
    """Elements inside a comment thread (by the class/id of an ancestor)."""
    weights: dict[int, float]
    """Each element's start weight from its tag and class/id (read once per element)."""
    lineage: dict[int, tuple[tuple[int, ...], bool]]
    """Each element's ancestors (itself first, at most `DEPTH`) and whether one is a thread."""
    named_off: set[int]
    """Elements named as not the body (`named_off_body`)."""
    total: int = 0
    """Characters of qualifying text blocks on the whole page, outside comment threads."""
    inks: dict[int, int] = field(default_factory=dict)
    """Ink of the elements measured so far (`ink_of`)."""
    links: dict[int, int] = field(default_factory=dict)
    """Link ink of the elements measured so far (`links_of`)."""


# The choice weighs the same few large elements several times (best candidate, rivals, the
# wider elements around it, then the cleaning's total): each is measured once, which is sound
# as long as the tree does not change, i.e. until the cleaning starts.
def ink_of(node: LexborNode, seen: Evidence) -> int:
    """`ink` of the text of `node`, measured once per element."""
    key = node.mem_id
    found = seen.inks.get(key)
    if found is None:
        found = seen.inks[key] = ink(text_of(node))
    return found


def links_of(node: LexborNode, seen: Evidence) -> int:
    """`link_length` of `node`, measured once per element."""
    key = node.mem_id
    found = seen.links.get(key)
    if found is None:
        found = seen.links[key] = link_length(node)
    return found


def density(node: LexborNode, seen: Evidence) -> float:
    """`link_density` of `node` from the measures of `seen`."""
    total = ink_of(node, seen)
    if total == 0:
        return 0.0
    return min(1.0, links_of(node, seen) / total)


def net_prose(node: LexborNode, prose: int, seen: Evidence) -> float:
    """Prose characters less everything else in the element (menus, link lists, labels)."""
    total = ink_of(node, seen)
    links = links_of(node, seen)
    return prose - _NET_OTHER * max(0, total - prose) - _NET_LINKS * links


def most_prose(best: int, seen: Evidence) -> int:
    """The best-scored candidate, or a candidate with clearly more net prose: readability's
    decaying points undervalue a body whose paragraphs sit each in a box of its own. When the
    best-scored one lies in a region named as not the body (a sidebar, a notice), a rival
    outside it with a fair share of its prose wins."""
    prose, nodes = seen.prose, seen.nodes
    if not prose:
        return best
    best_node = nodes[best]
    top = net_prose(best_node, prose.get(best, 0), seen)
    suspect = off_body(best_node)
    around = ancestors(best_node) if suspect else set()
    by_prose = [k for k in sorted(prose, key=prose.__getitem__, reverse=True)
                if k not in seen.in_thread][:_RIVALS]
    winner, winner_net = best, top
    needed = _SUSPECT_SHARE * top if suspect else _NET_MARGIN * max(top, 0.0) + 1
    for key in by_prose:
        # Net prose never exceeds prose: most rivals are out before any text is measured.
        if prose[key] <= needed or (winner != best and prose[key] <= winner_net):
            continue
        node = nodes[key]
        if key == best or key in around or not attached(node) or off_body(node):
            continue
        # A wrapper of the body and a sidebar: the sidebar's prose is not the wrapper's merit.
        net = net_prose(node, prose[key] - sidebar_prose(key, seen, best), seen)
        if net > needed and (winner == best or net > winner_net):
            winner, winner_net = key, net
    return winner


def sidebar_prose(key: int, seen: Evidence, body: int) -> int:
    """Prose inside element `key` that sits in regions named as not the body (the outermost
    such regions, so nothing counts twice), other than regions holding the candidate `body`:
    a sidebar beside the article is no sign that the article goes on, but a layout box named
    "with-sidebar" around it says nothing."""
    total = 0
    around = seen.lineage[body][0] if body in seen.lineage else (body,)
    for region in seen.named_off:
        ancestry = seen.lineage[region][0]
        if key not in ancestry[1:] or region in around:
            continue
        below = ancestry[1 : ancestry.index(key)]
        if not any(other in seen.named_off for other in below):
            total += seen.prose.get(region, 0)
    return total


def named_off_body(node: LexborNode) -> bool:
    if node.tag == "aside":
        return True
    return off_body_hint(class_id(node.attributes))


@lru_cache(maxsize=8192)
def off_body_hint(hint: str) -> bool:
    return bool(hint) and OFF_BODY.search(hint) is not None


def ancestors(node: LexborNode, levels: int = DEPTH) -> set[int]:
    """The ids of the `levels` nearest ancestors of `node`."""
    out: set[int] = set()
    parent = node.parent
    while parent is not None and len(out) < levels:
        out.add(parent.mem_id)
        parent = parent.parent
    return out


def off_body(node: LexborNode) -> bool:
    """Inside a region that is named as not the body (sidebar, notice, author box...)."""
    return within(node, _OFF_BODY_LEVELS, named_off_body)


def within(node: LexborNode, levels: int, test: Callable[[LexborNode], bool]) -> bool:
    """`test` holds for `node` or one of its `levels - 1` nearest ancestors below <body>."""
    current: LexborNode | None = node
    for _ in range(levels):
        if current is None or current.tag in STOP:
            return False
        if test(current):
            return True
        current = current.parent
    return False


def widen(top: LexborNode, seen: Evidence) -> LexborNode:
    """Move up to an ancestor whose extra text is mostly more prose: a body split across
    sibling sections or page-builder boxes, or a lead in a neighbouring container. Stops at
    the first ancestor that adds link lists, menus or other short text."""
    prose = seen.prose
    node = top
    node_prose = prose.get(node.mem_id, 0)
    if node_prose == 0:
        return top
    node_prose -= sidebar_prose(node.mem_id, seen, node.mem_id)
    node_ink = ink_of(node, seen)
    best = node
    parent = node.parent
    for _ in range(_WIDEN_LEVELS):
        if parent is None or parent.tag in STOP or parent.mem_id in seen.in_thread:
            break
        parent_prose = prose.get(parent.mem_id, 0) - sidebar_prose(parent.mem_id, seen, top.mem_id)
        gained = parent_prose - node_prose
        if gained > 0:
            parent_ink = ink_of(parent, seen)
            extra = parent_ink - node_ink
            if extra > 0 and gained < _WIDEN_PROSE * extra:
                break
            if links_of(parent, seen) > _WIDEN_LINKS * parent_ink:
                break
            best = parent
            node_prose, node_ink = parent_prose, parent_ink
        node = parent
        parent = node.parent
    return best


def attached(node: LexborNode) -> bool:
    """Still in the document (not inside something detached as junk)."""
    parent = node.parent
    while parent is not None:
        if parent.tag == "html":
            return True
        parent = parent.parent
    return False
