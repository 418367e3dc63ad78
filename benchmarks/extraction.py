"""Extraction benchmark: ours against trafilatura on the shared article-extraction bench.

    .venv/bin/python benchmarks/extraction.py [--bench DIR] [--only ours|trafilatura]

Prints, per extractor: F1, precision, recall, exact-match accuracy, median and p90 ms/page,
peak traced memory, and the 10 pages where ours scores worst. The metric is the bench README's
(see benchmarks/metric.py).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.metric import PageScore, Summary, score_page, summarize  # noqa: E402
from crawler.extract import extract_article  # noqa: E402

DEFAULT_BENCH = ROOT.parent / "shared" / "extraction-bench"


@dataclass(frozen=True, slots=True)
class Page:
    page_id: str
    url: str
    html: str
    truth: str


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    summary: Summary
    scores: dict[str, PageScore]
    predictions: dict[str, str]
    median_ms: float
    p90_ms: float
    peak_kib: float


def load_bench(bench: Path) -> list[Page]:
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        raw = gzip.decompress((bench / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(Page(page_id, truth[page_id]["url"], raw.decode("utf-8", "replace"),
                          truth[page_id]["articleBody"]))
    return pages


def ours(page: Page) -> str:
    return extract_article(page.html, page.url).text


def trafilatura_text(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html, include_comments=False) or ""


def run(name: str, extractor: Callable[[Page], str], pages: list[Page]) -> Run:
    for page in pages[:3]:  # warm imports and caches outside the measurement
        extractor(page)
    times: list[float] = []
    predictions: dict[str, str] = {}
    gc.collect()
    for page in pages:
        start = time.perf_counter()
        predictions[page.page_id] = extractor(page)
        times.append((time.perf_counter() - start) * 1000)
    # Memory in a separate pass: tracemalloc slows everything down.
    tracemalloc.start()
    for page in pages:
        extractor(page)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scores = {p.page_id: score_page(p.truth, predictions[p.page_id]) for p in pages}
    times.sort()
    return Run(name, summarize(scores.values()), scores, predictions,
               statistics.median(times), times[int(0.9 * (len(times) - 1))], peak / 1024)


def report(result: Run) -> None:
    s = result.summary
    print(f"{result.name:<12} F1 {s.f1:.4f}  P {s.precision:.4f}  R {s.recall:.4f}  "
          f"acc {s.accuracy:.3f}  median {result.median_ms:.2f} ms  p90 {result.p90_ms:.2f} ms  "
          f"peak {result.peak_kib:,.0f} KiB  ({s.pages} pages)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--only", choices=("ours", "trafilatura"))
    parser.add_argument("--worst", type=int, default=10)
    parser.add_argument("--show", help="print our text and the truth for one page id")
    args = parser.parse_args(argv)
    if not (args.bench / "ground-truth.json").is_file():
        print(f"no bench at {args.bench}", file=sys.stderr)
        return 2
    pages = load_bench(args.bench)
    if args.show:
        page = next(p for p in pages if p.page_id.startswith(args.show))
        print(page.url, "\n--- ours ---\n", ours(page), "\n--- truth ---\n", page.truth)
        return 0
    runs = []
    if args.only != "trafilatura":
        runs.append(run("ours", ours, pages))
    if args.only != "ours":
        runs.append(run("trafilatura", trafilatura_text, pages))
    for result in runs:
        report(result)
    mine = runs[0]
    if mine.name == "ours":
        print(f"\n{args.worst} worst pages (ours):")
        worst = sorted(mine.scores.items(), key=lambda kv: kv[1].f1)[: args.worst]
        by_id = {p.page_id: p for p in pages}
        for page_id, score in worst:
            print(f"  F1 {score.f1:.3f}  P {score.precision:.3f}  R {score.recall:.3f}  "
                  f"{page_id[:12]}  {by_id[page_id].url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
