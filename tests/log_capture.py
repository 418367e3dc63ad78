"""`structlog.testing.capture_logs` as the configured chain sees lines: with the keys of the
unit of work they were logged in (`crawler.log_context`), which capturing alone leaves out."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from structlog.testing import capture_logs as _capture_logs

from crawler.log_context import merge_unit_context


@contextmanager
def capture_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """The lines logged in the block, each with its unit's keys (`url`, `feed`, ...)."""
    with _capture_logs(processors=[merge_unit_context]) as logs:
        yield logs
