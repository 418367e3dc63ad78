"""The configuration: TOML on disk, validated into frozen, typed settings.

Loading is pure apart from reading the file and the environment: `load_config(path)` returns a
`Settings` or raises `ConfigError` whose message names every offending key and its problem.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crawler import PROJECT_URL, __version__
from crawler.config_hints import selector_problem, unknown_key_message
from crawler.config_text import key_path, substitute_all
from crawler.kinds import DEFAULT_EVENT_TYPES, EventType
from crawler.redact import has_userinfo, redact_url
from crawler.units import parse_duration, parse_size
from crawler.urls import is_http_url

DEFAULT_CONFIG_PATH = Path("config/crawler.toml")
CONFIG_ENV_VAR = "CRAWLER_CONFIG"
DEFAULT_USER_AGENT = f"crawler/{__version__} (news change monitor; +{PROJECT_URL})"



class ConfigError(Exception):
    """The config cannot be used. The message names the key(s) and the problem(s)."""


def _duration(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError('must be a duration string like "30s", "10m", "2h", "1d"')
    return parse_duration(value)


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError('must be a size like "10MB"')
    return parse_size(value)


def _http_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a URL string")
    if not is_http_url(value.strip()):
        raise ValueError(f"{redact_url(value)!r} is not an absolute http(s) URL")
    return value.strip()


def _feed_url(value: Any) -> str:
    url = _http_url(value)
    if has_userinfo(url):
        # A password in a feed URL would be printed, logged and sent with every event; the
        # value is not echoed.
        raise ValueError("must not carry a user name or password (user:pass@host); "
                         "use a token the feed accepts in its query, or a feed without one")
    return url


Duration = Annotated[float, BeforeValidator(_duration)]
Size = Annotated[int, BeforeValidator(_size)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
FeedUrl = Annotated[str, BeforeValidator(_feed_url)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(_Section):
    database: str = "crawler.db"
    # Instead of `database`: a PostgreSQL database a fleet of daemons shares (CONTRACT.md).
    url: str = ""

    @field_validator("url")
    @classmethod
    def _postgresql_url(cls, value: str) -> str:
        value = value.strip()
        if value and urlsplit(value).scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL (or leave it out for SQLite)")
        return value

    @model_validator(mode="after")
    def _one_database(self) -> StorageSettings:
        if self.url and "database" in self.model_fields_set:
            raise ValueError("give either `database` (SQLite) or `url` (PostgreSQL), not both")
        return self


class FetchSettings(_Section):
    user_agent: str = DEFAULT_USER_AGENT
    timeout: Duration = 20.0
    max_bytes: Size = 10 * 1024 * 1024
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    per_host_delay: Duration = 1.0
    respect_robots_txt: bool = True
    allow_private_addresses: bool = False
    # Not in the first contract; added keys.
    global_concurrency: int = Field(default=16, ge=1, le=1024)
    max_redirects: int = Field(default=10, ge=0, le=20)

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be longer than 0s")
        return value


class RecheckSettings(_Section):
    intervals: tuple[Duration, ...] = (600.0, 1800.0, 3600.0, 10800.0, 43200.0, 86400.0)
    max_age: Duration = 7 * 86400.0
    # Additions. An extraction that suddenly loses most of the text (paywall, redesign, error
    # page served with 200) is announced only once it has persisted this many checks in a row.
    collapse_checks: int = Field(default=3, ge=1, le=100)
    # A return to a version seen within this window (A/B tests, CDN replicas out of sync) is
    # recorded, not announced; "0s" announces every change.
    flap_window: Duration = 86400.0
    # A page answering 404/410 is announced deleted only once this many checks in a row found
    # it gone (the confirming ones come within minutes): a load balancer with one bad node, or
    # a CDN edge answering before the origin has the page, must not delete a live article.
    delete_checks: int = Field(default=2, ge=1, le=100)

    @field_validator("intervals")
    @classmethod
    def _non_empty(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("needs at least one interval")
        if any(v <= 0 for v in value):
            raise ValueError("intervals must be longer than 0s")
        return value


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"
    file: str = "logs/crawler.jsonl"

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class FeedSettings(_Section):
    url: FeedUrl
    interval: Duration = 600.0
    # Addition: false ignores the feed's own <ttl> / Cache-Control max-age (your own feeds).
    respect_ttl: bool = True

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value < 1:
            raise ValueError("must be at least 1s")
        return value


class SiteSettings(_Section):
    content: str | None = None
    ignore: tuple[str, ...] = ()

    @field_validator("content")
    @classmethod
    def _content_selector(cls, value: str | None) -> str | None:
        # Checked here, by the parser that applies it: a bad selector would otherwise fail
        # every extraction of the site, page by page, long after the config was accepted.
        if value is not None and (problem := selector_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("ignore")
    @classmethod
    def _ignore_selectors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for selector in value:
            if (problem := selector_problem(selector)) is not None:
                raise ValueError(problem)
        return value


class WebhookSettings(_Section):
    url: HttpUrl
    secret: tuple[str, ...]
    events: tuple[EventType, ...] = DEFAULT_EVENT_TYPES
    # Addition: only events of articles first seen in these feeds (empty: every feed).
    feeds: tuple[HttpUrl, ...] = ()

    @field_validator("secret", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ValueError("must be a secret string or a non-empty list of them")
        for secret in value:
            # Never echo the secret itself: it would end up in logs.
            if not isinstance(secret, str) or not secret.startswith("whsec_") or len(secret) < 14:
                raise ValueError("must be a Standard Webhooks secret: whsec_ followed by base64")
            try:
                base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except binascii.Error:
                raise ValueError("the part after whsec_ is not valid base64") from None
        return tuple(value)


class NotifySettings(_Section):
    """A notification for people (chat, email) through Apprise (an addition; optional extra)."""

    url: str
    events: tuple[EventType, ...] = DEFAULT_EVENT_TYPES
    feeds: tuple[HttpUrl, ...] = ()

    @field_validator("url")
    @classmethod
    def _apprise_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be an Apprise URL such as \"mailto://...\" or \"tgram://...\"")
        return value


MIN_PAYLOAD_BYTES = 16 * 1024


class DeliverySettings(_Section):
    """Webhook delivery tuning (an addition to the first contract)."""

    timeout: Duration = 15.0
    # Gap before each attempt after the first; the Standard Webhooks schedule, about three days.
    retry_schedule: tuple[Duration, ...] = (
        5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0,
    )
    max_payload_bytes: Size = 256 * 1024
    concurrency_per_endpoint: int = Field(default=4, ge=1, le=64)
    # An endpoint that has failed every attempt for this long is paused (one probe per
    # `probe_every` until it answers 2xx, or `crawler deliveries resume`).
    pause_after: Duration = 86400.0
    probe_every: Duration = 3600.0

    @field_validator("max_payload_bytes")
    @classmethod
    def _room_for_an_event(cls, value: int) -> int:
        # The fields that are never cut (type, ids, hashes, numbers) and a cut headline and
        # URLs need a few KB; below this an event could not be sent whole at all.
        if value < MIN_PAYLOAD_BYTES:
            raise ValueError(f"must be at least {MIN_PAYLOAD_BYTES // 1024}KB")
        return value


class HttpSettings(_Section):
    """The optional local HTTP endpoint: /healthz, /metrics, the web view and its API."""

    listen: str = ""
    token: str = ""
    """Pages, feed and API answer 401 without it ("": none; then they are served on a
    loopback `listen` only). Never echoed: it would end up in logs."""

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value:
            from crawler.httpapi import parse_listen

            parse_listen(value)
        return value


class Settings(_Section):
    storage: StorageSettings = StorageSettings()
    fetch: FetchSettings = FetchSettings()
    recheck: RecheckSettings = RecheckSettings()
    logging: LoggingSettings = LoggingSettings()
    delivery: DeliverySettings = DeliverySettings()
    http: HttpSettings = HttpSettings()
    feeds: tuple[FeedSettings, ...]
    sites: Mapping[str, SiteSettings] = Field(default_factory=dict)
    webhooks: tuple[WebhookSettings, ...] = ()
    notify: tuple[NotifySettings, ...] = ()

    @field_validator("notify")
    @classmethod
    def _apprise_installed(cls, value: tuple[NotifySettings, ...]) -> tuple[NotifySettings, ...]:
        if value:
            import importlib.util

            if importlib.util.find_spec("apprise") is None:
                raise ValueError("[[notify]] needs the optional Apprise extra: "
                                 "pip install 'crawler[notify]'")
        return value

    @field_validator("webhooks")
    @classmethod
    def _distinct_webhooks(
        cls, value: tuple[WebhookSettings, ...]
    ) -> tuple[WebhookSettings, ...]:
        urls = [hook.url for hook in value]
        for url in urls:
            if urls.count(url) > 1:
                raise ValueError(f"{url} is listed twice; use one entry with several events")
        return value

    @field_validator("feeds")
    @classmethod
    def _feeds(cls, value: tuple[FeedSettings, ...],
               info: ValidationInfo) -> tuple[FeedSettings, ...]:
        reading = bool(info.context and info.context.get("reading"))
        if not value and not reading:
            raise ValueError("at least one [[feeds]] entry is required")
        seen: set[str] = set()
        for feed in value:
            if feed.url in seen:
                raise ValueError(f"{feed.url} is listed twice")
            seen.add(feed.url)
        return value

    def site_rules_for(self, host: str) -> SiteSettings | None:
        """The `[sites."host"]` rules for a host, also matching without a leading "www."."""
        host = host.lower()
        for name in (host, host.removeprefix("www."), "www." + host):
            if name in self.sites:
                return self.sites[name]
        return None


def parse_config(
    text: str, env: Mapping[str, str] | None = None, source: str = "config", *,
    reading: bool = False,
) -> Settings:
    """Settings from TOML text. Raises ConfigError listing every problem with its key.

    `reading`: for commands that only read the database. A `[[webhooks]]`, `[[notify]]` or
    `[[feeds]]` entry that names an unset environment variable is then left out (and no feed
    at all is no error), so an operator without the daemon's secrets in the shell can still
    look at what is stored; every other problem is reported as usual."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    errors: list[str] = []
    raw = substitute_all(raw, os.environ if env is None else env, errors, reading=reading)
    if errors:
        raise ConfigError("\n".join(errors))
    try:
        return Settings.model_validate(raw, context={"reading": reading})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = unknown_key_message(Settings, tuple(err["loc"]))
            lines.append(f"{key_path(tuple(err['loc']))}: {msg}")
        raise ConfigError("\n".join(lines)) from None


def resolve_config_path(cli_value: str | None, env: Mapping[str, str] | None = None) -> Path:
    """--config, else $CRAWLER_CONFIG, else config/crawler.toml."""
    env = os.environ if env is None else env
    if cli_value:
        return Path(cli_value)
    if env.get(CONFIG_ENV_VAR):
        return Path(env[CONFIG_ENV_VAR])
    return DEFAULT_CONFIG_PATH


def load_config(path: Path, env: Mapping[str, str] | None = None, *,
                reading: bool = False) -> Settings:
    """Read and validate a config file (`reading`: see `parse_config`). Raises ConfigError
    (unreadable file included)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path} is not UTF-8 text") from None
    return parse_config(text, env, source=str(path), reading=reading)
