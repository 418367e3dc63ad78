"""The short message a `[[notify]]` target (chat, email) gets for an event. Pure.

Built from the stored event payload (the very JSON a webhook receiver gets), so a retry or a
replay sends the same message:

    title: the article's headline
    body:  what happened   ("New article", "Edited: text changed, +41/−0 characters
                            (correction)",
                            "Deleted (HTTP 410)", "Restored (was HTTP 410), text changed")
           a few changed lines of the diff (edits, and returns with another text)
           the link (canonical URL)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crawler.kinds import DELETED, EDITED, NEW, RESTORED

MAX_DIFF_LINES = 8
MAX_LINE_CHARS = 200
MAX_TITLE_CHARS = 250


@dataclass(frozen=True, slots=True)
class NotifyMessage:
    title: str
    body: str


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _what_happened(event_type: str, data: dict[str, Any]) -> str:
    if event_type == NEW:
        return "New article"
    if event_type == DELETED:
        status = data.get("status")
        return f"Deleted (HTTP {status})" if status else "Deleted"
    if event_type == RESTORED:
        status = data.get("previous_status")
        said = f"Restored (was HTTP {status})" if status else "Restored"
        return said + (", text changed" if data.get("changes") else "")
    if event_type == EDITED:
        changes = data.get("changes") or {}
        parts = []
        if changes.get("title"):
            parts.append("headline changed")
        if changes.get("lead"):
            parts.append("lead changed")
        elif changes.get("body"):
            parts.append("text changed")
        added, removed = changes.get("chars_added"), changes.get("chars_removed")
        if isinstance(added, int) and isinstance(removed, int):
            parts.append(f"+{added}/−{removed} characters")
        said = "Edited: " + ", ".join(parts) if parts else "Edited"
        kinds = changes.get("kinds")
        if isinstance(kinds, list) and kinds and all(isinstance(k, str) for k in kinds):
            said += f" ({', '.join(kinds)})"
        return said
    return event_type


def diff_excerpt(diff: str, max_lines: int = MAX_DIFF_LINES) -> list[str]:
    """The first changed lines of a unified diff (no ---/+++ header, no @@ hunk lines, no
    context), each clipped; a last line says how many more there are."""
    changed = [
        line for line in diff.splitlines()
        if line[:1] in ("+", "-") and not line.startswith(("+++ ", "--- "))
        and line not in ("+++", "---")
    ]
    shown = [line[0] + " " + _clip(line[1:], MAX_LINE_CHARS) for line in changed[:max_lines]]
    if len(changed) > max_lines:
        more = len(changed) - max_lines
        shown.append(f"… {more} more changed line{'s' if more > 1 else ''}")
    return shown


def render_message(payload: str, max_diff_lines: int = MAX_DIFF_LINES) -> NotifyMessage:
    """The message for a stored event payload. Raises ValueError if it is not an event's
    JSON object."""
    body = json.loads(payload)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ValueError("not an event payload")
    event_type = str(body.get("type", "event"))
    data: dict[str, Any] = body["data"]
    article = data.get("article") if isinstance(data.get("article"), dict) else {}
    assert isinstance(article, dict)
    link = str(article.get("canonical_url") or article.get("url") or "")
    title = _clip(str(article.get("title") or link or event_type), MAX_TITLE_CHARS)
    lines = [_what_happened(event_type, data)]
    diff = data.get("diff")
    if event_type in (EDITED, RESTORED) and isinstance(diff, str):
        excerpt = diff_excerpt(diff, max_diff_lines)
        if excerpt:
            lines += ["", *excerpt]
    if link:
        lines += ["", link]
    return NotifyMessage(title=title, body="\n".join(lines))
