"""`article.restored` and the `changes` of an edit end to end: the local news site, a real
store (an SQLite file, and a PostgreSQL database for the restorations) and webhook receivers
that verify every request with `standardwebhooks`, one listing `article.restored` and one with
the default `events`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawler.config import ConfigError, load_config
from crawler.kinds import EVENT_TYPES
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import NewsSite
from crawler.testing.webhook_receiver import Receiver, start_receiver, webhook_table
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.test_e2e_postgres import use_postgres

LEAD = "A storm hit the northern coast on Tuesday night, the regional authorities said."
PARAS = [
    "12 homes were damaged in the village of Westport, according to the fire service.",
    "Residents were evacuated overnight as the water rose above the harbour wall.",
    "The weather office expects calmer conditions by the weekend, with light winds.",
]
HOUR = 3600.0


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    assert receiver.requests and all(r.verified for r in receiver.requests)
    return [r.json for r in receiver.accepted()]


@pytest.fixture(params=["sqlite", "postgresql"])
def pg_or_sqlite(request: pytest.FixtureRequest) -> str | None:
    """A PostgreSQL URL for the store, or None for the default SQLite file. (Set up outside
    the test's event loop: the server starts on its own.)"""
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else None


async def test_a_deleted_article_that_comes_back_is_restored_for_endpoints_that_ask(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        pg_or_sqlite: str | None) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, list(PARAS))
    async with start_receiver() as default:
        hooks = (webhook_table(receiver) + f"events = {json.dumps(EVENT_TYPES)}\n"
                 + webhook_table(default))
        config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=hooks)
        if pg_or_sqlite is not None:
            use_postgres(config, pg_or_sqlite)
        settings = load_config(config)
        await run_pass(settings, clock)
        steps: list[tuple[int, list[str] | None]] = [
            (404, None),  # taken down
            (200, None),  # back with the same text
            (410, None),  # taken down again
            (200, [*PARAS, "Two people were taken to hospital with minor injuries."]),
        ]
        for status, paragraphs in steps:
            story.status = status
            if paragraphs is not None:
                story.paragraphs = paragraphs
            for _ in range(1 if status == 200 else 2):  # a removal is confirmed by a 2nd check
                clock.advance(2 * HOUR)
                await run_pass(settings, clock)
        told = bodies(receiver)
        assert [b["type"] for b in told] == ["article.new", "article.deleted",
                                             "article.restored", "article.deleted",
                                             "article.restored"]
        # The default list is the three types receivers always had.
        assert [b["type"] for b in bodies(default)] == ["article.new", "article.deleted",
                                                        "article.deleted"]
    new, _, same, _, changed = (b["data"] for b in told)
    assert same == {"article": same["article"], "source": "page", "version": 1,
                    "content_hash": new["content_hash"], "previous_status": 404}
    assert same["article"]["url"] == site.article_url("storm")
    assert changed["version"] == 2 and changed["previous_version"] == 1
    assert changed["previous_status"] == 410 and changed["previous_hash"] == new["content_hash"]
    assert changed["content_hash"] != new["content_hash"]
    assert changed["changes"]["sentences"] == {"added": 1, "deleted": 0, "edited": 0,
                                               "moved": 0}
    assert changed["changes"]["kinds"] == ["addition"]
    assert "+Two people were taken to hospital" in changed["diff"]


async def test_an_edit_event_carries_its_sentences_and_kinds(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, list(PARAS))
    settings = load_config(write_config(tmp_path, [site.url("/rss.xml")],
                                        webhooks=webhook_table(receiver)))
    await run_pass(settings, clock)
    story.title = "Storm batters coast"
    story.paragraphs = [PARAS[0].replace("12 homes", "15 homes"), PARAS[2],
                        "Correction: An earlier version of this article misnamed the village."]
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    [edited] = [b["data"] for b in bodies(receiver) if b["type"] == "article.edited"]
    assert edited["changes"]["sentences"] == {"added": 1, "deleted": 1, "edited": 1,
                                              "moved": 0}
    assert edited["changes"]["kinds"] == ["headline", "correction", "number", "removal"]


@pytest.mark.parametrize(("events", "ok"), [
    ('["article.restored"]', True),
    ('["article.new", "article.restored"]', True),
    ('["article.resurrected"]', False),
])
def test_webhook_events_may_list_article_restored(tmp_path: Path, events: str,
                                                  ok: bool) -> None:
    hook = ('[[webhooks]]\nurl = "http://127.0.0.1:9/h"\n'
            'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n' f"events = {events}\n")
    path = write_config(tmp_path, ["http://127.0.0.1:9/rss.xml"], webhooks=hook)
    if ok:
        assert "article.restored" in load_config(path).webhooks[0].events
    else:
        with pytest.raises(ConfigError, match="events"):
            load_config(path)
