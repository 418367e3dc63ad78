"""`crawler diff ARTICLE`: the diff between two stored versions.

`--format words` shows a header naming both versions and their times, then the headline and
the changed paragraphs with `context` unchanged paragraphs around each (all of them with
`full`). On a terminal changes are coloured; piped (or with NO_COLOR) they are marked
`[-removed-]{+added+}`, git's plain word-diff style, so nothing is lost in a pipe. Every text
from the web goes through `crawler.terminal` before it is printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from crawler.change_report import describe_edit
from crawler.commands.history import load_article, unknown
from crawler.config import Settings
from crawler.diffing import Block, paragraph_diff, unified_diff
from crawler.events import changes_json
from crawler.models import Content, Version
from crawler.redact import redact_url
from crawler.terminal import json_line, printable, printable_line

_STYLES = {"insert": "bold green", "delete": "bold red strike", "equal": ""}
_MARKS = {"insert": ("{+", "+}"), "delete": ("[-", "-]"), "equal": ("", "")}
DEFAULT_WORD_CONTEXT = 1
DEFAULT_UNIFIED_CONTEXT = 3


@dataclass(frozen=True, slots=True)
class Gap:
    """Unchanged paragraphs left out of a word diff."""

    count: int


def shown(blocks: Sequence[Block], context: int | None) -> list[Block | Gap]:
    """The blocks a word diff prints: the headline, every changed block and `context`
    unchanged ones on each side of it, the others folded into gaps (None: every block)."""
    if context is None:
        return list(blocks)
    changed = [i for i, block in enumerate(blocks) if block.changed]
    keep = {0}
    for i in changed:
        keep.update(range(max(0, i - context), min(len(blocks), i + context + 1)))
    out: list[Block | Gap] = []
    for i, block in enumerate(blocks):
        if i in keep:
            out.append(block)
        elif out and isinstance(out[-1], Gap):
            out[-1] = Gap(out[-1].count + 1)
        else:
            out.append(Gap(1))
    return out


def _header(article_url: str, old: Version, new: Version) -> list[str]:
    def when(v: Version) -> str:
        return f"version {v.number} ({v.fetched_at.strftime('%Y-%m-%d %H:%M:%S')} UTC)"

    return [printable_line(article_url), f"{when(old)} -> {when(new)}"]


def _gap_line(gap: Gap) -> str:
    return f"(... {gap.count} unchanged paragraph{'s' if gap.count > 1 else ''})"


def words_plain(header: list[str], items: Sequence[Block | Gap]) -> str:
    """The word diff as plain text with `[-removed-]{+added+}` markers."""
    parts: list[str] = []
    for item in items:
        if isinstance(item, Gap):
            parts.append(_gap_line(item))
        else:
            parts.append("".join(f"{_MARKS[c.op][0]}{printable(c.text)}{_MARKS[c.op][1]}"
                                 for c in item.changes))
    return "\n".join(header) + "\n\n" + "\n\n".join(parts) + "\n"


def words_coloured(header: list[str], items: Sequence[Block | Gap]) -> Text:
    """The word diff for a terminal: removed text red and struck through, added text green."""
    text = Text()
    for line in header:
        text.append(line + "\n", style="bold")
    for item in items:
        text.append("\n")
        if isinstance(item, Gap):
            text.append(_gap_line(item) + "\n", style="dim")
            continue
        for change in item.changes:
            text.append(printable(change.text), style=_STYLES[change.op])
        text.append("\n")
    return text


def _content(v: Version) -> Content:
    return Content(v.title, v.text, v.content_hash)


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


async def show_diff(settings: Settings, url: str, from_version: int | None,
                    to_version: int | None, fmt: str, *, context: int | None = None,
                    full: bool = False) -> int:
    """Print the diff; 1 when the article or a version is unknown. `context`: unchanged
    paragraphs (words) or lines (unified) around each change, None for the default; `full`:
    all of them."""
    found = await load_article(settings, url)
    if found is None:
        return unknown(url)
    article, versions = found
    by_number = {v.number: v for v in versions}
    to_n = to_version if to_version is not None else versions[-1].number
    from_n = from_version if from_version is not None else to_n - 1
    if from_n not in by_number or to_n not in by_number:
        known = ", ".join(str(n) for n in by_number)
        if len(versions) == 1 and from_version is None and to_version is None:
            print("crawler: only one version is stored; nothing to compare", file=sys.stderr)
            return 0
        print(f"crawler: version {from_n if from_n not in by_number else to_n} is not stored "
              f"(versions: {known})", file=sys.stderr)
        return 1
    if from_n == to_n:
        print(f"crawler: --from and --to both name version {to_n}; nothing to compare",
              file=sys.stderr)
        return 0
    old_v, new_v = by_number[from_n], by_number[to_n]
    old, new = _content(old_v), _content(new_v)
    if fmt == "auto":
        fmt = "words" if sys.stdout.isatty() else "unified"
    if fmt == "json":
        # Described as the daemon describes an edit: what a receiver got (or would get).
        changes = describe_edit(old, new)
        print(json_line({
            "from": from_n, "to": to_n, "previous_hash": old.content_hash,
            "content_hash": new.content_hash, "changes": changes_json(changes),
            "diff": changes.diff,
        }))
    elif fmt == "unified":
        lines = 1 + len(old.text) + len(new.text) if full else context
        sys.stdout.write(printable(unified_diff(
            old, new, f"version {from_n}", f"version {to_n}",
            DEFAULT_UNIFIED_CONTEXT if lines is None else lines)))
    else:
        header = _header(redact_url(article.canonical_url), old_v, new_v)
        blocks = paragraph_diff(old, new)
        items = shown(blocks, None if full else
                      (DEFAULT_WORD_CONTEXT if context is None else context))
        if not any(b.changed for b in blocks):
            header.append("(same headline and text)")
        if _colour():
            Console(highlight=False).print(words_coloured(header, items), end="")
        else:
            sys.stdout.write(words_plain(header, items))
    return 0
