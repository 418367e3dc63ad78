"""`crawler deliveries` (pending, failed and disabled deliveries and each endpoint's health),
`crawler deliveries replay` and `crawler deliveries resume`.

They read and write the database the daemon uses, beside it; the listing opens the store
read-only, replay and resume write a few rows; none of them migrates. Nothing secret is
printed: webhook secrets are not in the database, endpoint URLs are shown without credentials,
query or fragment (tokens live there), and `[[notify]]` targets by their "apprise:<hex>" key.
`--endpoint` takes any of these forms, the full URL or the `[[notify]]` URL itself.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crawler.clock import utc_now
from crawler.commands.output import iso, print_json_lines
from crawler.config import Settings
from crawler.events import notify_endpoint_key
from crawler.kinds import EndpointState
from crawler.models import Delivery
from crawler.redact import bare_url, fingerprinted_url
from crawler.store import DatabaseMissingError, Store, open_store
from crawler.terminal import printable_line

LISTED = ("pending", "failed", "disabled")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def health_text(state: EndpointState | None) -> str:
    """One word and a time: "ok", "failing since ...", "paused since ...", "disabled since"."""
    if state is None:
        return "ok"
    if state.disabled:
        return f"disabled since {_when(state.disabled_at)} (410)"
    if state.paused:
        return f"paused since {_when(state.paused_at)}, next probe {_when(state.next_probe_at)}"
    if state.failing_since is not None:
        return f"failing since {_when(state.failing_since)}"
    return "ok"


def resolve_endpoint(given: str, settings: Settings, known: set[str]) -> str | list[str]:
    """The outbox name `given` stands for, or the candidates when it is unknown (empty) or
    ambiguous (several)."""
    candidates = (known | {hook.url for hook in settings.webhooks}
                  | {notify_endpoint_key(n.url) for n in settings.notify})
    if given in candidates:
        return given
    if any(n.url == given for n in settings.notify):
        return notify_endpoint_key(given)
    matches = sorted(c for c in candidates if given in (fingerprinted_url(c), bare_url(c)))
    return matches[0] if len(matches) == 1 else matches


async def _open(settings: Settings, *, readonly: bool) -> Store:
    store = open_store(settings.storage, readonly=readonly)
    try:
        await store.open()
    except BaseException:
        await store.close()
        raise
    return store


PIPED_COLUMNS = ("endpoint", "status", "event_id", "type", "attempts", "next_attempt",
                 "last_answer", "last_error", "endpoint_health")


def delivery_json(endpoint: str, d: Delivery | None, state: EndpointState | None) -> dict[str, Any]:
    """One line of `crawler deliveries --json`: a delivery (None: an endpoint whose health is
    stored but that has no listed delivery) and its endpoint's health."""
    health = {"health": health_text(state),
              "failing_since": iso(state.failing_since) if state else None,
              "paused_at": iso(state.paused_at) if state else None,
              "disabled_at": iso(state.disabled_at) if state else None}
    base: dict[str, Any] = {"endpoint": fingerprinted_url(endpoint), "endpoint_state": health}
    if d is None:
        return {**base, "status": None, "event_id": None, "type": None, "attempts": None,
                "next_attempt": None, "last_answer": None, "last_error": None}
    return {**base, "status": d.status, "event_id": d.event_id, "type": d.event_type,
            "attempts": d.attempts, "next_attempt": iso(d.next_attempt_at),
            "last_answer": d.last_status, "last_error": d.last_error}


def _or_none(items: list[Delivery]) -> list[Delivery | None]:
    return [*items] or [None]


async def list_deliveries(settings: Settings, *, as_json: bool = False) -> int:
    """The listing: a table per endpoint on a terminal, a header row and one tab-separated
    line per delivery when piped, JSON lines with `as_json`."""
    try:
        store = await _open(settings, readonly=True)
    except DatabaseMissingError as exc:
        # Nothing was ever queued: that is an answer, not a failure (CONTRACT.md: exit 0).
        print(f"crawler: {exc}", file=sys.stderr)
        if not as_json:
            print("no pending, failed or disabled deliveries")
        return 0
    try:
        rows = await store.list_deliveries(LISTED)
        states = {s.url: s for s in await store.list_endpoint_states()}
    finally:
        await store.close()
    by_endpoint: dict[str, list[Delivery]] = defaultdict(list)
    for row in rows:
        by_endpoint[row.endpoint_url].append(row)
    for url in states:
        by_endpoint.setdefault(url, [])
    if as_json:
        print_json_lines(delivery_json(endpoint, d, states.get(endpoint))
                         for endpoint, items in by_endpoint.items()
                         for d in _or_none(items))
        return 0
    if not by_endpoint:
        print("no pending, failed or disabled deliveries")
        return 0
    if not sys.stdout.isatty():
        # One line per delivery, tab-separated; an endpoint without listed deliveries (only
        # failing) still gets a line, with "-" in the delivery columns.
        print("\t".join(PIPED_COLUMNS))
        for endpoint, items in by_endpoint.items():
            state = health_text(states.get(endpoint))
            listed: list[Delivery | None] = [*items] or [None]
            for d in listed:
                cells = ["-"] * 7 if d is None else [
                    d.status, d.event_id, d.event_type, str(d.attempts),
                    _when(d.next_attempt_at), str(d.last_status or "-"), d.last_error or "-"]
                line = [fingerprinted_url(endpoint), *cells, state]
                print("\t".join(printable_line(c) for c in line))
        return 0
    console = Console()
    for endpoint, items in by_endpoint.items():
        counts = ", ".join(f"{sum(1 for d in items if d.status == s)} {s}" for s in LISTED)
        health = health_text(states.get(endpoint))
        table = Table(title=Text(f"{fingerprinted_url(endpoint)}: {health} ({counts})"))
        for column in ("status", "event", "type", "attempts", "next attempt (UTC)",
                       "last answer"):
            table.add_column(column)
        # Wrapped, never cut: the end of an error is often what says why.
        table.add_column("last error", max_width=60, overflow="fold")
        for d in items:
            table.add_row(d.status, d.event_id, d.event_type, str(d.attempts),
                          _when(d.next_attempt_at), str(d.last_status or "-"),
                          Text(printable_line(d.last_error or "-")))
        console.print(table)
    return 0


