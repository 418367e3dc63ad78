"""The edits corpus (`tests/data/edits.jsonl`, built by `tests/data/build_edits.py` from real
article texts in English, French, Spanish, German, Chinese and Japanese): at least 95% of the
edits get the kinds and sentence counts a reader would give them, through the very path
`crawler compare` and the daemon use; noise gives no kind at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawler.commands.compare import comparison
from crawler.textnorm import make_content

CORPUS = Path(__file__).parent / "data" / "edits.jsonl"
PAIRS: list[dict[str, Any]] = [json.loads(line) for line in
                               CORPUS.read_text(encoding="utf-8").splitlines() if line]
NO_CHANGE = {"added": 0, "deleted": 0, "edited": 0, "moved": 0}


def described(pair: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
    old = make_content(pair["old"]["title"], pair["old"]["text"])
    new = make_content(pair["new"]["title"], pair["new"]["text"])
    result = comparison(old, new, "https://news.example/a")
    if not result["changed"]:
        return [], NO_CHANGE
    return result["changes"]["kinds"], result["changes"]["sentences"]


def right(pair: dict[str, Any]) -> bool:
    kinds, sentences = described(pair)
    if "kinds_include" in pair:
        return set(pair["kinds_include"]) <= set(kinds)
    return bool(kinds == pair["kinds"] and sentences == pair["sentences"])


def test_the_corpus_covers_every_kind_in_several_languages() -> None:
    assert len(PAIRS) >= 150
    assert {p["language"] for p in PAIRS} >= {"en", "fr", "es", "de", "zh", "ja"}
    kinds = {k for p in PAIRS for k in p["kinds"] + p.get("kinds_include", [])}
    assert kinds >= {"headline", "lead", "correction", "quote", "number", "addition",
                     "removal", "rewrite"}
    assert {p["op"] for p in PAIRS} >= {"move", "noise1"}


def test_at_least_95_percent_of_edits_are_classified_and_counted_right() -> None:
    edits = [p for p in PAIRS if not p.get("noise")]
    wrong = [p["name"] for p in edits if not right(p)]
    assert len(wrong) <= 0.05 * len(edits), wrong


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.get("noise")],
                         ids=lambda p: str(p["name"]))
def test_noise_gives_no_kind(pair: dict[str, Any]) -> None:
    assert described(pair) == ([], NO_CHANGE)


@pytest.mark.parametrize("language", ["en", "fr", "es", "de", "zh", "ja"])
def test_each_language_is_mostly_right(language: str) -> None:
    edits = [p for p in PAIRS if p["language"] == language and not p.get("noise")]
    assert edits
    assert sum(right(p) for p in edits) >= 0.9 * len(edits)
