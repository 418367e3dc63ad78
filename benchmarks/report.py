"""The results table every benchmark ends with."""

from __future__ import annotations

from collections.abc import Sequence


def print_table(title: str, rows: Sequence[tuple[str, str]], *, value_width: int = 40) -> None:
    """A titled two-column table, keys padded to the longest."""
    width = max(len(key) for key, _ in rows)
    print(f"\n{title}")
    print("-" * (width + value_width))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print("-" * (width + value_width))
