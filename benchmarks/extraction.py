"""Extraction benchmark: ours against trafilatura, side by side, on both shared corpora.

    .venv/bin/python benchmarks/extraction.py [--corpus bench|trafeval|both]
        [--only ours|trafilatura] [--worst N] [--show ID] [--no-timing] [--json FILE]

Per corpus and extractor: F1, precision, recall, accuracy, empty outputs, median and p90 ms/page
(in this process, after a warm-up), the marginal whole-process cost per page (fresh
subprocesses, benchmarks/timing.py; skipped with --no-timing) and the trafilatura/ours speed
ratios. Then the pages where ours trails trafilatura most, grouped by failure kind.

bench: the shingle metric (benchmarks/metric.py), per-page figures averaged.
trafeval: the snippet metric (benchmarks/snippets.py), counts pooled; per page, recall is the
share of `with` snippets found and precision 1 - the share of `without` snippets kept.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import corpora  # noqa: E402
from benchmarks.metric import PageScore, score_page, summarize  # noqa: E402
from benchmarks.report import print_table  # noqa: E402
from benchmarks.snippets import Case, SnippetScore, pool, score_case  # noqa: E402
from benchmarks.timing import ProcessCost, process_costs  # noqa: E402

# "Well below" in the failure kinds: a gap of this much in per-page precision or recall.
GAP = 0.2
LOW = 0.5
WIDTH = 18  # of a value column in the summary table
KINDS = ("empty", "wrong block", "partial body", "boilerplate kept", "slightly worse")


@dataclass(frozen=True, slots=True)
class Run:
    corpus: str
    name: str
    predictions: dict[str, str]
    scores: dict[str, PageScore | SnippetScore]
    ms: dict[str, float]
    summary: Any
    cost: ProcessCost | None = None

    def rank(self, page_id: str) -> float:
        score = self.scores[page_id]
        return score.f1 if isinstance(score, PageScore) else score.score

    @property
    def empty(self) -> set[str]:
        return {page_id for page_id, s in self.scores.items() if s.predicted_empty}

    def quantile_ms(self, q: float) -> float:
        times = sorted(self.ms.values())
        return statistics.median(times) if q == 0.5 else times[int(q * (len(times) - 1))]


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    docs: list[corpora.Doc]
    truth: dict[str, str]
    cases: dict[str, Case]

    def score(self, page_id: str, text: str) -> PageScore | SnippetScore:
        if self.name == "bench":
            return score_page(self.truth[page_id], text)
        return score_case(self.cases[page_id], text)


def load(name: str) -> Corpus:
    if name == "bench":
        docs, truth = corpora.load_bench()
        return Corpus(name, docs, truth, {})
    docs, cases = corpora.load_trafeval()
    return Corpus(name, docs, {}, cases)


def run(corpus: Corpus, names: list[str]) -> list[Run]:
    """Every extractor on every page, page by page and in alternating order, so that the load
    of a shared machine weighs on all of them alike."""
    extractors = [(name, corpora.extractor(name)) for name in names]
    for doc in corpus.docs[:3]:  # warm imports and caches outside the measurement
        for _, extract in extractors:
            extract(doc)
    predictions: dict[str, dict[str, str]] = {name: {} for name in names}
    ms: dict[str, dict[str, float]] = {name: {} for name in names}
    gc.collect()
    for i, doc in enumerate(corpus.docs):
        for name, extract in extractors if i % 2 == 0 else extractors[::-1]:
            start = time.perf_counter()
            predictions[name][doc.page_id] = extract(doc)
            ms[name][doc.page_id] = (time.perf_counter() - start) * 1000
    runs = []
    for name in names:
        scores = {pid: corpus.score(pid, text) for pid, text in predictions[name].items()}
        summary: Any
        if corpus.name == "bench":
            summary = summarize(s for s in scores.values() if isinstance(s, PageScore))
        else:
            summary = pool(s for s in scores.values() if isinstance(s, SnippetScore))
        runs.append(Run(corpus.name, name, predictions[name], scores, ms[name], summary))
    return runs


def kind(mine: PageScore | SnippetScore, theirs: PageScore | SnippetScore | None) -> str:
    """The failure kind of one page, from per-page precision and recall alone.

    Text that holds none of the main text is a wrong block whatever its precision: on trafeval
    precision only sees the few `without` snippets, and unrelated text rarely contains them.
    """
    if mine.predicted_empty:
        return "empty"
    ref_p, ref_r = (theirs.precision, theirs.recall) if theirs is not None else (1.0, 1.0)
    p_gap, r_gap = ref_p - mine.precision, ref_r - mine.recall
    both_low = mine.precision < LOW and mine.recall < LOW
    if both_low or mine.recall == 0.0 or (p_gap >= GAP and r_gap >= GAP):
        return "wrong block"
    if r_gap >= GAP:
        return "partial body"
    if p_gap >= GAP:
        return "boilerplate kept"
    return "slightly worse"


def summary_rows(runs: list[Run], timing: bool) -> list[tuple[str, str]]:
    def row(label: str, fmt: str, get: Any) -> tuple[str, str]:
        return label, "".join(f"{fmt.format(get(r)):>{WIDTH}}" for r in runs)

    rows = [("", "".join(f"{r.name:>{WIDTH}}" for r in runs)),
            row("F1", "{:.4f}", lambda r: r.summary.f1),
            row("precision", "{:.4f}", lambda r: r.summary.precision),
            row("recall", "{:.4f}", lambda r: r.summary.recall),
            row("accuracy", "{:.4f}", lambda r: r.summary.accuracy)]
    if runs[0].corpus == "trafeval":
        rows.append(row("tp/fp/fn/tn", "{}", lambda r: f"{r.summary.tp}/{r.summary.fp}/"
                                                      f"{r.summary.fn}/{r.summary.tn}"))
    rows.append(row("empty outputs", "{}", lambda r: len(r.empty)))
    rows.append(row("median ms/page", "{:.2f}", lambda r: r.quantile_ms(0.5)))
    rows.append(row("p90 ms/page", "{:.2f}", lambda r: r.quantile_ms(0.9)))
    if timing:
        rows.append(row("process ms/page", "{:.2f}",
                        lambda r: r.cost.per_page_ms if r.cost else float("nan")))
    by_name = {r.name: r for r in runs}
    if len(by_name) == 2:
        mine, theirs = by_name["ours"], by_name["trafilatura"]
        rows.append(("ours empty, trafilatura not", str(len(mine.empty - theirs.empty))))
        ratio = theirs.quantile_ms(0.5) / mine.quantile_ms(0.5)
        rows.append(("speed trafilatura/ours", f"{ratio:.1f}x median ms/page"))
        if timing and mine.cost and theirs.cost:
            ratio = theirs.cost.per_page_ms / mine.cost.per_page_ms
            rows.append(("", f"{ratio:.1f}x process ms/page"))
    return rows


def print_worst(corpus: Corpus, runs: list[Run], count: int) -> None:
    by_name = {r.name: r for r in runs}
    mine = by_name.get("ours")
    if mine is None or count <= 0:
        return
    theirs = by_name.get("trafilatura")

    def gap(page_id: str) -> float:
        return (theirs.rank(page_id) if theirs else 1.0) - mine.rank(page_id)

    trailing = sorted((pid for pid in mine.scores if gap(pid) > 0),
                      key=lambda pid: (-gap(pid), mine.scores[pid].recall, pid))
    worst = trailing[:count]
    against = "trafilatura" if theirs else "a perfect score"
    print(f"\n{corpus.name}: {len(trailing)} pages where ours trails {against}; "
          f"the {len(worst)} worst, by failure kind:")
    labels = {d.page_id: d.label for d in corpus.docs}
    groups: dict[str, list[str]] = {k: [] for k in KINDS}
    for pid in worst:
        groups[kind(mine.scores[pid], theirs.scores[pid] if theirs else None)].append(pid)
    for name, pids in groups.items():
        if not pids:
            continue
        print(f"  {name} ({len(pids)})")
        for pid in pids:
            s = mine.scores[pid]
            ref = f"  traf P {theirs.scores[pid].precision:.2f} R {theirs.scores[pid].recall:.2f}" \
                if theirs else ""
            print(f"    -{gap(pid):.3f}  P {s.precision:.2f} R {s.recall:.2f}{ref}  "
                  f"{pid[:12]}  {labels[pid][:70]}")
            if isinstance(s, SnippetScore):
                for snippet in s.missed:
                    print(f"        missed: {snippet[:60]}")
                for snippet in s.kept:
                    print(f"        kept:   {snippet[:60]}")


def show(corpora_: list[Corpus], page_id: str, names: list[str]) -> int:
    for corpus in corpora_:
        doc = next((d for d in corpus.docs if d.page_id.startswith(page_id)), None)
        if doc is None:
            continue
        print(f"{corpus.name} {doc.page_id} {doc.label}")
        for name in names:
            text = corpora.extractor(name)(doc)
            score = corpus.score(doc.page_id, text)
            print(f"\n--- {name}: P {score.precision:.3f} R {score.recall:.3f} ---\n{text}")
            if isinstance(score, SnippetScore):
                print("".join(f"  missed: {s[:100]}\n" for s in score.missed), end="")
                print("".join(f"  kept:   {s[:100]}\n" for s in score.kept), end="")
        if corpus.name == "bench":
            print(f"\n--- truth ---\n{corpus.truth[doc.page_id]}")
        return 0
    print(f"no page {page_id!r}", file=sys.stderr)
    return 2


def dump(path: Path, runs: list[Run]) -> None:
    out: dict[str, dict[str, Any]] = {}
    for r in runs:
        pages = {}
        for pid, s in r.scores.items():
            page: dict[str, Any] = {
                "precision": round(s.precision, 4), "recall": round(s.recall, 4),
                "score": round(r.rank(pid), 4), "empty": s.predicted_empty,
                "ms": round(r.ms[pid], 3)}
            if isinstance(s, SnippetScore):
                page |= {"missed": list(s.missed), "kept": list(s.kept)}
            pages[pid] = page
        summary = {k: getattr(r.summary, k) for k in r.summary.__slots__}
        out.setdefault(r.corpus, {})[r.name] = {"summary": summary, "pages": pages}
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("bench", "trafeval", "both"), default="both")
    parser.add_argument("--only", choices=corpora.EXTRACTORS)
    parser.add_argument("--worst", type=int, default=10, metavar="N")
    parser.add_argument("--show", metavar="ID", help="print each extractor's text for one page")
    parser.add_argument("--no-timing", action="store_true",
                        help="skip the whole-process timing (fast quality iteration)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each timing process")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write per-page results")
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(corpora.EXTRACTORS)
    wanted = list(corpora.CORPORA) if args.corpus == "both" else [args.corpus]
    missing = [c for c in wanted if not corpora.present(c)]
    if missing:
        print(f"corpus not found: {', '.join(missing)} (under {corpora.SHARED})", file=sys.stderr)
        return 2
    loaded = [load(c) for c in wanted]
    if args.show:
        return show(loaded, args.show, names)
    all_runs: list[Run] = []
    for corpus in loaded:
        runs = run(corpus, names)
        if not args.no_timing:
            costs = process_costs(corpus.name, names, len(corpus.docs), args.repeats)
            runs = [Run(r.corpus, r.name, r.predictions, r.scores, r.ms, r.summary,
                        costs[r.name]) for r in runs]
        rows = summary_rows(runs, not args.no_timing)
        print_table(f"{corpus.name}: {len(corpus.docs)} pages", rows)
        print_worst(corpus, runs, args.worst)
        all_runs += runs
    if args.json:
        dump(args.json, all_runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
