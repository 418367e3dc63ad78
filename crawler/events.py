"""Event payloads as receivers see them (CONTRACT.md, "Events and webhooks"). Pure.

The payload is rendered once, when the change is detected, and stored with the event: every
retry sends the very same bytes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crawler.config import NotifySettings, Settings, WebhookSettings
from crawler.kinds import DELETED, EDITED, NEW, RESTORED
from crawler.models import Changes, Content, EventRecord
from crawler.redact import redact_url

_TRUNCATION_MARK = "\n[truncated: the full text is available with `crawler diff`]"


@dataclass(frozen=True, slots=True)
class ArticleRef:
    url: str
    canonical_url: str
    feed_url: str
    title: str
    source: str = "page"
    """"page" or "feed": where the versions come from (`Article.source`)."""


def new_event_id() -> str:
    """A unique, opaque event id; it doubles as the `webhook-id` of every delivery attempt."""
    return f"evt_{uuid.uuid4().hex}"


def _article(ref: ArticleRef) -> dict[str, str]:
    # Receivers are told where an article is, never the credentials a URL may carry (a
    # private feed's `?token=`).
    return {"url": redact_url(ref.url), "canonical_url": redact_url(ref.canonical_url),
            "feed_url": redact_url(ref.feed_url), "title": ref.title}


def changes_json(changes: Changes) -> dict[str, Any]:
    """The `changes` object of an event (CONTRACT.md), as receivers and `crawler diff
    --format json` get it."""
    out: dict[str, Any] = {
        "title": changes.title, "lead": changes.lead, "body": changes.body,
        "chars_added": changes.chars_added, "chars_removed": changes.chars_removed,
        "similarity": changes.similarity}
    if changes.sentences is not None:
        out["sentences"] = dict(changes.sentences)
    if changes.kinds is not None:
        out["kinds"] = list(changes.kinds)
    return out


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _fit(body: dict[str, Any], max_bytes: int) -> str:
    """Render `body` within `max_bytes`: the long fields are cut, in this order, until it
    fits: the diff and the text (their full form stays in the store, for `crawler diff`),
    then the headline and the URLs of the article (which only a hostile page makes long)."""
    rendered = _encode(body)
    if len(rendered.encode()) <= max_bytes:
        return rendered
    data = body["data"]
    data["truncated"] = True
    article = data.get("article", {})
    for holder, field in ((data, "diff"), (data, "text"), (article, "title"),
                          (article, "url"), (article, "canonical_url"),
                          (article, "feed_url")):
        value = holder.get(field)
        if not isinstance(value, str):
            continue
        excess = len(_encode(body).encode()) - max_bytes
        if excess <= 0:
            break
        mark = _TRUNCATION_MARK if field in ("diff", "text") else "…"
        raw = value.encode()
        # JSON escapes can make a cut field longer on the wire than in UTF-8; the margin and
        # the loop below cover them.
        keep = max(0, len(raw) - excess - len(mark.encode()) - 16)
        holder[field] = raw[:keep].decode("utf-8", "ignore") + mark
    rendered = _encode(body)
    while len(rendered.encode()) > max_bytes and any(
            isinstance(data.get(f), str) and data[f] for f in ("diff", "text")):
        for field in ("diff", "text"):
            if isinstance(data.get(field), str):
                data[field] = data[field][: len(data[field]) // 2]
        rendered = _encode(body)
    return rendered


def _event(event_type: str, feed_url: str, created_at: datetime, data: dict[str, Any],
           routes: Routes, max_bytes: int) -> EventRecord:
    body = {"type": event_type, "timestamp": format_timestamp(created_at), "data": data}
    return EventRecord(
        event_id=new_event_id(),
        event_type=event_type,
        created_at=created_at,
        payload=_fit(body, max_bytes),
        endpoints=routes.endpoints(event_type, feed_url),
    )


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with a Z, seconds precision: "2026-11-26T12:00:00Z"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def notify_endpoint_key(apprise_url: str) -> str:
    """The outbox name of a `[[notify]]` target: stable across restarts and config reordering,
    and free of the tokens an Apprise URL carries (it is stored and logged)."""
    return "apprise:" + hashlib.sha256(apprise_url.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Routes:
    """Which configured targets want which events."""

    webhooks: Sequence[WebhookSettings] = ()
    notify: Sequence[NotifySettings] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Routes:
        return cls(webhooks=settings.webhooks, notify=settings.notify)

    def endpoints(self, event_type: str, feed_url: str) -> tuple[str, ...]:
        """Webhook URLs, then notify keys, whose `events` name this type and whose `feeds`
        (when given) include the article's feed."""
        hooks = [w.url for w in self.webhooks
                 if event_type in w.events and (not w.feeds or feed_url in w.feeds)]
        people = [notify_endpoint_key(n.url) for n in self.notify
                  if event_type in n.events and (not n.feeds or feed_url in n.feeds)]
        return (*hooks, *people)


def article_new(ref: ArticleRef, content: Content, *, created_at: datetime,
                routes: Routes, max_bytes: int) -> EventRecord:
    data = {"article": _article(ref), "source": ref.source, "version": 1,
            "content_hash": content.content_hash, "text": content.text}
    return _event(NEW, ref.feed_url, created_at, data, routes, max_bytes)


def article_edited(ref: ArticleRef, previous: Content, current: Content, changes: Changes, *,
                   version: int, created_at: datetime, routes: Routes,
                   max_bytes: int, previous_version: int | None = None) -> EventRecord:
    """`previous_version`: the version `previous` is, when not `version - 1` (an edit
    announced after silent flaps is described from the version last announced)."""
    data = {"article": _article(ref), "source": ref.source, "version": version,
            "previous_version": version - 1 if previous_version is None else previous_version,
            "content_hash": current.content_hash, "previous_hash": previous.content_hash,
            "changes": changes_json(changes), "diff": changes.diff, "text": current.text}
    return _event(EDITED, ref.feed_url, created_at, data, routes, max_bytes)


def article_deleted(ref: ArticleRef, *, previous_version: int, status: int,
                    created_at: datetime, routes: Routes, max_bytes: int,
                    redirected_to: str | None = None) -> EventRecord:
    """`redirected_to`: the page now leads to the site's home page or a section index there
    (`status` is then 404, as for any page that answers without its article)."""
    data: dict[str, Any] = {"article": _article(ref), "source": ref.source,
                            "previous_version": previous_version, "status": status}
    if redirected_to is not None:
        data["redirected_to"] = redirected_to
    return _event(DELETED, ref.feed_url, created_at, data, routes, max_bytes)


def article_restored(ref: ArticleRef, current: Content, *, version: int,
                     previous_status: int | None, previous: Content | None,
                     changes: Changes | None, created_at: datetime, routes: Routes,
                     max_bytes: int) -> EventRecord:
    """A deleted article's page answered with the article again. `version`: its version now
    (a new one when the text differs); `previous_status`: the 404/410 of the deletion (None
    when no deletion was stored, e.g. an article deleted by an older program). `previous` and
    `changes` (with `previous_version`, `previous_hash`, `changes` and `diff` in the payload)
    when the text differs from the last version's and the difference is the page's."""
    data: dict[str, Any] = {"article": _article(ref), "source": ref.source, "version": version,
                            "content_hash": current.content_hash,
                            "previous_status": previous_status}
    if previous is not None and changes is not None:
        data.update({"previous_version": version - 1, "previous_hash": previous.content_hash,
                     "changes": changes_json(changes), "diff": changes.diff})
    return _event(RESTORED, ref.feed_url, created_at, data, routes, max_bytes)
