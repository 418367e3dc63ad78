"""The operator endpoint: /healthz and /metrics scraped over 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler import httpapi
from crawler.httpapi import HttpApi, ListenError, parse_listen
from crawler.metrics import Metrics, status_class


class Health:
    def __init__(self) -> None:
        self.checks = {"loop": True, "database": True, "scheduler": True}
        self.hang = False
        self.fail = False

    async def __call__(self) -> Mapping[str, bool]:
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail:
            raise RuntimeError("boom")
        return dict(self.checks)


@pytest.fixture
async def api() -> AsyncIterator[tuple[HttpApi, Metrics, Health]]:
    metrics = Metrics()
    health = Health()
    server = HttpApi("127.0.0.1", 0, metrics, health)
    await server.start()
    try:
        yield server, metrics, health
    finally:
        await server.stop()


def url(server: HttpApi, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


async def test_healthz_ok(api: tuple[HttpApi, Metrics, Health]) -> None:
    server, _, _ = api
    assert server.port
    async with aiohttp.ClientSession() as session, session.get(url(server, "/healthz")) as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "status": "ok",
            "checks": {"loop": True, "database": True, "scheduler": True},
        }


async def test_healthz_names_the_failed_check(api: tuple[HttpApi, Metrics, Health]) -> None:
    server, _, health = api
    health.checks["database"] = False
    async with aiohttp.ClientSession() as session, session.get(url(server, "/healthz")) as resp:
        assert resp.status == 503
        body = await resp.json()
    assert body["status"] == "unhealthy"
    assert body["failed"] == ["database"]
    assert body["checks"]["loop"] is True


async def test_healthz_hanging_or_raising_check_is_503(
    api: tuple[HttpApi, Metrics, Health], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _, health = api
    monkeypatch.setattr(httpapi, "HEALTH_TIMEOUT", 0.1)
    async with aiohttp.ClientSession() as session:
        health.hang = True
        async with session.get(url(server, "/healthz")) as resp:
            assert resp.status == 503
            assert "timed out" in (await resp.json())["error"]
        health.hang, health.fail = False, True
        async with session.get(url(server, "/healthz")) as resp:
            assert resp.status == 503
            assert "RuntimeError" in (await resp.json())["error"]


async def test_metrics_scrape(api: tuple[HttpApi, Metrics, Health]) -> None:
    server, metrics, _ = api
    metrics.feed_polled("ok")
    metrics.feed_polled("ok")
    metrics.feed_polled("error")
    metrics.page_fetched(200)
    metrics.page_fetched(404)
    metrics.page_fetched("timeout")
    metrics.extraction_observed(0.02)
    metrics.version_stored()
    metrics.event_emitted("article.edited")
    metrics.delivery_attempted("delivered", 0.3)
    metrics.set_queue_depths(pending_deliveries=4, articles=120, due_articles=7)
    async with aiohttp.ClientSession() as session, session.get(url(server, "/metrics")) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("crawler_feed_polls_total", (("result", "ok"),))] == 2
    assert samples[("crawler_feed_polls_total", (("result", "error"),))] == 1
    assert samples[("crawler_page_fetches_total", (("status", "2xx"),))] == 1
    assert samples[("crawler_page_fetches_total", (("status", "4xx"),))] == 1
    assert samples[("crawler_page_fetches_total", (("status", "5xx"),))] == 0
    assert samples[("crawler_page_fetches_total", (("status", "timeout"),))] == 1
    assert samples[("crawler_extraction_seconds_count", ())] == 1
    assert samples[("crawler_versions_stored_total", ())] == 1
    assert samples[("crawler_events_total", (("type", "article.edited"),))] == 1
    assert samples[("crawler_events_total", (("type", "article.new"),))] == 0
    assert samples[("crawler_delivery_attempts_total", (("outcome", "delivered"),))] == 1
    assert samples[("crawler_delivery_seconds_sum", ())] == pytest.approx(0.3)
    assert samples[("crawler_pending_deliveries", ())] == 4
    assert samples[("crawler_tracked_articles", ())] == 120
    assert samples[("crawler_due_articles", ())] == 7
    assert samples[("crawler_build_info", (("version", "0.1.0"),))] == 1


def test_metrics_instances_are_independent() -> None:
    a, b = Metrics(), Metrics(process_metrics=False)
    a.version_stored()
    assert b"crawler_versions_stored_total 1.0" in a.render()
    assert b"crawler_versions_stored_total 0.0" in b.render()
    b.set_queue_depths(articles=5)
    b.set_queue_depths(due_articles=1)  # None leaves the others as they were
    assert b"crawler_tracked_articles 5.0" in b.render()


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, "2xx"), (304, "3xx"), (410, "4xx"), (503, "5xx"), (999, "invalid"), ("dns", "dns")],
)
def test_status_class(status: int | str, expected: str) -> None:
    assert status_class(status) == expected


async def test_stop_releases_the_port() -> None:
    server = HttpApi("127.0.0.1", 0, Metrics(process_metrics=False), Health())
    await server.start()
    port = server.port
    assert port is not None
    await server.stop()
    await server.stop()  # idempotent
    again = HttpApi("127.0.0.1", port, Metrics(process_metrics=False), Health())
    await again.start()
    assert again.port == port
    await again.stop()


async def test_port_in_use_raises() -> None:
    first = HttpApi("127.0.0.1", 0, Metrics(process_metrics=False), Health())
    await first.start()
    try:
        second = HttpApi("127.0.0.1", first.port or 0, Metrics(process_metrics=False), Health())
        with pytest.raises(ListenError, match=rf"^cannot listen on 127.0.0.1:{first.port} "
                                               r"\(\[http\] listen\): address already in use$"):
            await second.start()
    finally:
        await first.stop()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("[::1]:9464", ("::1", 9464)),
        (":9464", ("127.0.0.1", 9464)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["9464", "host:", "host:port", "::1:9464", "h:70000"])
def test_parse_listen_rejects(value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is for the config error
        parse_listen(value)
