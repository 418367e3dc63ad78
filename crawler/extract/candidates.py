"""Choosing the element that holds the article body.

Readability's idea, on the lexbor tree: every paragraph-like text block gives points to its
parent, grand-parent and a few more ancestors; elements start from a weight given by their tag
and their class/id hints; the final score is discounted by the share of link text. The best
element, joined by siblings that look like more of the same body, is the article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from selectolax.lexbor import LexborNode

from crawler.extract.dom import text_length, text_of
from crawler.extract.hints import COMMENTS, NOTICE, POSITIVE, UNLIKELY, class_id
from crawler.extract.leads import leads
from crawler.extract.prose import (
    DEPTH,
    STOP,
    Evidence,
    attached,
    density,
    most_prose,
    named_off_body,
    off_body_hint,
    widen,
    within,
)
from crawler.extract.scan import Scan

_TAG_WEIGHT = {
    "div": 5, "article": 8, "main": 3, "section": 2, "pre": 3, "td": 3, "blockquote": 3,
    "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
    "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5, "header": -5,
}
_HINT_WEIGHT = 25
# schema.org's explicit marker of the article body.
_ARTICLE_BODY_BONUS = 60
_MIN_PARAGRAPH = 25
_LEVELS = 5
# A block's points go in full to its parent, half to the grand-parent, then less and less.
_DIVIDERS = (1, 2, 6, 9, 12)
_HALF_POINTS = frozenset({"h2", "h3", "td"})
_TOP_N = 5
# A candidate outside a dialog or notice replaces it with this share of its points.
_SECOND_SHARE = 0.2
_NOTICE_LEVELS = 4
_SENTENCE_END = re.compile(r"[.!?。！？](?:\s|$)")


@dataclass(frozen=True, slots=True)
class Choice:
    nodes: tuple[LexborNode, ...]
    score: float
    thread: bool = False
    """The body is a comment thread (a forum or live commentary page): keep its posts."""
    prose: int = 0
    """Characters of qualifying text blocks inside the chosen body."""
    page_prose: int = 0
    """The same on the whole page, outside comment threads."""
    inks: Mapping[int, int] = field(default_factory=dict)
    """Ink of the elements measured while choosing (by `mem_id`), valid until the tree
    changes: the cleaning of the body needs the body's total again."""


@lru_cache(maxsize=8192)
def _weight(tag: str, hint: str, itemprop: str) -> float:
    # Pure in its arguments, and templates repeat the same few boxes: cached, the regexes run
    # once per distinct class/id instead of once per element.
    weight = float(_TAG_WEIGHT.get(tag, 0))
    if hint:
        if UNLIKELY.search(hint):
            weight -= _HINT_WEIGHT
        if POSITIVE.search(hint):
            weight += _HINT_WEIGHT
    if "articlebody" in itemprop or "articletext" in itemprop:
        weight += _ARTICLE_BODY_BONUS
    return weight


def _paragraphs(found: Scan) -> list[tuple[LexborNode, str, bool]]:
    """Text blocks and whether each scores its own element (bare text inside a container)
    or only its ancestors (a <p>)."""
    blocks: list[tuple[LexborNode, str, bool]] = []
    for node in found.paragraphs:
        blocks.append((node, text_of(node), False))
    # Text typed straight into a container, between <br>s: the "div soup" of older blogs.
    for node in found.containers:
        own = node.text(deep=False, separator="", strip=False)
        if len(own) >= _MIN_PARAGRAPH and not own.isspace():
            blocks.append((node, own, True))
    return blocks


def choose(found: Scan) -> Choice | None:
    """The body element(s) in document order, or None when no text block qualifies.

    Call after the junk was detached: blocks inside detached subtrees score only there, and
    those subtrees are never chosen."""
    seen = _gather(found)
    scores, nodes = seen.scores, seen.nodes
    if not scores:
        return None
    ordered = sorted(scores, key=scores.__getitem__, reverse=True)
    # A comment thread can hold more prose than the post it follows: it is the body only when
    # nothing outside a thread qualifies (a forum or a live commentary page).
    outside = [k for k in ordered if k not in seen.in_thread]
    ranked = [k for k in (outside or ordered)[: _TOP_N * 2] if attached(nodes[k])][:_TOP_N]
    if not ranked:
        return None
    best, top_score = _best(ranked, seen)
    best = most_prose(best, seen)
    if _in_notice(nodes[best]):
        best = _next_in_body(best, scores.get(best, top_score), outside or ordered, scores,
                             nodes)
    top = _climb(nodes[best], top_score, scores)
    top = widen(top, seen)
    picked = _with_siblings(top, scores.get(top.mem_id, top_score), seen)
    held = sum(seen.prose.get(node.mem_id, 0) for node in picked)
    return Choice(nodes=tuple(leads(picked, found) + picked), score=top_score,
                  thread=not outside, prose=held, page_prose=seen.total, inks=seen.inks)


