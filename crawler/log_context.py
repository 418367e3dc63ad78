"""The context of a unit of work (a feed poll, an entry followed, a re-check) on every line
logged while it runs, wherever in the package the line is written.

`with unit(url=..., article_id=...):` binds those keys in structlog's context variables and
starts the unit's clock; `unit_ms()` is the time since. Both live in `contextvars`, so they
follow the unit through every await and into the tasks it starts (which copy the context when
created), and never into a sibling task: two re-checks running at once each log their own
`url`. Leaving the block restores what the enclosing unit had bound (an entry followed during
a feed poll leaves the poll's `feed` and its clock), or nothing outside any unit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog

from crawler.clock import ms_since


@dataclass(frozen=True, slots=True)
class _Unit:
    started: float
    """`time.perf_counter()` when the unit began."""
    keys: tuple[str, ...]
    """The order its lines show the bound keys in: the enclosing unit's first, as a logger's
    bound keys came before its own (`feed`, then `url`)."""


_current: ContextVar[_Unit | None] = ContextVar("crawler_unit", default=None)


@contextmanager
def unit(**context: Any) -> Iterator[None]:
    """Run the block as a unit of work: `context` on its log lines, `unit_ms()` from now."""
    outer = _current.get()
    keys = outer.keys if outer else ()
    token = _current.set(_Unit(time.perf_counter(),
                               (*keys, *(key for key in context if key not in keys))))
    try:
        with structlog.contextvars.bound_contextvars(**context):
            yield
    finally:
        _current.reset(token)


def unit_ms() -> float | None:
    """Milliseconds since the current unit of work began, to a tenth; None outside one."""
    current = _current.get()
    return None if current is None else ms_since(current.started)


def merge_unit_context(_: Any, __: str,
                       event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The structlog processor that puts the keys bound in context variables on a line:
    first, in the units' order (then any bound otherwise, sorted), so that a line reads
    `feed=… url=… result=…` whatever module logged it and whichever key was bound first in
    the process. A key the line passes itself wins."""
    context = structlog.contextvars.get_contextvars()
    if not context:
        return event
    current = _current.get()
    first = {key: context.pop(key) for key in (current.keys if current else ()) if key in context}
    return {**first, **dict(sorted(context.items())), **event}
