"""Table-driven tests of the pure parts: units, URLs, identity, normalization, scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.config import FeedSettings, RecheckSettings
from crawler.identity import article_identity
from crawler.models import FeedState, Version
from crawler.schedule import next_feed_poll, next_recheck, polls_due_under
from crawler.textnorm import content_hash, make_content, normalize_text
from crawler.units import format_duration, parse_duration, parse_size
from crawler.urls import is_http_url, normalize_url


@pytest.mark.parametrize(("text", "seconds"),
                         [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("0s", 0)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["10", "1.5h", "-1s", "10 minutes", "", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "size"), [("10MB", 10 * 1024**2), ("256KB", 262144),
                                            ("512", 512), ("1GiB", 1024**3), (100, 100)])
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTPS://WWW.Example.ORG:443/a?utm_source=rss&id=7&fbclid=x#top",
     "https://www.example.org/a?id=7"),
    ("http://example.org", "http://example.org/"),
    ("http://example.org:8080/p?gclid=1&utm_medium=feed", "http://example.org:8080/p"),
    ("http://[::1]:9000/x", "http://[::1]:9000/x"),
])
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_relative_urls_resolve() -> None:
    assert normalize_url("../b/c.html", base="https://e.org/news/a/") == "https://e.org/news/b/c.html"


@pytest.mark.parametrize(("url", "ok"), [
    ("https://e.org/a", True), ("http://e.org", True), ("file:///etc/passwd", False),
    ("ftp://e.org/x", False), ("gopher://e.org/", False), ("javascript:alert(1)", False),
    ("data:text/html,<b>x</b>", False), ("http://a:1\\@b/", False), ("//e.org/x", False),
])
def test_only_http_is_http_url(url: str, ok: bool) -> None:
    assert is_http_url(url) is ok


@pytest.mark.parametrize(("final", "claimed", "identity"), [
    ("https://www.e.org/a?utm_source=x", None, "https://www.e.org/a"),
    ("https://www.e.org/a?x=1", "https://www.e.org/story/a", "https://www.e.org/story/a"),
    ("https://www.e.org/a", "/story/a", "https://www.e.org/story/a"),
    ("https://m.e.org/a", "https://www.e.org/a", "https://www.e.org/a"),
    # a page may not claim another site's article, nor the home page, nor a non-http URL
    ("https://www.e.org/a", "https://other.org/a", "https://www.e.org/a"),
    ("https://www.e.org/a", "https://www.e.org/", "https://www.e.org/a"),
    ("https://www.e.org/a", "javascript:void(0)", "https://www.e.org/a"),
])
def test_article_identity(final: str, claimed: str | None, identity: str) -> None:
    assert article_identity(final, claimed) == identity


def test_normalization_ignores_invisible_differences() -> None:
    a = make_content("Title\u00a0here", "First\u200b para.\n\n\n  Second   para. ")
    b = make_content(" Title here", "First para.\r\n\r\nSecond para.")
    assert a == b
    assert a.text == "First para.\n\nSecond para."
    assert a.content_hash.startswith("sha256:") and len(a.content_hash) == 7 + 64
    # NFC: a composed and a decomposed é are the same text
    assert normalize_text("caf\u00e9") == normalize_text("cafe\u0301")


def test_hash_covers_title_and_body() -> None:
    assert content_hash("A", "body") != content_hash("B", "body")
    assert content_hash("A", "body") != content_hash("A", "body.")


def test_recheck_schedule_repeats_last_interval_until_max_age() -> None:
    settings = RecheckSettings.model_validate({"intervals": ["10m", "1h"], "max_age": "1d"})
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_recheck(t0, 0, t0, settings) == t0 + timedelta(minutes=10)
    assert next_recheck(t0, 1, t0, settings) == t0 + timedelta(hours=1)
    later = t0 + timedelta(hours=5)
    assert next_recheck(t0, 7, later, settings) == later + timedelta(hours=1)
    assert next_recheck(t0, 30, t0 + timedelta(hours=23, minutes=30), settings) is None


def test_feed_backoff_and_ttl() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_feed_poll(t0, 600, consecutive_errors=0) == t0 + timedelta(minutes=10)
    assert next_feed_poll(t0, 600, consecutive_errors=0, ttl_seconds=3600) == t0 + timedelta(hours=1)
    assert next_feed_poll(t0, 600, consecutive_errors=0, ttl_seconds=10**6) == t0 + timedelta(hours=6)
    assert next_feed_poll(t0, 600, consecutive_errors=3) == t0 + timedelta(minutes=80)
    assert next_feed_poll(t0, 600, consecutive_errors=40) == t0 + timedelta(days=1)


_T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("polled", "errors", "ttl", "respect", "due_after"), [
    (True, 0, None, True, 600.0),       # the interval in force
    (True, 0, 3600.0, True, 3600.0),    # the gap the feed asked for holds
    (True, 0, 3600.0, False, 600.0),    # ... unless respect_ttl is off
    (True, 0, 300.0, True, 600.0),      # a shorter ttl never shortens the interval
    (True, 3, None, True, 4800.0),      # the backoff, counted with the interval in force
    (False, 0, None, True, None),       # never polled: its first poll stays as synced
])
def test_polls_due_under_the_config_in_force(polled: bool, errors: int, ttl: float | None,
                                             respect: bool, due_after: float | None) -> None:
    feed = FeedSettings.model_validate({"url": "https://e.org/rss", "interval": "10m",
                                         "respect_ttl": respect})
    state = FeedState(feed_url=feed.url, etag=None, last_modified=None,
                      last_polled_at=_T0 if polled else None, last_status="ok",
                      last_error=None, consecutive_errors=errors,
                      next_poll_at=_T0 + timedelta(hours=6), ttl_seconds=ttl)
    unknown = FeedState(feed_url="https://gone.org/rss", etag=None, last_modified=None,
                        last_polled_at=_T0, last_status="ok", last_error=None,
                        consecutive_errors=0, next_poll_at=_T0)
    due = polls_due_under([feed], [state, unknown])
    assert due == ({} if due_after is None else {feed.url: _T0 + timedelta(seconds=due_after)})


def _versions(*spec: tuple[str, float]) -> list[Version]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return [Version(1, n, h, "t", "x", t0 + timedelta(hours=at))
            for n, (h, at) in enumerate(spec, start=1)]


@pytest.mark.parametrize(("spec", "new", "now_h", "window_h", "flap"), [
    ([("A", 0), ("B", 10)], "A", 11, 24, True),     # A was current until 1 h ago
    ([("A", 0), ("B", 10)], "A", 40, 24, False),    # A gone for 30 h: an explicit revert
    ([("A", 0), ("B", 10)], "C", 11, 24, False),    # never seen: a real edit
    ([("A", 0), ("B", 1), ("A", 2), ("B", 3)], "A", 4, 24, True),
    ([("A", 0), ("B", 10)], "A", 11, 0, False),     # window 0: every change announced
])
def test_flap_detection(spec: list[tuple[str, float]], new: str, now_h: float, window_h: float,
                        flap: bool) -> None:
    from crawler.flaps import returns_to_recent_version

    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=now_h)
    assert returns_to_recent_version(_versions(*spec), new, now, window_h * 3600, 1) is flap


def test_a_change_across_extractor_versions_is_no_flap_target() -> None:
    from crawler.flaps import returns_to_recent_version

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    old = Version(1, 1, "A", "t", "x", t0, extractor_version=1)
    rebaselined = Version(1, 2, "B", "t", "y", t0 + timedelta(hours=1), extractor_version=2)
    edited = Version(1, 3, "C", "t", "z", t0 + timedelta(hours=2), extractor_version=2)
    now = t0 + timedelta(hours=3)
    # A -> B was the extractor's doing: back to A's text is an edit, not a flap
    assert returns_to_recent_version([old, rebaselined], "A", now, 86400, 2) is False
    # B -> C was the page's: back to B is a flap under extractor 2, not under a later one
    assert returns_to_recent_version([old, rebaselined, edited], "B", now, 86400, 2) is True
    assert returns_to_recent_version([old, rebaselined, edited], "B", now, 86400, 3) is False