def _commas(text: str) -> int:
    """Commas and their CJK and Arabic cousins: more clauses, more prose. Four counts are far
    cheaper than a character-class regex over every paragraph."""
    count = text.count(",")
    if not text.isascii():
        count += text.count("，") + text.count("、") + text.count("،")
    return count


def _next_in_body(best: int, best_score: float, ordered: list[int],
                  scores: dict[int, float], nodes: dict[int, LexborNode]) -> int:
    """The best-scored candidate outside any box laid over the page (a dialog, a notice),
    when it has a fair share of the points; else `best` stays."""
    floor = best_score * _SECOND_SHARE
    for key in ordered[: _TOP_N * 4]:
        if scores[key] < floor:
            break
        node = nodes[key]
        if key != best and attached(node) and not _in_notice(node):
            return key
    return best


def _in_notice(node: LexborNode) -> bool:
    """Inside a dialog, pop-up, lightbox or consent notice: boxes laid over the page."""
    return within(node, _NOTICE_LEVELS, _notice)


def _notice(node: LexborNode) -> bool:
    return node.tag == "dialog" or _is_notice(class_id(node.attributes))


@lru_cache(maxsize=8192)
def _is_notice(hint: str) -> bool:
    return bool(hint) and NOTICE.search(hint) is not None


