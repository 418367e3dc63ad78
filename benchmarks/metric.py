"""The article-extraction benchmark's metric, exactly as its README defines it.

Tokens are `\\w+` matches (Unicode, case-sensitive); texts are compared as multisets of
4-token shingles; each page's TP/FP/FN are normalized so that every page weighs the same.
Importable by tests (no I/O here).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
_N = 4


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """All runs of 4 consecutive tokens; a text of 1-3 tokens is one short shingle."""
    toks = tokens(text)
    if not toks:
        return Counter()
    if len(toks) < _N:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i : i + _N]) for i in range(len(toks) - _N + 1))


@dataclass(frozen=True, slots=True)
class PageScore:
    tp: float
    fp: float
    fn: float
    exact: bool
    predicted_empty: bool

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        # Both texts empty: nothing to find, nothing missed.
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_page(truth: str, predicted: str) -> PageScore:
    t, p = shingles(truth), shingles(predicted)
    tp = fp = fn = 0
    for key in t.keys() | p.keys():
        tc, pc = t.get(key, 0), p.get(key, 0)
        tp += min(tc, pc)
        fp += max(0, pc - tc)
        fn += max(0, tc - pc)
    total = tp + fp + fn
    div = float(total) if total else 1.0
    return PageScore(
        tp=tp / div,
        fp=fp / div,
        fn=fn / div,
        exact=tokens(truth) == tokens(predicted),
        predicted_empty=not p,
    )


@dataclass(frozen=True, slots=True)
class Summary:
    f1: float
    precision: float
    recall: float
    accuracy: float
    pages: int


def summarize(scores: Iterable[PageScore]) -> Summary:
    """Precision: mean over pages with a non-empty prediction; recall: mean over all pages;
    F1: harmonic mean of the two means; accuracy: share of exact token matches."""
    items = list(scores)
    if not items:
        return Summary(0.0, 0.0, 0.0, 0.0, 0)
    with_pred = [s for s in items if not s.predicted_empty]
    precision = sum(s.precision for s in with_pred) / len(with_pred) if with_pred else 0.0
    recall = sum(s.recall for s in items) / len(items)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(s.exact for s in items) / len(items)
    return Summary(f1, precision, recall, accuracy, len(items))
