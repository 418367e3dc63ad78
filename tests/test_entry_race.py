"""Two polls racing over one feed-sourced article, interleaved deterministically: the poll of
the feed it is tracked from reads it, then another feed's poll moves it (its fuller entry
re-baselines it) before the first poll records its compare. The first poll's compare was of
the article as it was: recorded, it would be an edit nobody made (the summary read as the
full text cut, or the summary stored as the version the full feed is compared with next).
The real store, the real site; the move runs at the compare's one await point that reads the
store (`read_history`), before or after that read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler import check_history, recorder
from crawler.app import App
from crawler.models import Article
from crawler.testing.crawler_process import local_settings
from crawler.testing.news_site import NewsSite
from crawler.testing.webhook_receiver import Receiver
from tests.conftest import FakeClock
from tests.e2e_support import run_pass
from tests.log_capture import capture_logs

# A lead long enough that the full text (lead and two paragraphs) is a fuller cut of it, and
# it no collapse of the full text: the two feeds' cuts are told apart only by the feed.
LEAD = ("A storm hit the northern coast on Tuesday night, the regional authorities said, "
        "leaving thousands of homes without power and closing the main coastal road. "
        "Emergency crews worked through the night to clear fallen trees and debris.")
PARAS = ["Twelve homes were damaged in the village of Westport, the fire service said.",
         "Residents were evacuated overnight as the water rose above the harbour wall."]
HOUR = 3600.0


def types(receiver: Receiver) -> list[str]:
    return [r.json["type"] for r in receiver.accepted()]


@pytest.mark.parametrize("move", ["before_read", "after_read"])
async def test_a_compare_overtaken_by_a_move_records_nothing(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch, move: str) -> None:
    story = site.add("storm", "Storm hits coast", LEAD, PARAS)
    story.section = "private"  # robots.txt disallows it: tracked from its entry
    atom, rss = site.url("/atom.xml"), site.url("/rss.xml")
    await run_pass(local_settings(tmp_path, [atom], receiver), clock)  # tracked by atom
    clock.advance(HOUR)
    story.lead = LEAD.replace("Tuesday", "Wednesday")  # both feeds carry it from now on
    both = local_settings(tmp_path, [atom, rss], receiver)
    read_history = check_history.read_history

    async with App(both, clock=clock) as app:
        moves: list[str] = []

        async def other_poll() -> None:
            moves.append("moved")
            await app.pipeline.poll_feed(both.feeds[1])  # rss: its fuller entry moves it

        async def racing(store: Any, article: Article, *args: Any) -> Any:
            first = not moves and article.tracked_feed == atom
            if first and move == "before_read":
                await other_poll()
            history = await read_history(store, article, *args)
            if first and move == "after_read":
                await other_poll()
            return history

        monkeypatch.setattr(recorder, "read_history", racing)
        with capture_logs() as logs:
            await app.pipeline.poll_feed(both.feeds[0])  # atom: reads the article, compares
        monkeypatch.setattr(recorder, "read_history", read_history)
        assert moves == ["moved"]
        article = await app.store.find_article_by_url(site.article_url("storm"))
        assert article is not None and article.tracked_feed == rss
        texts = [v.text for v in await app.store.get_versions(article.article_id)]

    assert [line["event"] for line in logs if line["event"] in (
        "rebaselined", "entry_stale")] == ["rebaselined", "entry_stale"]
    [stale] = [line for line in logs if line["event"] == "entry_stale"]
    assert (stale["feed"], stale["compared_feed"], stale["tracked_feed"]) == (atom, atom, rss)
    assert stale["reason"] == "moved to another feed since it was read"
    assert len(texts) == 2 and texts[-1].endswith(PARAS[-1])  # the full text, nothing after
    for _ in range(2):  # the next polls compare against the article as it is now
        site.feed_ttl_minutes = (site.feed_ttl_minutes or 0) + 1
        await run_pass(both, clock)
        clock.advance(HOUR)
    assert types(receiver) == ["article.new"]