def _gather(found: Scan) -> Evidence:
    seen = Evidence(scores={}, nodes={}, prose={}, in_thread=set(), weights={}, lineage={},
                    named_off=set())
    # Sibling paragraphs share their ancestors: their points and lengths are summed per start
    # element first, then each start's chain is walked once.
    starts: dict[int, LexborNode] = {}
    points_at: dict[int, float] = {}
    prose_at: dict[int, int] = {}
    for para, text, self_scoring in _paragraphs(found):
        # Collapsing white space never lengthens a text: a short one needs no split.
        if len(text) < _MIN_PARAGRAPH:
            continue
        length = len(" ".join(text.split()))
        if length < _MIN_PARAGRAPH:
            continue
        points = float(1 + _commas(text) + min(length // 100, 3))
        if para.tag in _HALF_POINTS:
            points *= 0.5
        start = para if self_scoring else para.parent
        if start is None:
            continue
        key = start.mem_id
        if key not in starts:
            starts[key] = start
            points_at[key] = points
            prose_at[key] = length
        else:
            points_at[key] += points
            prose_at[key] += length
    scores, prose = seen.scores, seen.prose
    for key, start in starts.items():
        chain, ancestry = _chain(start, seen, seen.lineage)
        points = points_at[key]
        for level, node_key in enumerate(chain):
            scores[node_key] += points / _DIVIDERS[level]
        length = prose_at[key]
        if ancestry:
            seen.total += length
        for node_key in ancestry:
            prose[node_key] = prose.get(node_key, 0) + length
    return seen


def _best(ranked: list[int], seen: Evidence) -> tuple[int, float]:
    """The candidate with the highest score discounted by link density, and that final score;
    the first in `ranked` order on a tie (as `max` would pick).

    Link density costs a text and an anchor query per candidate, so stop as soon as no later
    candidate can win: a final score lies between the raw score and 0, and `ranked` is sorted by
    raw score, so once the best final reaches max(raw, 0) the rest can at most tie."""
    scores, nodes = seen.scores, seen.nodes
    best = ranked[0]
    top_score = scores[best] * (1 - density(nodes[best], seen))
    for key in ranked[1:]:
        score = scores[key]
        if max(score, 0.0) <= top_score:
            break
        final = score * (1 - density(nodes[key], seen))
        if final > top_score:
            best, top_score = key, final
    return best, top_score


def _chain(start: LexborNode, seen: Evidence,
           lineage: dict[int, tuple[tuple[int, ...], bool]]) -> tuple[list[int], list[int]]:
    """Up to `_LEVELS` ancestors from `start` (included), registered as candidates, and up to
    `DEPTH` of them for the undecayed prose sums (none when `start` sits in a comment thread:
    a thread's text is no evidence that the post around it goes on)."""
    ancestry, threaded = _lineage(start, seen, lineage)
    scores, weights = seen.scores, seen.weights
    chain = list(ancestry[:_LEVELS])
    for key in chain:
        if key not in scores:
            scores[key] = weights[key]
    return chain, [] if threaded else list(ancestry)


def _lineage(start: LexborNode, seen: Evidence,
             lineage: dict[int, tuple[tuple[int, ...], bool]]) -> tuple[tuple[int, ...], bool]:
    """`start` and its ancestors (at most `DEPTH`), and whether one of them is a comment
    thread. Paragraphs share most of their ancestors, so each element is looked at once: the
    walk stops at the first element already known and builds on what is known of it."""
    path: list[tuple[LexborNode, int, str]] = []
    node: LexborNode | None = start
    known: tuple[tuple[int, ...], bool] = ((), False)
    while node is not None and len(path) < DEPTH:
        tag = node.tag
        if tag in STOP:
            break
        key = node.mem_id
        hit = lineage.get(key)
        if hit is not None:
            known = hit
            break
        path.append((node, key, tag or ""))
        node = node.parent
    ancestry, threaded = known
    weights, named_off, nodes, in_thread = seen.weights, seen.named_off, seen.nodes, seen.in_thread
    for node, key, tag in reversed(path):
        # One attribute read per element: selectolax builds a new dict on every `.attributes`.
        attrs = node.attributes
        hint = class_id(attrs)
        weights[key] = _weight(tag, hint, (attrs.get("itemprop") or "").lower())
        threaded = threaded or _is_thread(hint)
        if tag == "aside" or off_body_hint(hint):
            named_off.add(key)
        ancestry = (key, *ancestry[: DEPTH - 1])
        lineage[key] = (ancestry, threaded)
        nodes.setdefault(key, node)
        if threaded:
            in_thread.add(key)
    return ancestry, threaded


@lru_cache(maxsize=8192)
def _is_thread(hint: str) -> bool:
    return bool(hint) and COMMENTS.search(hint) is not None and not _is_body_hint(hint)


def _is_body_hint(hint: str) -> bool:
    # "post-content has-comments": a body that mentions its thread.
    return any(word in hint for word in ("article-body", "post-body", "entry-content"))


def _climb(top: LexborNode, top_score: float, scores: dict[int, float]) -> LexborNode:
    """Move up from a wrapper that is its parent's only child, or to an ancestor that scores
    higher (the body split into several boxes by ads)."""
    node = top
    threshold = top_score / 3
    last = top_score
    parent = node.parent
    while parent is not None and parent.tag not in STOP:
        score = scores.get(parent.mem_id)
        if score is None:
            parent = parent.parent
            continue
        if score < threshold:
            break
        if score > last:
            node = parent
            break
        last = score
        parent = parent.parent
    parent = node.parent
    while parent is not None and parent.tag not in STOP and _only_child(node):
        node = parent
        parent = node.parent
    return node


def _only_child(node: LexborNode) -> bool:
    parent = node.parent
    if parent is None:
        return False
    children = parent.iter(include_text=False)
    next(children, None)
    return next(children, None) is None


def _with_siblings(top: LexborNode, top_score: float, seen: Evidence) -> list[LexborNode]:
    parent = top.parent
    # <body> is a fine parent here: a feed entry's lead often sits beside the body's <div>.
    if parent is None or parent.tag in ("html", "-undef", "#document"):
        return [top]
    scores = seen.scores
    threshold = max(10.0, top_score * 0.2)
    top_class = top.attributes.get("class") or ""
    picked: list[LexborNode] = []
    for sibling in parent.iter(include_text=False):
        if sibling.mem_id == top.mem_id:
            picked.append(sibling)
            continue
        if named_off_body(sibling):
            continue
        bonus = top_score * 0.2 if top_class and sibling.attributes.get("class") == top_class else 0
        score = scores.get(sibling.mem_id)
        if (
            score is not None
            and score + bonus >= threshold
            and score * (1 - density(sibling, seen)) + bonus >= threshold
        ):
            picked.append(sibling)
        elif sibling.tag == "p":
            length = text_length(sibling)
            links = density(sibling, seen)
            if (length > 80 and links < 0.25) or (
                0 < length <= 80 and links == 0 and _SENTENCE_END.search(text_of(sibling))
            ):
                picked.append(sibling)
    return picked
