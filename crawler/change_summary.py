"""One line saying what an event reported, for lists of changes (`crawler changes`, `crawler
history`). Pure: it reads only the stored payload (CONTRACT.md, "Events and webhooks"), so
it describes an event as receivers got it. Event types it does not know, and fields it does
not find, give a shorter line, never an error: payloads of older and newer versions of the
crawler are listed side by side.
"""

from __future__ import annotations

import json
from typing import Any

from crawler.kinds import DELETED, EDITED, NEW, RESTORED


def payload_data(payload: str) -> dict[str, Any]:
    """The `data` object of a stored payload; empty when the payload has none (or is not
    JSON, which a stored event never is, but a list must not fail on one)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return {}
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def describe_changes(changes: Any) -> str:
    """`changes` of an edit as "headline, number: +41 -2 characters, similarity 0.98": the
    kinds when the event names them, else which parts changed."""
    if not isinstance(changes, dict):
        return ""
    kinds = changes.get("kinds")
    if isinstance(kinds, list) and kinds:
        what = ", ".join(str(k) for k in kinds)
    else:
        what = ", ".join(part for part, key in (("headline", "title"), ("lead", "lead"),
                                                ("body", "body")) if changes.get(key) is True)
    added, removed = _count(changes.get("chars_added")), _count(changes.get("chars_removed"))
    sizes = f"+{added} -{removed} characters" if added is not None and removed is not None else ""
    similarity = changes.get("similarity")
    if isinstance(similarity, int | float) and not isinstance(similarity, bool):
        sizes += f"{', ' if sizes else ''}similarity {similarity:.2f}"
    return ": ".join(part for part in (what, sizes) if part)


def summarize(event_type: str, data: dict[str, Any]) -> str:
    """One line for an event of `event_type` whose payload `data` is given."""
    if event_type == NEW:
        text = data.get("text")
        return f"first version, {len(text)} characters" if isinstance(text, str) else \
            "first version"
    if event_type == EDITED:
        return describe_changes(data.get("changes")) or "edited"
    if event_type == DELETED:
        status = _count(data.get("status"))
        return f"page answered {status}" if status is not None else "page gone"
    if event_type == RESTORED:
        was = _count(data.get("previous_status"))
        line = f"page back (it answered {was})" if was is not None else "page back"
        changed = describe_changes(data.get("changes"))
        return f"{line}, text changed: {changed}" if changed else f"{line}, same text"
    message = data.get("message")
    return message if isinstance(message, str) else ""
