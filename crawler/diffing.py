"""What changed between two versions: unified diff, word diff and the `changes` summary. Pure."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from crawler.models import Changes, Content
from crawler.textnorm import paragraphs

# Chinese, Japanese and Korean are written without spaces between words: a run of them is no
# word, and diffing it as one turns a two-character date change into a whole clause replaced.
# Their characters are tokens of their own (Han, kana, Hangul: syllables and jamo).
_CJK = ("\u1100-\u11ff\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3040-\u30ff\u3130-\u318f"
        "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
        "\uff66-\uff9f\U00020000-\U0003134f")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_TOKEN = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+|\\s+|[^\\w\\s]")
_DIGITS = re.compile(r"\d+")
_EXACT_MATCH_BUDGET = 5_000 * 5_000
# An exact match (autojunk off) visits, for each item of one side, every equal item of the
# other; every space is a token, so one word changed in a paragraph of 5,000 words was 25
# million such pairs (3 s). Past this many (~0.1 s) the diffs shown (`word_diff`,
# `paragraph_diff`) set the common head and tail aside first, and take a middle still past it
# as replaced whole: linear, where it took minutes.
_SHOWN_PAIRS = 1_000_000

Opcode = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]

Op = Literal["equal", "insert", "delete"]


@dataclass(frozen=True, slots=True)
class WordChange:
    op: Op
    text: str


def version_lines(content: Content) -> list[str]:
    """The lines a diff is made of: the headline, then one line per paragraph."""
    return [content.title, *paragraphs(content.text)]


def unified_diff(old: Content, new: Content, old_label: str = "previous",
                 new_label: str = "current", context: int = 3) -> str:
    """A unified diff, previous -> current, of the headline line followed by the paragraphs,
    with `context` unchanged lines around each change."""
    lines = difflib.unified_diff(
        version_lines(old), version_lines(new), fromfile=old_label, tofile=new_label,
        lineterm="", n=context,
    )
    return "\n".join(lines) + "\n"


def tokens(text: str) -> list[str]:
    """The units a diff is made of: words, white space runs and punctuation marks, and single
    characters in Chinese, Japanese and Korean text. There a number is part of the character
    stream (1月17日), so a run of digits touching such a character is split into digits too:
    17日 -> 18日 is one digit changed, as a reader sees it."""
    found = _TOKEN.findall(text)
    out: list[str] = []
    for i, token in enumerate(found):
        if (_DIGITS.fullmatch(token) and len(token) > 1
                and ((i and _CJK_CHAR.fullmatch(found[i - 1]))
                     or (i + 1 < len(found) and _CJK_CHAR.fullmatch(found[i + 1])))):
            out.extend(token)
        else:
            out.append(token)
    return out


def _words(text: str) -> list[str]:
    """`tokens` without the white space (what characters are counted over)."""
    return [t for t in tokens(text) if not t.isspace()]


def word_diff(old: str, new: str) -> list[WordChange]:
    """Word-level changes turning `old` into `new`, adjacent runs of one kind merged (single
    characters in CJK text: see `tokens`)."""
    a, b = tokens(old), tokens(new)
    out: list[WordChange] = []

    def emit(op: Op, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if out and out[-1].op == op:
            out[-1] = WordChange(op, out[-1].text + text)
        else:
            out.append(WordChange(op, text))

    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal":
            emit("equal", a[i1:i2])
        else:
            emit("delete", a[i1:i2])
            emit("insert", b[j1:j2])
    return out


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of a word diff (the headline is the first), or several old and new
    paragraphs that could not be paired one to one (then their text keeps its blank lines)."""

    changed: bool
    changes: tuple[WordChange, ...]


