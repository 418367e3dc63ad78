"""The one-line description of a stored event (`crawler.change_summary`). Pure, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crawler.change_summary import describe_changes, payload_data, summarize

EDIT = {"title": True, "lead": False, "body": True, "chars_added": 41, "chars_removed": 2,
        "similarity": 0.98765}


@pytest.mark.parametrize(("event_type", "data", "line"), [
    ("article.new", {"text": "Twelve homes."}, "first version, 13 characters"),
    ("article.new", {}, "first version"),
    ("article.edited", {"changes": EDIT},
     "headline, body: +41 -2 characters, similarity 0.99"),
    ("article.edited", {"changes": {**EDIT, "kinds": ["headline", "number"]}},
     "headline, number: +41 -2 characters, similarity 0.99"),
    ("article.edited", {"changes": {"chars_added": 1, "chars_removed": 0}},
     "+1 -0 characters"),
    ("article.edited", {}, "edited"),
    ("article.edited", {"changes": "nonsense"}, "edited"),
    ("article.deleted", {"status": 410, "previous_version": 3}, "page answered 410"),
    ("article.deleted", {"status": "x"}, "page gone"),
    ("article.restored", {"previous_status": 404}, "page back (it answered 404), same text"),
    ("article.restored", {"previous_status": 404, "changes": {"body": True,
                                                               "chars_added": 3,
                                                               "chars_removed": 0}},
     "page back (it answered 404), text changed: body: +3 -0 characters"),
    ("webhook.test", {"message": "hello"}, "hello"),
    ("article.someday", {"what": 1}, ""),
])
def test_summarize(event_type: str, data: dict[str, Any], line: str) -> None:
    assert summarize(event_type, data) == line


@pytest.mark.parametrize(("payload", "data"), [
    (json.dumps({"type": "article.deleted", "data": {"status": 404}}), {"status": 404}),
    ('{"type": "x"}', {}), ("[1, 2]", {}), ("not json", {}), ('{"data": [1]}', {}),
])
def test_payload_data(payload: str, data: dict[str, Any]) -> None:
    assert payload_data(payload) == data


def test_booleans_are_not_counts() -> None:
    assert describe_changes({"chars_added": True, "chars_removed": 0, "similarity": False}) == ""
