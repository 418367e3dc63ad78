"""What differs between the stores' SQL, so that a query both stores make is written once.

The stores speak two dialects of one schema (migrations numbered alike, the same columns):
SQLite marks a parameter with `?` and keeps times as fixed-width UTC text, PostgreSQL marks
it with `%s` and keeps `timestamptz`. A few expressions differ where one database would plan
the shared form badly. A `Dialect` holds exactly those differences; queries shared by both
stores are written once with `?` marks and passed through `Dialect.sql` (see `shared_reads`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from crawler.store.records import RowReader


@lru_cache(maxsize=1024)
def _marked(text: str, mark: str) -> str:
    """`text` with `mark` for each `?`. Every statement a PostgreSQL store sends through the
    shared code passes here, the unchanged check's among them: each is rewritten once, then
    looked up. The texts are a fixed set (only table and column names are put into them, and
    `one_of` passes a list as one array, whatever its length), so the cache stays small."""
    if "%" in text:
        raise ValueError(f"a shared statement holds a literal %: {text!r}")
    return text.replace("?", mark)


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    mark: str
    """How a parameter is marked in a statement: "?" or "%s"."""
    write_time: Callable[[datetime], Any]
    """A timezone-aware datetime as passed for a time column."""
    rows: RowReader
    """Records from this store's rows (how a stored time is read)."""
    title_contains: str
    """Condition, with one `?`: the article's title contains the parameter (A-Z folded to
    lower case, as `reads.ascii_lower` folds the parameter; other letters as given)."""
    event_of_feed: str
    """Condition, with one `?`: the event (`e`) is of an article first seen in the feed."""
    values_as_array: bool
    """`one_of` passes its values as one array parameter (`= ANY(%s)`) rather than one
    parameter each (`IN (?, ...)`)."""
    true: str
    false: str
    """The literals a flag column (`deleted`, `configured`) is written with: SQLite keeps
    flags as integers, and its partial indexes are written `configured = 1`."""
    events_tiebreak: str
    """The column that orders one article's events of one time, latest highest."""

    def sql(self, text: str) -> str:
        """`text`, written with `?` marks, in this dialect. Shared statements hold no `%` and
        no `?` but the marks, so the exchange is exact."""
        if self.mark == "?":
            return text
        return _marked(text, self.mark)

    def write_time_opt(self, value: datetime | None) -> Any:
        return None if value is None else self.write_time(value)

    def one_of(self, column: str, values: Sequence[Any], sql_type: str | None = None
               ) -> tuple[str, list[Any]]:
        """Condition "`column` is one of `values`" with `?` marks, and its parameters.
        `sql_type`, when given, fixes the element type of an array parameter (to the
        column's own, whatever the values are: the driver would pick one from them)."""
        if self.values_as_array:
            array = "?" if sql_type is None else f"?::{sql_type}[]"
            return f"{column} = ANY({array})", [list(values)]
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)
