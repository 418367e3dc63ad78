"""Sentence matching cost on long articles: is it near linear?

    .venv/bin/python benchmarks/sentences.py            # 500 to 5,000 sentences
    .venv/bin/python benchmarks/sentences.py --repeat 5

For each size, a deterministic article of N sentences (seeded pseudo-random prose, 8-30
words a sentence, 5 sentences a paragraph) and an edited version of it: 2% of its sentences
edited (a word or a number changed), 1% deleted, 1% added, 1% moved elsewhere. Timed, best of
`--repeat`: splitting both versions into sentences plus matching them
(`crawler.sentence_match.match_sentences`), the diff summary alone
(`crawler.diffing.describe_changes`) and the whole `changes` object of the edit
(`crawler.change_report.describe_edit`: diff summary, sentences, kinds). Reported: ms, and ms
per 1,000 sentences, which stays flat when the cost is linear (a quadratic cost would grow
tenfold from 500 to 5,000). Last, the worst case for the similarity step: an article of the
largest size whose every sentence was replaced.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crawler.change_report import describe_edit
from crawler.diffing import describe_changes
from crawler.models import Content
from crawler.sentence_match import match_sentences
from crawler.sentences import split_sentences
from crawler.textnorm import make_content

_PROSE = ("the council said on tuesday that its plan for new housing would cost more than "
          "expected after months of talks with builders unions and residents who had asked "
          "for smaller blocks near the river while officials warned that prices could rise "
          "again next year as demand for homes in the region keeps growing")
_WORDS = _PROSE.split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 30))]
    words.insert(rng.randrange(len(words)), str(rng.randint(2, 99_999)))
    return " ".join(words).capitalize() + "."


def article(n: int, seed: int = 1) -> tuple[list[str], list[str]]:
    """Sentences of an article and of its edited version."""
    rng = random.Random(seed)
    old = [_sentence(rng) for _ in range(n)]
    new = list(old)
    for i in rng.sample(range(n), n // 50):
        words = new[i].rstrip(".").split()
        words[rng.randrange(1, len(words))] = str(rng.randint(2, 99_999))
        new[i] = " ".join(words) + "."
    for i in sorted(rng.sample(range(n), n // 100), reverse=True):
        del new[i]
    for _ in range(n // 100):
        new.insert(rng.randrange(len(new)), _sentence(rng))
    for _ in range(n // 100):
        moved = new.pop(rng.randrange(len(new)))
        new.insert(rng.randrange(len(new)), moved)
    return old, new


def _text(sentences: list[str]) -> str:
    return "\n\n".join(" ".join(sentences[i:i + 5]) for i in range(0, len(sentences), 5))


def _match(a: Content, b: Content) -> object:
    return match_sentences(split_sentences(a.text), split_sentences(b.text))


def _best(repeat: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'sentences':>9} {'match ms':>9} {'ms/1k':>7} {'diff ms':>8} {'edit ms':>8}"
          f" {'ms/1k':>7}  counts")
    for n in args.sizes:
        old, new = article(n)
        a = make_content("Headline", _text(old))
        b = make_content("Headline", _text(new))
        match_ms = _best(args.repeat, functools.partial(_match, a, b))
        diff_ms = _best(args.repeat, functools.partial(describe_changes, a, b))
        edit_ms = _best(args.repeat, functools.partial(describe_edit, a, b))
        counts = match_sentences(split_sentences(a.text), split_sentences(b.text)).counts()
        print(f"{n:>9} {match_ms:>9.1f} {match_ms / n * 1000:>7.1f} {diff_ms:>8.1f}"
              f" {edit_ms:>8.1f} {edit_ms / n * 1000:>7.1f}  {counts.as_dict()}")
    # The worst case for similarity matching: no sentence survives, every one is compared
    # with its candidates (and the generated prose has few uncommon words to rule them out).
    rng = random.Random(2)
    n = max(args.sizes)
    old, new = [_sentence(rng) for _ in range(n)], [_sentence(rng) for _ in range(n)]
    a, b = make_content("Headline", _text(old)), make_content("Headline", _text(new))
    rewrite_ms = _best(args.repeat, functools.partial(_match, a, b))
    print(f"{n} sentences all rewritten: match {rewrite_ms:.1f} ms"
          f" ({rewrite_ms / n * 1000:.1f} ms per 1,000)")
    print(f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
