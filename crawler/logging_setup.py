"""Structured logging: one structlog chain for our own events and for stdlib loggers
(aiohttp, apscheduler), rendered for people on a terminal and as JSON lines everywhere else.

The stream is the caller's choice: the daemon logs to stdout (the journal under systemd), commands
such as `crawler extract` print their results on stdout and log to stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import structlog

from crawler.config import LoggingSettings
from crawler.redact import redact_text

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


def _shared_processors() -> list[Any]:
    return [
        _iso_datetimes,
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
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
    # aiohttp.access and apscheduler's per-run chatter are noise at info level.
    logging.getLogger("apscheduler.executors.default").setLevel(max(level, logging.WARNING))
    logging.getLogger("apscheduler.scheduler").setLevel(max(level, logging.WARNING))
    logging.getLogger("aiohttp.access").setLevel(max(level, logging.WARNING))

    structlog.configure(
        processors=[
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
