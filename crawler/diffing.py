"""What changed between two versions: unified diff, word diff and the `changes` summary. Pure."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from crawler.models import Changes, Content
from crawler.textnorm import paragraphs

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)

Op = Literal["equal", "insert", "delete"]


@dataclass(frozen=True, slots=True)
class WordChange:
    op: Op
    text: str


def version_lines(content: Content) -> list[str]:
    """The lines a diff is made of: the headline, then one line per paragraph."""
    return [content.title, *paragraphs(content.text)]


def unified_diff(old: Content, new: Content, old_label: str = "previous",
                 new_label: str = "current") -> str:
    """A unified diff, previous -> current, of the headline line followed by the paragraphs."""
    lines = difflib.unified_diff(
        version_lines(old), version_lines(new), fromfile=old_label, tofile=new_label, lineterm=""
    )
    return "\n".join(lines) + "\n"


def word_diff(old: str, new: str) -> list[WordChange]:
    """Word-level changes turning `old` into `new`, adjacent runs of one kind merged."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[WordChange] = []

    def emit(op: Op, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if out and out[-1].op == op:
            out[-1] = WordChange(op, out[-1].text + text)
        else:
            out.append(WordChange(op, text))

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            emit("equal", a[i1:i2])
        else:
            emit("delete", a[i1:i2])
            emit("insert", b[j1:j2])
    return out


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
        a_words = _WORD.findall("\n".join(a_lines[i1:i2]))
        b_words = _WORD.findall("\n".join(b_lines[j1:j2]))
        if tag == "equal":
            tally.matched += _chars(a_words)
        elif tag == "delete":
            tally.removed += _chars(a_words)
        elif tag == "insert":
            tally.added += _chars(b_words)
        else:
            # autojunk skips the commonest words of a long rewritten stretch: counts stay
            # close, the time stays linear-ish.
            words = difflib.SequenceMatcher(None, a_words, b_words)
            tally.count(words, a_words, b_words)
    total = _chars(_WORD.findall("\n".join(a_lines))) + _chars(_WORD.findall("\n".join(b_lines)))
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
