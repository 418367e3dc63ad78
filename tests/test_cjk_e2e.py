"""A Chinese date change through a real local site and webhook receiver, then `crawler diff`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from crawler.config import load_config
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env, write_config
from crawler.testing.news_site import NewsSite
from crawler.testing.webhook_receiver import Receiver, webhook_table
from tests.conftest import FakeClock
from tests.e2e_support import run_pass

LEAD = "北约峰会将于1月17日至18日在比利时布鲁塞尔的北约总部举行，第二天另行举行由韩国、日本参与的会议。"
PARAS = ["各国领导人将讨论乌克兰局势以及对俄罗斯的制裁问题，会议预计将发表联合声明。",
         "法国总统表示，欧洲必须加强自身的防务能力，并增加在国防方面的投入。"]


async def test_a_two_character_date_change_is_two_characters_in_the_event_and_the_diff(
        tmp_path: Path, site: NewsSite, receiver: Receiver, clock: FakeClock) -> None:
    story = site.add("nato", "北约峰会将在布鲁塞尔举行", LEAD, PARAS)
    config = write_config(tmp_path, [site.url("/rss.xml")], webhooks=webhook_table(receiver))
    settings = load_config(config)
    await run_pass(settings, clock)
    story.lead = LEAD.replace("1月17日至18日", "1月18日至19日")
    clock.advance(2 * 3600)
    await run_pass(settings, clock)
    [edited] = [r.json["data"] for r in receiver.accepted() if r.json["type"] == "article.edited"]
    assert (edited["changes"]["chars_added"], edited["changes"]["chars_removed"]) == (2, 2)
    assert edited["changes"]["lead"] is True and all(r.verified for r in receiver.requests)

    result = subprocess.run([*CRAWLER_CMD, "diff", site.article_url("nato"), "--format", "words",
                             "--config", str(config)], cwd=tmp_path, env=subprocess_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "北约峰会将于1月1[-7-]{+8+}日至1[-8-]{+9+}日在比利时" in result.stdout
