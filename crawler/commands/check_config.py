"""`crawler check-config`: what the crawler understood of its config, secrets withheld."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from crawler.config import Settings
from crawler.fetch.netguard import is_forbidden
from crawler.redact import redact_url
from crawler.store import describe_storage
from crawler.units import format_duration


def describe(settings: Settings, path: Path) -> str:
    f, r = settings.fetch, settings.recheck
    lines = [
        f"config {path}: valid",
        f"storage: {describe_storage(settings.storage)}",
        f"fetch: user agent {f.user_agent!r}; timeout {format_duration(f.timeout)}; "
        f"max {f.max_bytes} bytes; per host {f.per_host_concurrency} at once, "
        f"{format_duration(f.per_host_delay)} apart; robots.txt "
        f"{'respected' if f.respect_robots_txt else 'ignored'}; private addresses "
        f"{'allowed' if f.allow_private_addresses else 'refused'}",
        "recheck: after " + ", ".join(format_duration(i) for i in r.intervals)
        + f" (last repeats), for {format_duration(r.max_age)} after first seen; a 404/410 "
        f"announced after {r.delete_checks} in a row, a collapse after {r.collapse_checks}, "
        f"returns within {format_duration(r.flap_window)} recorded silently",
        f"logging: level {settings.logging.level}, format {settings.logging.format}, "
        f"file {settings.logging.file or '(none)'}",
        f"feeds ({len(settings.feeds)}):",
    ]
    lines += [f"  {redact_url(feed.url)} every {format_duration(feed.interval)}"
              for feed in settings.feeds]
    if not f.allow_private_addresses:
        lines += [f"  warning: {redact_url(feed.url)} is on a private or local address, which"
                  " fetch.allow_private_addresses = false refuses: it will never be polled"
                  for feed in settings.feeds if _private_host(feed.url)]
    if settings.sites:
        lines.append(f"sites ({len(settings.sites)}):")
        for host, site in settings.sites.items():
            ignore = ", ".join(site.ignore) or "-"
            lines.append(f"  {host}: content {site.content or '(automatic)'}; ignore {ignore}")
    lines.append(f"webhooks ({len(settings.webhooks)}):")
    for hook in settings.webhooks:
        secrets = len(hook.secret)
        lines.append(f"  {redact_url(hook.url)} for {', '.join(hook.events)} "
                     f"({secrets} secret{'s' if secrets > 1 else ''}, not shown)")
    d = settings.delivery
    lines.append(f"delivery: timeout {format_duration(d.timeout)}; retries after "
                 + ", ".join(format_duration(s) for s in d.retry_schedule)
                 + f"; payloads up to {d.max_payload_bytes} bytes")
    return "\n".join(lines)


def _private_host(url: str) -> bool:
    """The URL names a loopback, private or otherwise reserved address outright (an IP
    literal, or localhost). Names are not resolved here: the fetcher checks what they
    resolve to at every connection."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return is_forbidden(address)
