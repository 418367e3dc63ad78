"""Structured logging: JSON lines in the file and on a non-terminal stream, stdlib loggers
routed through the same chain."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from crawler import logging_setup
from crawler.config import LoggingSettings
from crawler.logging_setup import configure_logging
from crawler.redact import redact_text


def test_json_lines_for_our_events_and_stdlib_loggers(tmp_path: Path) -> None:
    stream = io.StringIO()  # not a terminal: "auto" means JSON
    log_file = tmp_path / "logs" / "crawler.jsonl"
    configure_logging(LoggingSettings(level="info", format="auto", file=str(log_file)),
                      stream=stream)
    try:
        structlog.get_logger("crawler.test").info(
            "feed_polled", feed="http://e.org/rss", entries=3,
            next_poll_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
        logging.getLogger("aiohttp.client").warning("connection reset by %s", "peer")
        structlog.get_logger("crawler.test").debug("too_detailed")
    finally:
        for handler in logging.getLogger().handlers:
            handler.flush()
    for text in (stream.getvalue(), log_file.read_text()):
        lines = [json.loads(line) for line in text.splitlines()]
        assert [line["event"] for line in lines] == ["feed_polled", "connection reset by peer"]
        assert lines[0]["feed"] == "http://e.org/rss" and lines[0]["level"] == "info"
        assert lines[0]["next_poll_at"] == "2026-11-26T12:00:00+00:00"
        assert lines[1]["logger"] == "aiohttp.client" and lines[1]["level"] == "warning"
        assert all("timestamp" in line for line in lines)


def test_console_format_is_for_people(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="console", file=""), stream=stream)
    structlog.get_logger("crawler.test").warning("feed_failed", feed="http://e.org/rss")
    out = stream.getvalue()
    assert "feed_failed" in out and "http://e.org/rss" in out
    assert not out.lstrip().startswith("{")


def test_a_line_below_the_level_is_dropped_before_the_chain_counts_it() -> None:
    """A filtered line never reaches the storage-fault limiter: counted there, it would
    have silenced the same fault's next line that is at the level."""
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="info", format="json", file=""), stream=stream)
    log = structlog.get_logger("crawler.test")
    log.debug("store_writes_failing", error="disk I/O error")
    log.warning("store_writes_failing", error="disk I/O error")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("store_writes_failing", "warning")]
    assert "repeated" not in lines[0]


def test_a_line_written_to_the_stream_and_the_file_is_rendered_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    redacted: list[str] = []

    def counting(text: str) -> str:
        redacted.append(text)
        return redact_text(text)

    monkeypatch.setattr(logging_setup, "redact_text", counting)
    stream = io.StringIO()
    log_file = tmp_path / "crawler.jsonl"
    configure_logging(LoggingSettings(level="info", format="json", file=str(log_file)),
                      stream=stream)
    try:
        structlog.get_logger("crawler.test").info(
            "page_failed", url="http://user:secret@e.org/a?token=abc")
        structlog.get_logger("crawler.test").info("feed_polled", entries=3)
    finally:
        for handler in logging.getLogger().handlers:
            handler.flush()
    assert stream.getvalue() == log_file.read_text()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["page_failed", "feed_polled"]
    assert "secret" not in stream.getvalue() and "abc" not in stream.getvalue()
    # Each line's strings went through the redaction once, not once per handler.
    assert redacted.count("page_failed") == 1 and redacted.count("feed_polled") == 1
