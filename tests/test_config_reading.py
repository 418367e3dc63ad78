"""Config loading for the commands that need only `[storage]` (`parse_config(reading=True)`):
an entry naming an unset variable is left out, everything else is checked as for the daemon."""

from __future__ import annotations

import pytest

from crawler.config import ConfigError, parse_config

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FEED = '[[feeds]]\nurl = "https://example.org/rss.xml"\n'
HOOKS = f"""
[[webhooks]]
url = "https://hooks.example.org/a"
secret = "${{WEBHOOK_SECRET}}"

[[webhooks]]
url = "https://hooks.example.org/b"
secret = "{SECRET}"

[[notify]]
url = "${{SLACK_APPRISE_URL}}"
"""


def test_entries_naming_unset_variables_are_left_out_when_reading() -> None:
    settings = parse_config(FEED + HOOKS, env={}, reading=True)
    assert [hook.url for hook in settings.webhooks] == ["https://hooks.example.org/b"]
    assert settings.notify == ()
    full = parse_config(FEED + HOOKS, env={"WEBHOOK_SECRET": SECRET,
                                          "SLACK_APPRISE_URL": "json://127.0.0.1/x"},
                        reading=True)
    assert len(full.webhooks) == 2 and len(full.notify) == 1


def test_the_daemon_still_names_every_unset_variable() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(FEED + HOOKS, env={})
    assert str(error.value).splitlines() == [
        "webhooks[0].secret: environment variable WEBHOOK_SECRET is not set",
        "notify[0].url: environment variable SLACK_APPRISE_URL is not set",
    ]


def test_feeds_naming_unset_variables_are_left_out_even_all_of_them() -> None:
    text = '[[feeds]]\nurl = "https://example.org/rss.xml?key=${FEED_KEY}"\n'
    assert parse_config(text, env={}, reading=True).feeds == ()
    with pytest.raises(ConfigError, match="at least one"):
        parse_config("feeds = []\n", env={})
    with pytest.raises(ConfigError, match="FEED_KEY"):
        parse_config(text, env={})


@pytest.mark.parametrize(("text", "message"), [
    ('[storage]\nurl = "postgresql://crawler:${PGPASSWORD}@db/crawler"\n' + FEED,
     "storage.url: environment variable PGPASSWORD is not set"),
    ('[logging]\nfile = "${LOG_DIR}/crawler.jsonl"\n' + FEED,
     "logging.file: environment variable LOG_DIR is not set"),
    (FEED + '[[webhooks]]\nurl = "https://h.example/x"\nsecret = "hunter2"\n',
     "webhooks[0].secret: must be a Standard Webhooks secret"),
    (FEED + '[[webhooks]]\nurl = "https://h.example/x"\nsecret = "${S}"\nnope = 1\n',
     None),
])
def test_what_a_reading_command_needs_is_still_checked(text: str, message: str | None) -> None:
    if message is None:  # the entry is left out whole, its unknown key with it
        assert parse_config(text, env={}, reading=True).webhooks == ()
        return
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(text, env={}, reading=True)
