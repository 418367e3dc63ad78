"""Config loading: typed settings, and errors that name the key and the problem."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_config, parse_config, resolve_config_path
from crawler.config_text import key_path, substitute_all
from crawler.testing.crawler_process import CRAWLER_CMD, subprocess_env
from tests.conftest import REPO

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MINIMAL = '[[feeds]]\nurl = "https://example.org/rss.xml"\n'


def test_defaults_follow_the_contract() -> None:
    s = parse_config(MINIMAL, env={})
    assert s.storage.database == "crawler.db"
    assert s.fetch.timeout == 20 and s.fetch.max_bytes == 10 * 1024 * 1024
    assert s.fetch.per_host_concurrency == 2 and s.fetch.per_host_delay == 1
    assert s.fetch.respect_robots_txt and not s.fetch.allow_private_addresses
    assert "crawler" in s.fetch.user_agent and "http" in s.fetch.user_agent
    assert s.recheck.intervals == (600, 1800, 3600, 10800, 43200, 86400)
    assert s.recheck.max_age == 7 * 86400
    assert s.logging.format == "auto" and s.logging.file == "logs/crawler.jsonl"
    assert s.feeds[0].interval == 600
    assert s.webhooks == ()


def test_environment_variables_are_substituted() -> None:
    text = MINIMAL + '[[webhooks]]\nurl = "http://10.0.0.5/hook"\nsecret = "${HOOK_SECRET}"\n'
    s = parse_config(text, env={"HOOK_SECRET": SECRET})
    assert s.webhooks[0].secret == (SECRET,)
    assert s.webhooks[0].events == ("article.new", "article.edited", "article.deleted")


def test_secret_may_be_a_list_for_rotation() -> None:
    other = "whsec_" + "A" * 32
    text = MINIMAL + f'[[webhooks]]\nurl = "http://h/x"\nsecret = ["{SECRET}", "{other}"]\n'
    assert parse_config(text, env={}).webhooks[0].secret == (SECRET, other)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL + "[fetch]\ntimeout = \"20 seconds\"\n", "fetch.timeout: invalid duration"),
        (MINIMAL + "[fetch]\nspeed = 3\n", "fetch.speed: unknown key"),
        (MINIMAL + "[bogus]\nx = 1\n", "bogus: unknown key"),
        ('[[feeds]]\nurl = "ftp://example.org/rss"\n', "feeds[0].url: 'ftp://example.org/rss'"),
        ('[[feeds]]\ninterval = "10m"\n', "feeds[0].url: Field required"),
        ("feeds = []\n", "feeds: at least one"),
        ("", "feeds: Field required"),
        (MINIMAL + '[[webhooks]]\nurl = "http://h/x"\nsecret = "${NOPE}"\n',
         "webhooks[0].secret: environment variable NOPE is not set"),
        (MINIMAL + '[[webhooks]]\nurl = "http://h/x"\nsecret = "hunter2"\n',
         "webhooks[0].secret: must be a Standard Webhooks secret"),
        (MINIMAL + '[[webhooks]]\nurl = "http://h/x"\nsecret = "whsec_abcdefghijkl"\n'
         'events = ["article.created"]\n', "webhooks[0].events[0]"),
        (MINIMAL + "[recheck]\nintervals = []\n", "recheck.intervals: needs at least one"),
        (MINIMAL + "[logging]\nformat = \"xml\"\n", "logging.format"),
        ("[[feeds]\nurl=", "not valid TOML"),
    ],
)
def test_errors_name_the_key_and_problem(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, env={})
    assert expected in str(err.value)


def test_bad_secret_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(MINIMAL + '[[webhooks]]\nurl = "http://h/x"\nsecret = "hunter2"\n', env={})
    assert "hunter2" not in str(err.value)


def test_config_path_resolution(tmp_path: Path) -> None:
    assert resolve_config_path("a.toml", env={"CRAWLER_CONFIG": "b.toml"}) == Path("a.toml")
    assert resolve_config_path(None, env={"CRAWLER_CONFIG": "b.toml"}) == Path("b.toml")
    assert resolve_config_path(None, env={}) == Path("config/crawler.toml")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")


def test_shipped_default_config_is_valid() -> None:
    s = load_config(REPO / "config" / "crawler.toml", env={})
    assert any("rfi.fr/cn" in f.url for f in s.feeds)
    assert len(s.feeds) >= 3


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRAWLER_CMD, *args], cwd=cwd, capture_output=True, text=True,
                          env=subprocess_env(), timeout=60)


def test_check_config_command(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(MINIMAL + f'[[webhooks]]\nurl = "http://h/x"\nsecret = "{SECRET}"\n')
    ok = _cli("check-config", "--config", str(good), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "https://example.org/rss.xml every 10m" in ok.stdout
    assert "a 404/410 announced after 2 in a row, a collapse after 3" in ok.stdout
    assert SECRET not in ok.stdout and "not shown" in ok.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL + "[fetch]\ntimeout = \"soon\"\n")
    failed = _cli("check-config", "--config", str(bad), cwd=tmp_path)
    assert failed.returncode == 2
    assert "fetch.timeout" in failed.stderr and "invalid duration" in failed.stderr


def test_config_error_at_start_exits_2_and_does_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[storage]\ndatabase = "{tmp_path / "x.db"}"\n' + MINIMAL
                   + "[recheck]\nmax_age = 7\n")
    for command in ("run", "once"):
        result = _cli(command, "--config", str(bad), cwd=tmp_path)
        assert result.returncode == 2
        assert "recheck.max_age" in result.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(("table", "expected"), [
    ('[[webhooks]]\nurl = "http://h/x"\nsecret = "whsec_not*base64!!"\n', "not valid base64"),
    ('[[webhooks]]\nurl = "http://h/x"\nsecret = "whsec_QUJDREVGR0g="\n'
     '[[webhooks]]\nurl = "http://h/x"\nsecret = "whsec_QUJDREVGR0g="\n', "listed twice"),
])
def test_webhook_mistakes_are_config_errors(table: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(MINIMAL + table, env={})


@pytest.mark.parametrize(("value", "ok"), [("1", True), ("2", True), ("0", False),
                                           ('"two"', False)])
def test_recheck_delete_checks(tmp_path: Path, value: str, ok: bool) -> None:
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL + f"[recheck]\ndelete_checks = {value}\n")
    if ok:
        assert load_config(path, env={}).recheck.delete_checks == int(value)
    else:
        with pytest.raises(ConfigError, match=r"recheck\.delete_checks"):
            load_config(path, env={})


def test_the_default_config_names_every_key() -> None:
    """config/crawler.toml is the key list with defaults (README): a key added to the
    settings must be named there, set or in a comment."""
    import re

    from crawler.config import Settings
    from tests.conftest import REPO

    text = (REPO / "config" / "crawler.toml").read_text(encoding="utf-8")
    unnamed = []
    for section, field in Settings.model_fields.items():
        keys = getattr(field.annotation, "model_fields", {})
        unnamed += [f"{section}.{key}" for key in keys
                    if not re.search(rf"^\s*#?\s*{key}\s*=", text, re.MULTILINE)]
    assert unnamed == []


@pytest.mark.parametrize(("url", "private"), [
    ("http://127.0.0.1:8080/rss.xml", True), ("http://[::1]/rss", True),
    ("http://10.1.2.3/rss", True), ("http://localhost/rss", True),
    ("http://printer.localhost/rss", True), ("https://example.org/rss.xml", False),
    ("https://93.184.215.14/rss", False),
])
def test_check_config_warns_of_feeds_the_address_policy_refuses(
        tmp_path: Path, url: str, private: bool) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[[feeds]]\nurl = "{url}"\n')
    ok = _cli("check-config", "--config", str(config), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ("will never be polled" in ok.stdout) is private
    config.write_text(f'[fetch]\nallow_private_addresses = true\n[[feeds]]\nurl = "{url}"\n')
    allowed = _cli("check-config", "--config", str(config), cwd=tmp_path)
    assert "will never be polled" not in allowed.stdout


@pytest.mark.parametrize(
    ("loc", "key"),
    [
        (("feeds", 0, "interval"), "feeds[0].interval"),
        (("webhooks", 1, "function-after[_one_or_more()]", "secret"), "webhooks[1].secret"),
        (("recheck", "intervals", "tuple", 2), "recheck.intervals[2]"),
        ((), "(top level)"),
    ],
)
def test_a_validation_error_names_the_key(loc: tuple[int | str, ...], key: str) -> None:
    assert key_path(loc) == key


def test_a_reading_command_drops_only_the_entries_naming_an_unset_variable() -> None:
    raw = {"webhooks": [{"url": "${HOOK}"}, {"url": "http://h/"}],
           "storage": {"path": "${DB}"}, "http": {"token": "${TOKEN}", "listen": ":1"}}
    errors: list[str] = []
    out = substitute_all(raw, {"DB": "x.db"}, errors, reading=True)
    assert out == {"webhooks": [{"url": "http://h/"}], "storage": {"path": "x.db"},
                   "http": {"listen": ":1"}}
    assert errors == []
    substitute_all(raw, {"DB": "x.db"}, errors, reading=False)
    assert errors == ["webhooks[0].url: environment variable HOOK is not set",
                      "http.token: environment variable TOKEN is not set"]
