"""trafilatura's evaluation set (the shared development half) and its snippet metric.

The scoring mirrors the set's `score.py` (trafilatura's `tests/eval_common.py`) exactly: after
every whitespace run is made one space and both ends are stripped, a `with` snippet found in the
prediction is a TP (else an FN), a `without` snippet found is an FP (else a TN); no prediction
(None) finds nothing; counts are pooled over pages. `score_case` and `pool` do no I/O.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class Case:
    page_id: str
    label: str
    """The page's URL where the annotation has one, else its original file name."""
    with_: tuple[str, ...]
    without: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SnippetScore:
    missed: tuple[str, ...]
    """`with` snippets not found (false negatives)."""
    kept: tuple[str, ...]
    """`without` snippets found (false positives)."""
    tp: int
    fn: int
    fp: int
    tn: int
    predicted_empty: bool

    @property
    def recall(self) -> float:
        """Share of the page's `with` snippets found."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        """Per page, 1 - the share of its `without` snippets kept (not pooled precision)."""
        return 1.0 - self.fp / (self.fp + self.tn) if self.fp + self.tn else 1.0

    @property
    def score(self) -> float:
        """One figure per page for ranking: the mean of the two shares above."""
        return (self.recall + self.precision) / 2


def score_case(case: Case, text: str | None) -> SnippetScore:
    found = squash(text) if isinstance(text, str) else None

    def hit(snippet: str) -> bool:
        return found is not None and squash(snippet) in found

    missed = tuple(s for s in case.with_ if not hit(s))
    kept = tuple(s for s in case.without if hit(s))
    return SnippetScore(
        missed=missed,
        kept=kept,
        tp=len(case.with_) - len(missed),
        fn=len(missed),
        fp=len(kept),
        tn=len(case.without) - len(kept),
        predicted_empty=not found,
    )


@dataclass(frozen=True, slots=True)
class SnippetSummary:
    f1: float
    precision: float
    recall: float
    accuracy: float
    pages: int
    tp: int
    fp: int
    fn: int
    tn: int


def pool(scores: Iterable[SnippetScore]) -> SnippetSummary:
    """Counts pooled over pages, then precision, recall, F1 and accuracy as score.py computes."""
    items = list(scores)
    tp = sum(s.tp for s in items)
    fp = sum(s.fp for s in items)
    fn = sum(s.fn for s in items)
    tn = sum(s.tn for s in items)
    total = tp + fp + fn + tn
    return SnippetSummary(
        f1=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / (tp + fn) if tp + fn else 0.0,
        accuracy=(tp + tn) / total if total else 0.0,
        pages=len(items),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
    )


def load_cases(folder: Path) -> list[Case]:
    """The annotations, in score.py's order (sorted ids)."""
    expected = json.loads((folder / "expectations.json").read_text(encoding="utf-8"))
    return [
        Case(page_id, item.get("url", item["file"]), tuple(item["with"]), tuple(item["without"]))
        for page_id, item in sorted(expected.items())
    ]


def load_html(folder: Path, page_id: str) -> bytes:
    """The page bytes, as the extractors get them (decompressed, not decoded)."""
    return gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
