"""`articleBody` from schema.org JSON-LD, which many news sites embed complete."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from selectolax.lexbor import LexborNode

_ARTICLE_TYPE = re.compile(r"article|posting|report", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")
# Recursion guard for hostile nesting; real JSON-LD is a few levels deep.
_MAX_DEPTH = 12


def _types(obj: dict[str, Any]) -> list[str]:
    value = obj.get("@type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _bodies(obj: Any, depth: int, out: list[str]) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(obj, list):
        for item in obj:
            _bodies(item, depth + 1, out)
    elif isinstance(obj, dict):
        body = obj.get("articleBody")
        if isinstance(body, str) and any(_ARTICLE_TYPE.search(t) for t in _types(obj)):
            out.append(body)
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement"):
            if key in obj:
                _bodies(obj[key], depth + 1, out)


def article_body(scripts: list[LexborNode]) -> str:
    """The longest `articleBody` of an Article-like JSON-LD object, as plain text with the
    paragraph breaks it carries; empty string when there is none or it does not parse."""
    found: list[str] = []
    for script in scripts:
        if "ld+json" not in (script.attributes.get("type") or "").lower():
            continue
        raw = script.text(deep=True)
        if "articleBody" not in raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        _bodies(data, 0, found)
    if not found:
        return ""
    body = max(found, key=len)
    if "<" in body:
        # Some CMSs put the HTML body there: block ends become paragraph breaks.
        body = re.sub(r"(?i)</(?:p|div|h[1-6]|li|blockquote)>|<br\s*/?>", "\n\n", body)
        body = _TAG.sub("", body)
    return html.unescape(body)
