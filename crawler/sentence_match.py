"""Sentences of two versions matched one to one, as in NewsEdits (NAACL 2022). Pure.

Each old sentence is matched with at most one new sentence and the other way round:

1. Exact: equal sentences are matched first, in order of appearance (the n-th copy of a
   sentence in the old text with the n-th copy in the new one).
2. Similar: each old sentence still unmatched is compared with the unmatched new sentences
   that share an uncommon token with it (a word, or a character in CJK text), and with those
   standing where it stood (between the new places of its exactly matched neighbours); the
   most similar pairs, at least `SIMILAR` alike, are matched first.
3. Moves: the matched pairs that keep their relative order are the longest increasing run of
   new positions taken in old order; every other pair was moved.

A matched pair is *moved* when it is out of that order, else *edited* when its texts differ;
an unmatched old sentence was *deleted*, an unmatched new one *added*. Every sentence gets one
label, so the counts add up with the unchanged ones to the sentences of each version.

Cost: exact matching and the move search are O(n log n); similarity is computed only for
candidate pairs sharing a token that occurs in at most `_COMMON` sentences, at most
`_CANDIDATES` per sentence, so a long article with a few edits stays near linear.
"""

from __future__ import annotations

import bisect
import difflib
import heapq
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crawler.diffing import tokens

# Two sentences at least this alike are one sentence edited (NewsEdits uses a similar cut).
SIMILAR = 0.5
# A token in more sentences than this says nothing about which sentence is which.
_COMMON = 40
# Similarity is computed for at most this many candidates per unmatched sentence.
_CANDIDATES = 8


@dataclass(frozen=True, slots=True)
class SentenceCounts:
    """`changes.sentences` of an edit."""

    added: int = 0
    deleted: int = 0
    edited: int = 0
    moved: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "deleted": self.deleted, "edited": self.edited,
                "moved": self.moved}


@dataclass(frozen=True, slots=True)
class Pair:
    """Old sentence `old` (index) matched with new sentence `new`."""

    old: int
    new: int
    edited: bool
    moved: bool


@dataclass(frozen=True, slots=True)
class Matching:
    old: tuple[str, ...]
    new: tuple[str, ...]
    pairs: tuple[Pair, ...]
    """In old order."""
    deleted: tuple[int, ...]
    """Old indexes without a match."""
    added: tuple[int, ...]
    """New indexes without a match."""

    def counts(self) -> SentenceCounts:
        return SentenceCounts(
            added=len(self.added), deleted=len(self.deleted),
            edited=sum(1 for p in self.pairs if p.edited and not p.moved),
            moved=sum(1 for p in self.pairs if p.moved),
        )


def match_sentences(old: Sequence[str], new: Sequence[str]) -> Matching:
    """Match the sentences of two versions (see the module docstring)."""
    links: dict[int, int] = {}
    positions: dict[str, deque[int]] = defaultdict(deque)
    for j, sentence in enumerate(new):
        positions[sentence].append(j)
    taken: set[int] = set()
    for i, sentence in enumerate(old):
        free = positions.get(sentence)
        if free:
            j = free.popleft()
            links[i] = j
            taken.add(j)
    for i, j in _similar_pairs(old, new, links, taken):
        links[i] = j
    ordered = sorted(links.items())
    keep = _increasing(j for _, j in ordered)
    pairs = tuple(Pair(i, j, edited=old[i] != new[j], moved=k not in keep)
                  for k, (i, j) in enumerate(ordered))
    matched_new = set(links.values())
    return Matching(
        old=tuple(old), new=tuple(new), pairs=pairs,
        deleted=tuple(i for i in range(len(old)) if i not in links),
        added=tuple(j for j in range(len(new)) if j not in matched_new),
    )


def similarity(a: str, b: str) -> float:
    """How alike two sentences are, 0 to 1, over their diff tokens (words, CJK characters)."""
    return _ratio(_words(a), _words(b), 0.0)


def _words(sentence: str) -> list[str]:
    return [t for t in tokens(sentence) if not t.isspace()]


def _ratio(x: list[str], y: list[str], floor: float) -> float:
    """`similarity` of two token lists; 0 as soon as the cheap upper bounds show it is below
    `floor` (most candidate pairs of a rewritten page are)."""
    if not x and not y:
        return 1.0
    matcher = difflib.SequenceMatcher(None, x, y, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


def _keys(words: list[str]) -> set[str]:
    return {t.lower() for t in words if t.isalnum()}


def _similar_pairs(old: Sequence[str], new: Sequence[str], links: dict[int, int],
                   matched_new: set[int]) -> list[tuple[int, int]]:
    loose_old = [i for i in range(len(old)) if i not in links]
    loose_new = [j for j in range(len(new)) if j not in matched_new]
    if not loose_old or not loose_new:
        return []
    words = {j: _words(new[j]) for j in loose_new}
    index: dict[str, list[int]] = defaultdict(list)
    for j in loose_new:
        for key in _keys(words[j]):
            index[key].append(j)
    anchors = sorted(links.items())
    anchor_old = [i for i, _ in anchors]
    scored: list[tuple[float, int, int]] = []
    for i in loose_old:
        mine = _words(old[i])
        shared: dict[int, int] = defaultdict(int)
        for key in _keys(mine):
            postings = index.get(key, ())
            if len(postings) <= _COMMON:
                for j in postings:
                    shared[j] += 1
        best = [j for j, _ in heapq.nlargest(_CANDIDATES, shared.items(),
                                             key=lambda kv: (kv[1], -kv[0]))]
        best.extend(j for j in _between(i, anchors, anchor_old, loose_new) if j not in shared)
        for j in best:
            score = _ratio(mine, words[j], SIMILAR)
            if score >= SIMILAR:
                # Ties go to the nearest position, so repeated boilerplate pairs in order.
                scored.append((-score, abs(i - j), i * len(new) + j))
    scored.sort()
    out: list[tuple[int, int]] = []
    used_old: set[int] = set()
    used_new: set[int] = set()
    for _, _, pair in scored:
        i, j = divmod(pair, len(new))
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            out.append((i, j))
    return out


def _between(i: int, anchors: list[tuple[int, int]], anchor_old: list[int],
             loose_new: list[int]) -> list[int]:
    """The unmatched new sentences standing where old sentence `i` stood: between the new
    places of its nearest exactly matched neighbours (at most `_CANDIDATES`, nearest first).
    They are candidates even when they share no uncommon token with it (a sentence whose
    only distinctive word was the one edited)."""
    k = bisect.bisect_left(anchor_old, i)
    low = anchors[k - 1][1] if k else -1
    high = anchors[k][1] if k < len(anchors) else 1 << 62
    if low >= high:
        return []  # the neighbours were moved apart: no place to look at
    start = bisect.bisect_right(loose_new, low)
    stop = bisect.bisect_left(loose_new, high)
    return loose_new[start:min(stop, start + _CANDIDATES)]


def _increasing(values: Iterable[int]) -> set[int]:
    """Indexes (into `values`) of one longest strictly increasing subsequence: patience
    sorting, O(n log n)."""
    seq = list(values)
    tails: list[int] = []
    tail_at: list[int] = []
    parent = [-1] * len(seq)
    for k, value in enumerate(seq):
        slot = bisect.bisect_left(tails, value)
        if slot == len(tails):
            tails.append(value)
            tail_at.append(k)
        else:
            tails[slot] = value
            tail_at[slot] = k
        parent[k] = tail_at[slot - 1] if slot else -1
    keep: set[int] = set()
    k = tail_at[-1] if tail_at else -1
    while k != -1:
        keep.add(k)
        k = parent[k]
    return keep
