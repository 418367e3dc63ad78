"""Structured logging: one structlog chain for our own events and for stdlib loggers
(aiohttp, asyncio), rendered for people on a terminal and as JSON lines everywhere else.

The stream is the caller's choice: the daemon logs to stdout (the journal under systemd), commands
such as `crawler extract` print their results on stdout and log to stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections.abc import Callable, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import structlog

from crawler.config import LoggingSettings
from crawler.log_context import merge_unit_context
from crawler.redact import redact_text
from crawler.store.write_health import is_storage_fault

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO,
           "warning": logging.WARNING, "error": logging.ERROR}


def _iso_datetimes(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Datetimes as ISO 8601 text, so JSON lines carry `2026-11-26T12:00:00+00:00`, not a repr."""
    for key, value in event.items():
        if isinstance(value, datetime):
            event[key] = value.isoformat()
    return event


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """No credential in a log line: every URL in a text value (the message, fields, a
    formatted traceback) has its userinfo and secret-looking query values masked."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact_text(value)
        elif isinstance(value, (list, tuple)):
            event[key] = [redact_text(v) if isinstance(v, str) else v for v in value]
    return event


# Events that repeat for as long as a storage fault lasts (every check, every write, every
# probe): one line per cause per window, the next one saying how many were left out.
_FLOODING = frozenset({"store_writes_failing", "delivery_not_recorded", "lease_renewal_failed",
                       "store_group_commit_broken", "store_journal_lost"})
RATE_LIMIT_WINDOW = 10.0


class _StorageFaultLimiter:
    """A full disk or a lost database makes every unit of work fail the same way, thousands of
    lines a minute: those lines (a storage fault raised, or one of `_FLOODING`) are written
    once per event and cause per `RATE_LIMIT_WINDOW`, with `repeated` counting the others."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]
                 ) -> MutableMapping[str, Any]:
        cause = self._cause(event)
        if cause is None:
            return event
        key = (str(event.get("event", "")), cause)
        now = self._clock()
        since, dropped = self._last.get(key, (float("-inf"), 0))
        if now - since < RATE_LIMIT_WINDOW:
            self._last[key] = (since, dropped + 1)
            raise structlog.DropEvent
        if len(self._last) > 1000:  # causes with varying text: keep the table bounded
            self._last.clear()
        self._last[key] = (now, 0)
        if dropped:
            event["repeated"] = dropped
        return event

    @staticmethod
    def _cause(event: MutableMapping[str, Any]) -> str | None:
        if event.get("exc_info"):
            exc = sys.exc_info()[1]
            if exc is not None and is_storage_fault(exc):
                return f"{type(exc).__name__}: {exc}"[:200]
        if event.get("event") in _FLOODING:
            return str(event.get("error", ""))[:200]
        return None


def _shared_processors() -> list[Any]:
    return [
        merge_unit_context,
        _iso_datetimes,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


class _JSONLineFormatter(structlog.stdlib.ProcessorFormatter):
    """The JSON line of a record, rendered once for every handler that writes JSON: the
    daemon under systemd writes each line to stdout (the journal) and to its file, and the
    rendering (a copy of the record, redaction, JSON) was two thirds of a line's cost."""

    _RENDERED = "_crawler_json_line"

    def format(self, record: logging.LogRecord) -> str:
        rendered = record.__dict__.get(self._RENDERED)
        if rendered is None:
            rendered = super().format(record)
            record.__dict__[self._RENDERED] = rendered
        return str(rendered)


def _json_formatter() -> logging.Formatter:
    return _JSONLineFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact,
            structlog.processors.EventRenamer("event"),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )


def _console_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redact,
            structlog.dev.ConsoleRenderer(colors=True),
        ],
    )


def configure_logging(settings: LoggingSettings, *, stream: TextIO | None = None) -> None:
    """Install the chain. Safe to call again (a reload replaces the handlers).

    Raises OSError when the log file cannot be opened.
    """
    stream = stream or sys.stderr
    level = _LEVELS[settings.level]
    use_console = settings.format == "console" or (
        settings.format == "auto" and hasattr(stream, "isatty") and stream.isatty()
    )
    handlers: list[logging.Handler] = []
    stream_handler = logging.StreamHandler(stream)
    stream_handler.setFormatter(_console_formatter() if use_console else _json_formatter())
    handlers.append(stream_handler)
    if settings.file:
        path = Path(settings.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        # WatchedFileHandler reopens the file when logrotate moves it away.
        file_handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
        file_handler.setFormatter(_json_formatter())
        handlers.append(file_handler)

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's access log is noise at info level.
    logging.getLogger("aiohttp.access").setLevel(max(level, logging.WARNING))

    structlog.configure(
        processors=[
            # First: a line below the level (a re-check's debug line) costs a level test, not
            # the whole chain (measured: 3 µs a line instead of 7), and is never counted.
            structlog.stdlib.filter_by_level,
            _StorageFaultLimiter(),
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def reopen_log_files() -> None:
    """Reopen file handlers (SIGUSR1 after an external rotation)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.acquire()
            try:
                handler.close()
                handler.stream = handler._open()
            finally:
                handler.release()
