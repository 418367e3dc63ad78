"""Prometheus metrics for the daemon, in a registry each `Metrics` instance owns.

No global registry: tests (and `crawler once` inside a test run) build many instances, and
prometheus_client refuses to register the same metric name twice in one registry.

Label values are kept to small fixed sets (a result, a status class, an event type, an outcome):
never a URL or a host, so the number of series stays bounded over months of running.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from crawler import __version__
from crawler.kinds import EVENT_TYPES

# The classic text format that `generate_latest` writes and every Prometheus version parses.
# Spelled out because recent prometheus_client releases point CONTENT_TYPE_LATEST at 1.0.0,
# which older scrapers do not know, and its own server still answers plain scrapes with 0.0.4.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Extraction is CPU work on one page: milliseconds normally, seconds on a pathological page.
_EXTRACTION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Webhook round trips: up to the delivery timeout (15 s by default) and a little beyond.
_DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)


def status_class(status: int | str) -> str:
    """"2xx".."5xx" for an HTTP status; a string (e.g. "timeout", "error") is kept as given."""
    if isinstance(status, int):
        if 100 <= status <= 599:
            return f"{status // 100}xx"
        return "invalid"
    return status


class Metrics:
    """The daemon's counters, histograms and gauges; `render()` gives the exposition text."""

    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        if process_metrics:
            # Memory and file descriptors over time are what a months-long run needs watched.
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        Info("crawler_build", "Version of the running crawler.", registry=r).info(
            {"version": __version__}
        )
        self._feed_polls = Counter(
            "crawler_feed_polls", "Feed polls by result.", ["result"], registry=r
        )
        self._fetches = Counter(
            "crawler_page_fetches",
            "Article page fetches by HTTP status class (or error kind).",
            ["status"],
            registry=r,
        )
        self._extraction = Histogram(
            "crawler_extraction_seconds",
            "Time to extract one article from its HTML.",
            buckets=_EXTRACTION_BUCKETS,
            registry=r,
        )
        self._skipped = Counter(
            "crawler_checks_skipped",
            "Re-checks answered from the page cache, without extraction: by reason"
            " (not_modified: a 304; same_bytes: a body identical to the one last read).",
            ["reason"],
            registry=r,
        )
        self._versions = Counter(
            "crawler_versions_stored", "Article versions stored.", registry=r
        )
        self._events = Counter("crawler_events", "Events emitted by type.", ["type"], registry=r)
        self._rebaselined = Counter(
            "crawler_rebaselined",
            "Articles whose text changed only because the extractor did: a version was stored "
            "without an event.",
            registry=r,
        )
        self._deliveries = Counter(
            "crawler_delivery_attempts",
            "Webhook delivery attempts by outcome.",
            ["outcome"],
            registry=r,
        )
        self._delivery_latency = Histogram(
            "crawler_delivery_seconds",
            "Duration of one webhook delivery attempt.",
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self._pending = Gauge(
            "crawler_pending_deliveries", "Webhook deliveries not yet done.", registry=r
        )
        self._articles = Gauge("crawler_tracked_articles", "Articles being tracked.", registry=r)
        self._due = Gauge(
            "crawler_due_articles", "Articles whose re-check is due now.", registry=r
        )
        # Series that exist from the start at 0, so rate() and absent-series alerts work
        # before the first occurrence.
        # Kept by label value: `labels()` takes a lock and validates the labels, a
        # noticeable part of a re-check answered 304 (which counts a fetch and a skip).
        self._fetch_series: dict[str, Counter] = {
            status: self._fetches.labels(status=status)
            for status in ("2xx", "3xx", "4xx", "5xx")}
        for event_type in EVENT_TYPES:
            self._events.labels(type=event_type)
        self._skip_series: dict[str, Counter] = {
            reason: self._skipped.labels(reason=reason)
            for reason in ("not_modified", "same_bytes")}

    def feed_polled(self, result: str) -> None:
        """One feed poll ended: e.g. "ok", "not_modified", "error"."""
        self._feed_polls.labels(result=result).inc()

    def page_fetched(self, status: int | str) -> None:
        """One page fetch ended with an HTTP status, or an error kind such as "timeout"."""
        label = status_class(status)
        series = self._fetch_series.get(label)
        if series is None:
            series = self._fetch_series[label] = self._fetches.labels(status=label)
        series.inc()

    def check_skipped(self, reason: str) -> None:
        """A re-check was unchanged without extraction: "not_modified" or "same_bytes"."""
        series = self._skip_series.get(reason)
        if series is None:
            series = self._skip_series[reason] = self._skipped.labels(reason=reason)
        series.inc()

    def extraction_observed(self, seconds: float) -> None:
        self._extraction.observe(seconds)

    def version_stored(self) -> None:
        self._versions.inc()

    def rebaselined(self) -> None:
        self._rebaselined.inc()

    def event_emitted(self, type: str) -> None:
        self._events.labels(type=type).inc()

    def delivery_attempted(self, outcome: str, seconds: float) -> None:
        """One webhook POST ended: e.g. "delivered", "retry", "failed", "disabled"."""
        self._deliveries.labels(outcome=outcome).inc()
        self._delivery_latency.observe(seconds)

    def set_queue_depths(
        self,
        *,
        pending_deliveries: int | None = None,
        articles: int | None = None,
        due_articles: int | None = None,
    ) -> None:
        """Update the gauges from a periodic count; None leaves a gauge unchanged."""
        if pending_deliveries is not None:
            self._pending.set(pending_deliveries)
        if articles is not None:
            self._articles.set(articles)
        if due_articles is not None:
            self._due.set(due_articles)

    def render(self) -> bytes:
        """The Prometheus text exposition (serve with CONTENT_TYPE)."""
        return generate_latest(self.registry)
