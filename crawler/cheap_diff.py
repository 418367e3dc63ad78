"""The `changes` of an edit in linear time, for versions too big for `describe_changes`. Pure.

`describe_changes` matches paragraphs, then words inside the paragraphs that changed: on a
5 MB single paragraph with one word edited that word match alone is about a minute of
difflib. Here the two versions are compared from both ends instead: the unchanged lines at the
start and the end, then the unchanged characters at both ends of what is left (widened to
whole words), and everything in between counts as removed and added. For one contiguous edit,
the usual case, the counts are those of a word diff; for edits far apart they over-count the
text between them. The unified diff is one hunk spanning the changed lines. `cheap_edit` adds
the sentences and kinds, matched only in a window around the changed stretch (both versions
cut at the same distances from their common start and end, so the sentences cut in half at
the window's edges are the same on both sides; sentences moved from far away are missed).
"""

from __future__ import annotations

from dataclasses import replace

from crawler.change_kinds import KINDS, change_kinds
from crawler.diffing import version_lines
from crawler.models import Changes, Content
from crawler.sentence_match import match_sentences
from crawler.sentences import split_sentences
from crawler.textnorm import paragraphs

_CONTEXT = 3
# Text kept around the changed stretch when sentences are matched: enough for the sentences
# the edit touches, which are the only ones that can differ.
_WINDOW = 2_000
_SPACES = (" ", "\n", "\t", "\r", "\xa0", "\u3000")


def _ink(text: str) -> int:
    """Characters that are not white space (what `describe_changes` counts)."""
    return len(text) - sum(text.count(s) for s in _SPACES)


def _prefix(a: str, b: str) -> int:
    """Length of the longest common prefix, by halving (each test is one C comparison)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _suffix(a: str, b: str, limit: int) -> int:
    """Length of the longest common suffix, at most `limit`."""
    low, high = 0, min(len(a), len(b), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            low = mid
        else:
            high = mid - 1
    return low


def _word_char(c: str) -> bool:
    # CJK characters are words of their own in `tokens`: no widening across them.
    return c.isalnum() and ord(c) < 0x1100


def _inside(text: str, i: int) -> bool:
    return 0 <= i < len(text) and _word_char(text[i])


def _widen_start(left: str, right: str, start: int) -> int:
    """The common prefix cut back to a word's start when it ends inside a word of either."""
    if _inside(left, start - 1) and (_inside(left, start) or _inside(right, start)):
        while _inside(left, start - 1):
            start -= 1
    return start


def _widen_end(left: str, right: str, end: int) -> int:
    """The common suffix cut back to a word's end when it starts inside a word of either."""
    def first(i: int) -> int:
        return len(left) - i

    if _inside(left, first(end)) and (_inside(left, first(end) - 1)
                                      or _inside(right, len(right) - end - 1)):
        while end and _inside(left, first(end)):
            end -= 1
    return end


def _common_lines(a: list[str], b: list[str]) -> tuple[int, int]:
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while (tail < min(len(a), len(b)) - head
           and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]):
        tail += 1
    return head, tail


def _range(start: int, length: int) -> str:
    """A unified diff hunk range, as difflib writes it."""
    if length == 1:
        return str(start + 1)
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"


def _hunk(a: list[str], b: list[str], head: int, tail: int) -> str:
    start = max(head - _CONTEXT, 0)
    a_end = min(len(a) - tail + _CONTEXT, len(a))
    b_end = min(len(b) - tail + _CONTEXT, len(b))
    lines = ["--- previous", "+++ current",
             f"@@ -{_range(start, a_end - start)} +{_range(start, b_end - start)} @@"]
    lines += [" " + line for line in a[start:head]]
    lines += ["-" + line for line in a[head:len(a) - tail]]
    lines += ["+" + line for line in b[head:len(b) - tail]]
    lines += [" " + line for line in a[len(a) - tail:a_end]]
    return "\n".join(lines) + "\n"


def cheap_changes(old: Content, new: Content) -> Changes:
    """The summary an `article.edited` event carries, in time linear in the texts' length
    (see the module for what it approximates)."""
    a, b = version_lines(old), version_lines(new)
    head, tail = _common_lines(a, b)
    left = "\n".join(a[head:len(a) - tail])
    right = "\n".join(b[head:len(b) - tail])
    start = _widen_start(left, right, _prefix(left, right))
    end = _widen_end(left, right, _suffix(left, right, min(len(left), len(right)) - start))
    removed = _ink(left[start:len(left) - end])
    added = _ink(right[start:len(right) - end])
    old_ink, new_ink = _ink("\n".join(a)), _ink("\n".join(b))
    total = old_ink + new_ink
    matched = old_ink - removed
    old_paras, new_paras = paragraphs(old.text), paragraphs(new.text)
    return Changes(
        title=old.title != new.title,
        lead=(old_paras[:1] or [""])[0] != (new_paras[:1] or [""])[0],
        body=old.text != new.text,
        chars_added=added,
        chars_removed=removed,
        similarity=round(2 * matched / total, 4) if total else 1.0,
        diff=_hunk(a, b, head, tail) if a != b else "\n",
    )


def cheap_edit(old: Content, new: Content) -> Changes:
    """`crawler.change_report.describe_edit`'s result in linear time (see the module)."""
    changes = cheap_changes(old, new)
    start = _prefix(old.text, new.text)
    end = _suffix(old.text, new.text, min(len(old.text), len(new.text)) - start)
    begin = max(start - _WINDOW, 0)
    windows = (Content(old.title, old.text[begin:len(old.text) - max(end - _WINDOW, 0)], ""),
               Content(new.title, new.text[begin:len(new.text) - max(end - _WINDOW, 0)], ""))
    matching = match_sentences(split_sentences(windows[0].text),
                               split_sentences(windows[1].text))
    kinds = set(change_kinds(*windows, matching, changes.similarity))
    # The window's first paragraph is the lead only when it starts the text.
    kinds.discard("lead")
    if changes.lead:
        kinds.add("lead")
    return replace(changes, sentences=matching.counts().as_dict(),
                   kinds=tuple(k for k in KINDS if k in kinds))
