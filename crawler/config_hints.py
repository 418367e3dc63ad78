"""What a config error can tell beyond "invalid": the key an unknown one was probably meant to
be, and why a CSS selector of a site rule cannot be used. Pure functions over the settings
models, so that `crawler.config` stays about what the settings are."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from selectolax.lexbor import LexborHTMLParser

# A selector is tried on this tiny page: parsing it is what fails for a bad one; what it
# matches does not matter.
_PROBE = LexborHTMLParser("<p></p>")


def unknown_key_message(model: type[BaseModel], loc: Sequence[int | str]) -> str:
    """The message for an unknown key at `loc` (the key last): "unknown key", and the key it
    was probably meant to be when one at that level is close enough."""
    if not loc or not isinstance(loc[-1], str):
        return "unknown key"
    close = difflib.get_close_matches(loc[-1], known_keys(model, loc[:-1]), n=1, cutoff=0.7)
    return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"


def known_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys the table at `loc` accepts (none when `loc` leads nowhere known). List
    indexes and the keys of a mapping table (a site's host) are stepped over."""
    current: type[BaseModel] | None = model
    parts = list(loc)
    while parts and current is not None:
        part = parts.pop(0)
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        if _is_mapping(field.annotation) and parts:
            parts.pop(0)  # the mapping's own key, e.g. the host of [sites."www.example.org"]
        current = _model_in(field.annotation)
    return [] if current is None else list(current.model_fields)


def selector_problem(selector: str) -> str | None:
    """Why `selector` cannot be used as a CSS selector, or None when it can."""
    if not selector.strip():
        return "is empty"
    try:
        _PROBE.css(selector)
    except Exception:  # selectolax raises its own error type for any selector it cannot parse
        return f"{selector!r} is not a valid CSS selector"
    return None


def _is_mapping(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings model an annotation holds: itself, or inside a tuple, list, mapping or
    optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
