"""Quality floor on the shared extraction bench (no timing assertions: machines differ)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT.parent / "shared" / "extraction-bench"
# Reached 0.9653 when this floor was set; the margin absorbs harmless tuning, not regressions.
F1_FLOOR = 0.960

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.mark.skipif(not (BENCH / "ground-truth.json").is_file(),
                    reason=f"extraction bench not present at {BENCH}")
def test_f1_on_bench() -> None:
    from benchmarks.extraction import load_bench, ours
    from benchmarks.metric import score_page, summarize

    pages = load_bench(BENCH)
    summary = summarize(score_page(p.truth, ours(p)) for p in pages)
    assert summary.f1 >= F1_FLOOR, summary


@pytest.mark.parametrize(
    ("truth", "pred", "tp", "fp", "fn"),
    [
        ("a b c d e", "a b c d e", 1.0, 0.0, 0.0),
        ("a b c d e", "", 0.0, 0.0, 1.0),
        ("a b", "a b", 1.0, 0.0, 0.0),
        ("a b c d e", "a b c d x", 1 / 3, 1 / 3, 1 / 3),
    ],
)
def test_metric(truth: str, pred: str, tp: float, fp: float, fn: float) -> None:
    from benchmarks.metric import score_page

    score = score_page(truth, pred)
    assert (score.tp, score.fp, score.fn) == pytest.approx((tp, fp, fn))