async def _known_endpoints(store: Store) -> set[str]:
    # The endpoints with deliveries not delivered yet (the LISTED statuses), counted in the
    # store rather than loading every such delivery.
    unsent = await store.count_unsent_by_endpoint()
    return set(unsent) | {s.url for s in await store.list_endpoint_states()}


def _unresolved(given: str, matches: list[str]) -> int:
    if matches:
        print(f"crawler: {given} matches several endpoints; give the full URL: "
              + ", ".join(fingerprinted_url(m) for m in matches), file=sys.stderr)
    else:
        print(f"crawler: no endpoint {given} in the config or the database", file=sys.stderr)
    return 1


async def replay(settings: Settings, *, event_id: str | None, failed: bool,
                 endpoint: str | None) -> int:
    """Put deliveries back in the queue, due now, with their original event ids."""
    if not event_id and not failed:
        print("crawler: deliveries replay needs --event ID or --failed", file=sys.stderr)
        return 2
    store = await _open(settings, readonly=False)
    try:
        target: str | None = None
        if endpoint is not None:
            resolved = resolve_endpoint(endpoint, settings, await _known_endpoints(store))
            target = resolved if isinstance(resolved, str) else endpoint
        count = await store.requeue_deliveries(event_id=event_id, failed=failed,
                                               endpoint_url=target, now=utc_now())
    finally:
        await store.close()
    print(f"{count} deliver{'y' if count == 1 else 'ies'} queued again")
    return 0 if count or failed else 1


async def retarget(settings: Settings, *, from_endpoint: str, to_endpoint: str) -> int:
    """Move an endpoint's backlog (deliveries not delivered yet) to another configured
    endpoint: after a webhook URL changed (a rotated token), what waited for the old URL is
    sent to the new one, with its original event ids."""
    configured = {hook.url for hook in settings.webhooks}
    store = await _open(settings, readonly=False)
    try:
        known = await _known_endpoints(store)
        source = resolve_endpoint(from_endpoint, settings, known)
        if isinstance(source, list):
            return _unresolved(from_endpoint, source)
        target = resolve_endpoint(to_endpoint, settings, known)
        if isinstance(target, list):
            return _unresolved(to_endpoint, target)
        if target not in configured:
            print(f"crawler: {fingerprinted_url(target)} is not a [[webhooks]] endpoint of the "
                  "config; deliveries moved there would wait for ever", file=sys.stderr)
            return 1
        if target == source:
            print("crawler: --from and --to are the same endpoint", file=sys.stderr)
            return 1
        moved = await store.retarget_deliveries(source, target, now=utc_now())
        left = (await store.count_unsent_by_endpoint()).get(source, 0)
    finally:
        await store.close()
    print(f"{moved} deliver{'y' if moved == 1 else 'ies'} moved from "
          f"{fingerprinted_url(source)} to {fingerprinted_url(target)}"
          + (f"; {left} left (their events were already queued for the new endpoint)"
             if left else ""))
    return 0


async def resume(settings: Settings, *, endpoint: str) -> int:
    """Resume a paused or disabled (410) endpoint: its backlog is due now. A running daemon
    sees it within a minute, at once after `systemctl reload crawler` (SIGHUP)."""
    store = await _open(settings, readonly=False)
    try:
        resolved = resolve_endpoint(endpoint, settings, await _known_endpoints(store))
        if isinstance(resolved, list):
            return _unresolved(endpoint, resolved)
        before, requeued = await store.resume_endpoint(resolved, now=utc_now())
    finally:
        await store.close()
    was = health_text(before)
    if was == "ok":
        print(f"{fingerprinted_url(resolved)} was not paused or disabled; its pending "
              "deliveries are due now")
    else:
        print(f"{fingerprinted_url(resolved)} resumed (was {was}); {requeued} held "
              f"deliver{'y' if requeued == 1 else 'ies'} queued again")
    return 0
