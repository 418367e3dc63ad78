"""How the reading commands print: a table on a terminal (rich), tab-separated lines under a
header row when piped, or JSON (`--json`: one document, or one JSON line per item of a list).

Every cell passes through `crawler.terminal.printable_line`, and rich gets `Text` cells (never
markup), so nothing a page said can act on the reader's terminal or break a row in a pipe.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.terminal import json_line, printable_line


def on_terminal(stream: TextIO | None = None) -> bool:
    return (stream or sys.stdout).isatty()


def when(moment: datetime | None, *, terminal: bool) -> str:
    """A time for a cell: "2026-11-26 12:00:00" on a terminal (headers say UTC), RFC 3339
    ("2026-11-26T12:00:00Z") in a pipe; "-" for none."""
    if moment is None:
        return "-"
    return moment.strftime("%Y-%m-%d %H:%M:%S" if terminal else "%Y-%m-%dT%H:%M:%SZ")


def iso(moment: datetime | None) -> str | None:
    """A time in JSON output: RFC 3339 UTC, microseconds kept (a keyset cursor needs them)."""
    if moment is None:
        return None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]], *,
                title: str | None = None, stream: TextIO | None = None) -> None:
    """The rows under their column names: a rich table on a terminal, else a header row and
    one tab-separated line per row (`title` is then left out: a pipe reads rows only)."""
    out = stream or sys.stdout
    if on_terminal(out):
        table = Table(title=Text(printable_line(title)) if title else None)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(Text(printable_line(cell)) for cell in row))
        Console(file=out, highlight=False).print(table)
        return
    out.write("\t".join(columns) + "\n")
    for row in rows:
        out.write("\t".join(printable_line(cell) for cell in row) + "\n")


def print_json(document: Any, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(json_line(document) + "\n")


def print_json_lines(items: Iterable[Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    for item in items:
        out.write(json_line(item) + "\n")
