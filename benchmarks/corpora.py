"""The two shared extraction corpora, and the two extractors as the benchmark calls them.

- bench: `shared/extraction-bench/`, 131 pages with a human-made body each, shingle metric
  (benchmarks/metric.py). Pages are decoded as UTF-8 (all of them are) and both extractors get
  the same text and the page's URL.
- trafeval: `shared/extraction-bench/trafilatura-eval/`, 495 pages with `with`/`without`
  snippets (benchmarks/snippets.py). Extractors get the raw bytes and no URL: trafilatura decodes
  them itself; ours decodes them with the crawler's own `decode_html`, as the pipeline does, and
  that decoding is counted in our time.

Only the standard library is imported at module level, so that the timing subprocesses
(benchmarks/timing.py) import exactly the extractor they measure.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import snippets

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
BENCH_DIR = SHARED / "extraction-bench"
TRAFEVAL_DIR = BENCH_DIR / "trafilatura-eval"
CORPORA = ("bench", "trafeval")
EXTRACTORS = ("ours", "trafilatura")
# trafilatura's reference settings on its own evaluation set; the defaults apart from comments.
TRAFILATURA_SETTINGS: dict[str, Any] = {"include_comments": False, "include_tables": True,
                        "include_formatting": False}


@dataclass(frozen=True, slots=True)
class Doc:
    page_id: str
    label: str
    """Where the page came from (URL, else the original file name), for reports."""
    url: str
    """The URL the extractors are given ("" when the corpus gives none)."""
    content: str | bytes


def load_bench(folder: Path = BENCH_DIR) -> tuple[list[Doc], dict[str, str]]:
    """The pages in id order, and the human-made body of each."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    docs = []
    for page_id in sorted(truth):
        raw = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        url = truth[page_id]["url"]
        docs.append(Doc(page_id, url, url, raw.decode("utf-8", "replace")))
    return docs, {page_id: item["articleBody"] for page_id, item in truth.items()}


def load_trafeval(folder: Path = TRAFEVAL_DIR) -> tuple[list[Doc], dict[str, snippets.Case]]:
    """The pages in id order (raw bytes), and the snippets of each."""
    cases = snippets.load_cases(folder)
    docs = [Doc(c.page_id, c.label, "", snippets.load_html(folder, c.page_id)) for c in cases]
    return docs, {c.page_id: c for c in cases}


def present(corpus: str) -> bool:
    if corpus == "bench":
        return (BENCH_DIR / "ground-truth.json").is_file()
    return (TRAFEVAL_DIR / "expectations.json").is_file()


def load_docs(corpus: str) -> list[Doc]:
    return load_bench()[0] if corpus == "bench" else load_trafeval()[0]


def ours(doc: Doc) -> str:
    from crawler.extract import extract_article
    from crawler.fetch.charset import decode_html_utf8

    if isinstance(doc.content, str):
        return extract_article(doc.content, doc.url).text
    # As the pipeline reads a page (`crawler.pages`): UTF-8 bytes are parsed as they came.
    html, utf8 = decode_html_utf8(doc.content, None)
    return extract_article(html, doc.url, utf8=utf8).text


def trafilatura_text(doc: Doc) -> str:
    import trafilatura

    return trafilatura.extract(doc.content, **TRAFILATURA_SETTINGS) or ""


def extractor(name: str) -> Callable[[Doc], str]:
    return ours if name == "ours" else trafilatura_text
