"""What changed between two versions: unified diff, word diff and the `changes` summary. Pure."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from crawler.models import Changes, Content
from crawler.textnorm import paragraphs

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)

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


def _full_text(content: Content) -> str:
    return "\n".join(version_lines(content))


def describe_changes(old: Content, new: Content) -> Changes:
    """The summary an `article.edited` event carries, diff included."""
    old_paras, new_paras = paragraphs(old.text), paragraphs(new.text)
    old_lead = old_paras[0] if old_paras else ""
    new_lead = new_paras[0] if new_paras else ""
    added = removed = 0
    a, b = _full_text(old), _full_text(new)
    tokens_a, tokens_b = _TOKEN.findall(a), _TOKEN.findall(b)
    matcher = difflib.SequenceMatcher(None, tokens_a, tokens_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            removed += sum(len(t) for t in tokens_a[i1:i2])
        if tag in ("insert", "replace"):
            added += sum(len(t) for t in tokens_b[j1:j2])
    return Changes(
        title=old.title != new.title,
        lead=old_lead != new_lead,
        body=old.text != new.text,
        chars_added=added,
        chars_removed=removed,
        similarity=round(matcher.ratio(), 4),
        diff=unified_diff(old, new),
    )
