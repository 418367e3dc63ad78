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
from typing import Any

import structlog

from crawler.clock import ms_since

_started: ContextVar[float | None] = ContextVar("crawler_unit_started", default=None)


@contextmanager
def unit(**context: Any) -> Iterator[None]:
    """Run the block as a unit of work: `context` on its log lines, `unit_ms()` from now."""
    token = _started.set(time.perf_counter())
    try:
        with structlog.contextvars.bound_contextvars(**context):
            yield
    finally:
        _started.reset(token)


def unit_ms() -> float | None:
    """Milliseconds since the current unit of work began, to a tenth; None outside one."""
    started = _started.get()
    return None if started is None else ms_since(started)


def merge_unit_context(_: Any, __: str,
                       event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The structlog processor that puts the unit's keys on a line: first, as a logger's
    bound keys came before, so a line reads `feed=… url=… result=…` whatever logged it. A key
    the line passes itself wins."""
    context = structlog.contextvars.get_contextvars()
    if not context:
        return event
    return {**context, **event}
