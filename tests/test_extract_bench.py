"""Quality floors on the two shared extraction corpora (no timing assertions: machines differ),
and the two metrics the benchmark scores them with."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import corpora  # noqa: E402

# The F1 measured when each floor was set, less a small margin that absorbs harmless tuning,
# not regressions. bench: 0.9706 (shingle metric); trafeval: 0.9376 (snippet metric, pooled).
BENCH_F1_FLOOR = 0.967
TRAFEVAL_F1_FLOOR = 0.933

needs_bench = pytest.mark.skipif(not corpora.present("bench"),
                                 reason=f"extraction bench not present at {corpora.BENCH_DIR}")
needs_trafeval = pytest.mark.skipif(
    not corpora.present("trafeval"),
    reason=f"trafilatura evaluation set not present at {corpora.TRAFEVAL_DIR}")


@needs_bench
def test_f1_on_bench() -> None:
    from benchmarks.metric import score_page, summarize

    docs, truth = corpora.load_bench()
    summary = summarize(score_page(truth[d.page_id], corpora.ours(d)) for d in docs)
    assert summary.f1 >= BENCH_F1_FLOOR, summary


@needs_trafeval
def test_f1_on_trafeval() -> None:
    from benchmarks.snippets import pool, score_case

    docs, cases = corpora.load_trafeval()
    summary = pool(score_case(cases[d.page_id], corpora.ours(d)) for d in docs)
    assert summary.f1 >= TRAFEVAL_F1_FLOOR, summary


@needs_bench
@needs_trafeval
def test_no_page_reaches_the_extractors_safety_net() -> None:
    """`extract_article` turns an internal error into an empty result so that one page cannot
    stop a pass; on real pages that net must never be needed (it would hide a bug as an
    "empty" page). A page parsed from its own bytes gives what its text gives, and every text
    is normalized already."""
    from crawler.extract import _extract
    from crawler.fetch.charset import decode_html_utf8
    from crawler.textnorm import normalize_text

    for corpus in ("bench", "trafeval"):
        for doc in corpora.load_docs(corpus):
            if isinstance(doc.content, str):
                extracted = _extract(doc.content, doc.url, None, None)
            else:
                html, utf8 = decode_html_utf8(doc.content, None)
                extracted = _extract(html, doc.url, None, utf8)
                # A page parsed from its own UTF-8 bytes reads as its decoded text does.
                assert extracted == _extract(html, doc.url, None, None)
            # The text is hashed as it comes (`make_content(..., normalized=True)`).
            assert normalize_text(extracted.text) == extracted.text, doc.page_id


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


def test_snippet_rules() -> None:
    from benchmarks.snippets import Case, score_case

    case = Case("0000", "x", ("Main  text\nhere", "second"), ("Share this",))
    score = score_case(case, " main? Main text here.\tShare\n this ")
    assert (score.tp, score.fn, score.fp, score.tn) == (1, 1, 1, 0)
    assert score.missed == ("second",) and score.kept == ("Share this",)
    assert score.recall == 0.5 and score.precision == 0.0
    none = score_case(case, None)
    assert (none.tp, none.fn, none.fp, none.tn) == (0, 2, 0, 1) and none.predicted_empty


@needs_trafeval
def test_snippet_scorer_matches_score_py(tmp_path: Path) -> None:
    """Same pooled counts as the set's own score.py, on a few pages and awkward predictions."""
    from benchmarks.snippets import load_cases, pool, score_case

    cases = load_cases(corpora.TRAFEVAL_DIR)[:8]
    docs = {d.page_id: d for d in corpora.load_trafeval()[0][:8]}
    predictions: dict[str, str | None] = {c.page_id: corpora.ours(docs[c.page_id]) for c in cases}
    odd = cases[0]  # every snippet, whitespace mangled
    predictions[odd.page_id] = "\n\n".join(s.replace(" ", "\t \n") for s in odd.with_ + odd.without)
    predictions[cases[1].page_id] = None  # no prediction
    predictions[cases[2].page_id] = ""
    predictions[cases[3].page_id] = cases[3].with_[0][: len(cases[3].with_[0]) // 2]
    del predictions[cases[4].page_id]  # absent from the file
    expected = json.loads((corpora.TRAFEVAL_DIR / "expectations.json").read_text("utf-8"))
    subset = tmp_path / "expectations.json"
    subset.write_text(json.dumps({c.page_id: expected[c.page_id] for c in cases}), "utf-8")
    lines = tmp_path / "pred.jsonl"
    lines.write_text("".join(json.dumps({"id": k, "text": v}) + "\n"
                             for k, v in predictions.items()), "utf-8")
    out = subprocess.run([sys.executable, str(corpora.TRAFEVAL_DIR / "score.py"), str(lines),
                          "--expectations", str(subset)],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"tp (\d+) fp (\d+) fn (\d+) tn (\d+)", out)
    assert match, out
    ours = pool(score_case(c, predictions.get(c.page_id)) for c in cases)
    assert (ours.tp, ours.fp, ours.fn, ours.tn) == tuple(int(g) for g in match.groups())
