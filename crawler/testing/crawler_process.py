"""The crawler run as an operator runs it, against local servers: the command, the
environment it runs in, and a config for 127.0.0.1 (private addresses allowed, no politeness
delay, JSON logs to a file), written (`write_config`) or loaded (`local_settings`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from crawler.config import Settings, load_config
from crawler.testing.webhook_receiver import WebhookReceiver, webhook_table

# The folder holding the `crawler` package: a subprocess finds this very copy of it.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
CRAWLER_CMD = [sys.executable, "-m", "crawler"]


def subprocess_env(**extra: str) -> dict[str, str]:
    """This process's environment for a crawler subprocess: this copy of the package first,
    no systemd socket (unless `extra` gives one), plus `extra`."""
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    env["PYTHONPATH"] = str(SOURCE_ROOT)
    env.update(extra)
    return env


def write_config(folder: Path, feeds: list[str], *, webhooks: str = "", extra: str = "",
                 intervals: str = '["10m", "30m", "1h"]', recheck: str = "") -> Path:
    """`folder`/crawler.toml for local servers: its database and JSON log in `folder`, each of
    `feeds` polled every second, then `extra` and `webhooks` (TOML text) as given."""
    feed_tables = "".join(f'[[feeds]]\nurl = "{url}"\ninterval = "1s"\n\n' for url in feeds)
    text = f"""
[storage]
database = "{folder / 'crawler.db'}"

[fetch]
timeout = "5s"
per_host_delay = "0s"
per_host_concurrency = 4
allow_private_addresses = true

[recheck]
intervals = {intervals}
{recheck or 'max_age = "7d"'}

[logging]
level = "info"
format = "json"
file = "{folder / 'crawler.jsonl'}"

{extra}

{feed_tables}
{webhooks}
"""
    path = folder / "crawler.toml"
    path.write_text(text, encoding="utf-8")
    return path


def local_settings(folder: Path, feeds: list[str], receiver: WebhookReceiver | None = None, *,
                   events: Sequence[str] = (), **options: str) -> Settings:
    """The settings of `write_config(folder, feeds, **options)`, sending to `receiver` when
    given (the `events` it lists, when given; else the default ones)."""
    webhooks = "" if receiver is None else webhook_table(receiver)
    if events:
        webhooks += f"events = {json.dumps(list(events))}\n"
    return load_config(write_config(folder, feeds, webhooks=webhooks, **options))
