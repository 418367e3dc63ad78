"""A database the daemon's own passes filled from the local news site, and the HTTP endpoint
serving it: what the web view, feed and API tests (and the browser test) read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.config import Settings, load_config
from crawler.httpapi import HttpApi
from crawler.metrics import Metrics
from crawler.store import Store, open_store
from crawler.testing.crawler_process import write_config
from crawler.testing.news_site import NewsSite
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.test_e2e_postgres import use_postgres

HOUR = 3600.0
LEAD = "A storm hit the northern coast on Tuesday night, the regional authorities said."
PARAS = [
    "12 homes were damaged in the village of Westport, according to the fire service.",
    "Residents were evacuated overnight as the water rose above the harbour wall.",
    "The coastguard said two fishing boats were missing.",
]
HOSTILE = "<script>alert(1)</script>"
HOSTILE_TITLE = f"Hostile {HOSTILE} headline"
EDITED = "20"


@dataclass
class Tracked:
    config: Path
    settings: Settings
    storm_url: str
    hostile_url: str
    budget_url: str


async def track_site(tmp_path: Path, site: NewsSite, clock: FakeClock, *,
                     postgres: str | None = None) -> Tracked:
    """Passes of the daemon: three stories are new; the storm story is edited (a number in
    its first paragraph, then a sentence added to its last); the budget story is deleted.
    The hostile story carries a script tag in its headline and text. `postgres`: the
    database URL to store in instead of SQLite."""
    site.add("storm", "Storm hits coast", LEAD, PARAS)
    site.add("hostile", HOSTILE_TITLE, f"A lead quoting {HOSTILE} as text.",
             [f"The page's body also says {HOSTILE} and <b>bold</b> & more."])
    budget = site.add("budget", "Budget vote delayed", "The vote on the budget was delayed.",
                      ["Members of parliament will meet again next week."])
    config = write_config(tmp_path, [site.url("/rss.xml")])
    if postgres is not None:
        use_postgres(config, postgres)
    settings = load_config(config)
    await run_pass(settings, clock)
    storm = site.stories["storm"]
    storm.paragraphs[0] = PARAS[0].replace("12", EDITED)
    clock.advance(2 * HOUR)
    await run_pass(settings, clock)
    storm.paragraphs[2] = PARAS[2] + " One was found later that morning."
    budget.status = 404
    for _ in range(3):
        clock.advance(2 * HOUR)
        await run_pass(settings, clock)
    return Tracked(config, settings, site.article_url("storm"), site.article_url("hostile"),
                   site.article_url("budget"))


@asynccontextmanager
async def serving(settings: Settings, *, host: str = "127.0.0.1", token: str = ""
                  ) -> AsyncIterator[tuple[HttpApi, Store]]:
    """The operator endpoint over the database, opened read-only, on `host`, any port."""
    store = open_store(settings.storage, readonly=True)
    await store.open()

    async def health() -> dict[str, bool]:
        return {"database": await store.ping()}

    api = HttpApi(host, 0, Metrics(), health, store=store, token=token)
    try:
        await api.start()
        yield api, store
    finally:
        await api.stop()
        await store.close()


# The fixtures of the web tests, used by name as test parameters: a clock a day back (so the
# pages' relative times are stable), and a database the daemon's passes filled.
@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC) - timedelta(days=1))


@pytest.fixture
async def tracked(tmp_path: Path, site: NewsSite, clock: FakeClock) -> Tracked:
    return await track_site(tmp_path, site, clock)