def paragraph_diff(old: Content, new: Content) -> list[Block]:
    """The word diff of two versions, paragraph by paragraph: the headline first, then the
    paragraphs matched as whole lines, words diffed only inside those that changed."""
    blocks = [_block(old.title, new.title)]
    a, b = paragraphs(old.text), paragraphs(new.text)
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal":
            blocks.extend(Block(False, (WordChange("equal", p),)) for p in a[i1:i2])
        elif tag == "replace" and i2 - i1 == j2 - j1:
            blocks.extend(_block(x, y) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
        elif tag == "replace":
            blocks.extend(_pair(a[i1:i2], b[j1:j2]))
        elif tag == "delete":
            blocks.extend(Block(True, (WordChange("delete", p),)) for p in a[i1:i2])
        else:
            blocks.extend(Block(True, (WordChange("insert", p),)) for p in b[j1:j2])
    return blocks


# Two paragraphs at least this similar are one paragraph edited, not one removed and another
# added.
_SAME_PARAGRAPH = 0.5
# Replaced stretches longer than this (old x new paragraphs) are not paired one by one.
_PAIRING_BUDGET = 400


def _pair(old: list[str], new: list[str]) -> list[Block]:
    """Blocks for old paragraphs replaced by a different number of new ones: in order, each old
    paragraph is paired with the next similar new one (those skipped were added), or removed."""
    if len(old) * len(new) > _PAIRING_BUDGET:
        return [_block("\n\n".join(old), "\n\n".join(new))]
    blocks: list[Block] = []
    j = 0
    for paragraph in old:
        match = next((k for k in range(j, len(new)) if _similar(paragraph, new[k])), None)
        if match is None:
            blocks.append(Block(True, (WordChange("delete", paragraph),)))
            continue
        blocks.extend(Block(True, (WordChange("insert", p),)) for p in new[j:match])
        blocks.append(_block(paragraph, new[match]))
        j = match + 1
    blocks.extend(Block(True, (WordChange("insert", p),)) for p in new[j:])
    return blocks


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """The opcodes of an exact match of `a` and `b` while it is affordable; past
    `_SHOWN_PAIRS`, the common head and tail are equal, and the middle between them is matched
    exactly if that is affordable, else replaced whole."""
    if _equal_pairs(a, b) <= _SHOWN_PAIRS:
        return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    shorter = min(len(a), len(b))
    head = 0
    while head < shorter and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < shorter - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a_end, b_end = len(a) - tail, len(b) - tail
    middle_a, middle_b = a[head:a_end], b[head:b_end]
    ops: list[Opcode] = [("equal", 0, head, 0, head)] if head else []
    if _equal_pairs(middle_a, middle_b) <= _SHOWN_PAIRS:
        matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
        ops.extend((tag, i1 + head, i2 + head, j1 + head, j2 + head)
                   for tag, i1, i2, j1, j2 in matcher.get_opcodes())
    elif middle_a and middle_b:
        ops.append(("replace", head, a_end, head, b_end))
    if tail:
        ops.append(("equal", a_end, len(a), b_end, len(b)))
    return ops


def _similar(old: str, new: str) -> bool:
    matcher = difflib.SequenceMatcher(None, old, new)
    return (matcher.real_quick_ratio() >= _SAME_PARAGRAPH
            and matcher.quick_ratio() >= _SAME_PARAGRAPH and matcher.ratio() >= _SAME_PARAGRAPH)


def _block(old: str, new: str) -> Block:
    if old == new:
        return Block(False, (WordChange("equal", old),) if old else ())
    return Block(True, tuple(word_diff(old, new)))


def _chars(tokens: list[str]) -> int:
    return sum(len(t) for t in tokens)


@dataclass(slots=True)
class _Tally:
    matched: int = 0
    added: int = 0
    removed: int = 0

    def count(self, matcher: difflib.SequenceMatcher[str], a: list[str], b: list[str]) -> None:
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                self.matched += _chars(a[i1:i2])
            if tag in ("delete", "replace"):
                self.removed += _chars(a[i1:i2])
            if tag in ("insert", "replace"):
                self.added += _chars(b[j1:j2])


def describe_changes(old: Content, new: Content) -> Changes:
    """The summary an `article.edited` event carries, diff included.

    Paragraphs are matched first and words only inside paragraphs that changed: a word-level
    match over a whole article is quadratic in its length (seconds for a long one), while an
    edit rarely touches more than a few paragraphs. Characters are counted without white space.
    """
    a_lines, b_lines = version_lines(old), version_lines(new)
    tally = _Tally()
    paragraphs_matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in paragraphs_matcher.get_opcodes():
        a_words = _words("\n".join(a_lines[i1:i2]))
        b_words = _words("\n".join(b_lines[j1:j2]))
        if tag == "equal":
            tally.matched += _chars(a_words)
        elif tag == "delete":
            tally.removed += _chars(a_words)
        elif tag == "insert":
            tally.added += _chars(b_words)
        else:
            # autojunk skips the commonest tokens (more than 1% of them): on a long stretch of
            # CJK characters that is most of the text, and a two-character edit would count
            # as thousands. Only a stretch too long for an exact match (quadratic: 0.2 s at
            # 5,000 tokens each side) gets it, which keeps the time linear-ish.
            exact = len(a_words) * len(b_words) <= _EXACT_MATCH_BUDGET
            words = difflib.SequenceMatcher(None, a_words, b_words, autojunk=not exact)
            tally.count(words, a_words, b_words)
    total = _chars(_words("\n".join(a_lines))) + _chars(_words("\n".join(b_lines)))
    old_paras, new_paras = paragraphs(old.text), paragraphs(new.text)
    return Changes(
        title=old.title != new.title,
        lead=(old_paras[:1] or [""])[0] != (new_paras[:1] or [""])[0],
        body=old.text != new.text,
        chars_added=tally.added,
        chars_removed=tally.removed,
        similarity=round(2 * tally.matched / total, 4) if total else 1.0,
        diff=unified_diff(old, new),
    )


def exact_match_cost(old: Content, new: Content) -> int:
    """About how many pairs of equal items the exact matches of `describe_changes` look at: the
    paragraphs of both versions, then the words of the paragraphs one version lacks. An exact
    match (autojunk off) visits, for each item, every equal item of the other side, so the cost
    follows the square of how often an item repeats, not the length of the text: an edit of
    10,000 paragraphs "Ad" (40 K characters) is 10^8 pairs, 15 s. Linear to compute."""
    a_lines, b_lines = version_lines(old), version_lines(new)
    a_set, b_set = set(a_lines), set(b_lines)
    a_words = _words("\n".join(line for line in a_lines if line not in b_set))
    b_words = _words("\n".join(line for line in b_lines if line not in a_set))
    return _equal_pairs(a_lines, b_lines) + _equal_pairs(a_words, b_words)


def _equal_pairs(a: Sequence[str], b: Sequence[str]) -> int:
    in_b = Counter(b)
    return sum(count * in_b[item] for item, count in Counter(a).items())
