"""Whole-process cost of an extractor: what a fresh interpreter pays per page, warm-up included.

Two kinds of fresh `python -m benchmarks.timing --worker CORPUS EXTRACTOR N` subprocess: one
loads the corpus (read + gunzip, and the UTF-8 decoding of the bench pages), imports the extractor
and extracts all N pages; the other does the same and extracts none. Each runs `repeats` times
(interleaved with the other extractor's); marginal cost per page = (min of the first - min of
the second) / N, so that interpreter start-up, imports and page loading cancel out while
first-call costs (lazy initialisation, caches) are counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class ProcessCost:
    all_s: float
    """Best wall time of the process that extracts every page."""
    none_s: float
    """Best wall time of the process that imports the extractor and extracts nothing."""
    pages: int

    @property
    def per_page_ms(self) -> float:
        return (self.all_s - self.none_s) * 1000 / self.pages


def _wall(corpus: str, extractor: str, count: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmarks.timing", "--worker", corpus, extractor,
                    str(count)], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def process_costs(corpus: str, extractors: list[str], pages: int,
                  repeats: int = 2) -> dict[str, ProcessCost]:
    """The cost of each extractor, their processes interleaved so that a busy spell on a shared
    machine does not fall on one of them only."""
    alls: dict[str, list[float]] = {name: [] for name in extractors}
    nones: dict[str, list[float]] = {name: [] for name in extractors}
    for _ in range(repeats):
        for name in extractors:
            nones[name].append(_wall(corpus, name, 0))
            alls[name].append(_wall(corpus, name, pages))
    return {name: ProcessCost(min(alls[name]), min(nones[name]), pages) for name in extractors}


def _worker(corpus: str, extractor: str, count: int) -> None:
    from benchmarks.corpora import extractor as pick
    from benchmarks.corpora import load_docs

    docs = load_docs(corpus)
    extract = pick(extractor)
    # The import itself, outside the loop: the corpora module imports extractors lazily.
    if extractor == "ours":
        import crawler.extract
        import crawler.fetch.charset  # noqa: F401
    else:
        import trafilatura  # noqa: F401
    for doc in docs[:count]:
        extract(doc)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"] or len(sys.argv) != 5:
        raise SystemExit("usage: python -m benchmarks.timing --worker CORPUS EXTRACTOR N")
    _worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
