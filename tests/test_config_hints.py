"""What a config error says beyond "invalid": the key an unknown one was probably meant to be,
at every level of the config, and why a site rule's selector cannot be used."""

from __future__ import annotations

import pytest

from crawler.config import ConfigError, Settings, parse_config
from crawler.config_hints import known_keys, selector_problem, unknown_key_message


@pytest.mark.parametrize(("loc", "message"), [
    (("storage", "databse"), "unknown key (did you mean 'database'?)"),
    (("fetch", "timout"), "unknown key (did you mean 'timeout'?)"),
    (("fecth",), "unknown key (did you mean 'fetch'?)"),
    (("feeds", 0, "intreval"), "unknown key (did you mean 'interval'?)"),  # a list of tables
    (("sites", "www.example.org", "contnet"), "unknown key (did you mean 'content'?)"),
    (("webhooks", 1, "secrets"), "unknown key (did you mean 'secret'?)"),
    (("storage", "colour"), "unknown key"),  # nothing close: no guess
    (("nosuchtable", "key"), "unknown key"),
    ((), "unknown key"),
])
def test_unknown_keys_get_the_closest_known_key(loc: tuple[int | str, ...], message: str) -> None:
    assert unknown_key_message(Settings, loc) == message


def test_known_keys_are_the_tables_own() -> None:
    assert "database" in known_keys(Settings, ("storage",))
    assert set(known_keys(Settings, ("sites", "any.host"))) == {"content", "ignore"}
    assert known_keys(Settings, ("storage", "database")) == []  # a value, not a table


@pytest.mark.parametrize(("selector", "problem"), [
    ("article .story-body", None),
    ("div.a, p > span", None),
    ("div..a", "'div..a' is not a valid CSS selector"),
    ("p[", "'p[' is not a valid CSS selector"),
    ("p > ", "'p > ' is not a valid CSS selector"),
    ("  ", "is empty"),
])
def test_selectors_are_checked_by_the_parser_that_uses_them(selector: str,
                                                            problem: str | None) -> None:
    assert selector_problem(selector) == problem


@pytest.mark.parametrize(("text", "error"), [
    ('[storage]\ndatabse = "x.db"\n', "storage.databse: unknown key (did you mean 'database'?)"),
    ('[[feeds]]\nurl = "https://e.org/rss"\nintreval = "1h"\n',
     "feeds[0].intreval: unknown key (did you mean 'interval'?)"),
    ('[sites."e.org"]\ncontent = "div..story"\n',
     "sites.e.org.content: 'div..story' is not a valid CSS selector"),
    ('[sites."e.org"]\nignore = [".related", "p["]\n',
     "sites.e.org.ignore: 'p[' is not a valid CSS selector"),
])
def test_the_config_says_what_was_meant(text: str, error: str) -> None:
    feed = '' if "[[feeds]]" in text else '[[feeds]]\nurl = "https://e.org/rss"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(feed + text)
    assert error in str(caught.value).splitlines()


def test_good_selectors_are_accepted() -> None:
    settings = parse_config('[[feeds]]\nurl = "https://e.org/rss"\n[sites."e.org"]\n'
                            'content = "article .story-body"\nignore = [".related", "aside"]\n')
    assert settings.sites["e.org"].ignore == (".related", "aside")
