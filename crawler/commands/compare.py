"""`crawler compare OLD.html NEW.html [--url URL]`: what the daemon would announce if a page went
from OLD to NEW, nothing stored.

Both files go through `crawler.pages.read_page`, the daemon's own path from page bytes to a
version (with the config's `[sites."host"]` rules for the URL's host), and a difference is
described by the very event the daemon would store, `crawler.events.article_edited`, so the
printed `changes` and `diff` are the ones a receiver would get.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from crawler import events
from crawler.change_report import describe_edit
from crawler.clock import utc_now
from crawler.config import Settings
from crawler.models import Content
from crawler.pages import read_page
from crawler.terminal import json_line

# Nothing is sent: the description is never cut to fit a payload limit.
_UNLIMITED = 1 << 40


def _version(content: Content) -> dict[str, str]:
    return {"title": content.title, "text": content.text, "content_hash": content.content_hash}


def comparison(old: Content, new: Content, url: str) -> dict[str, Any]:
    """The JSON object `crawler compare` prints for two extracted versions of the page at
    `url`: `changes` and `diff` as the daemon's `article.edited` event carries them, null when
    the two have the same hash (the daemon announces nothing then)."""
    changed = old.content_hash != new.content_hash
    result: dict[str, Any] = {"changed": changed, "old": _version(old), "new": _version(new),
                              "changes": None, "diff": None}
    if changed:
        ref = events.ArticleRef(url=url, canonical_url=url, feed_url="", title=new.title)
        event = events.article_edited(ref, old, new, describe_edit(old, new), version=2,
                                      created_at=utc_now(), routes=events.Routes(),
                                      max_bytes=_UNLIMITED)
        data = json.loads(event.payload)["data"]
        result["changes"], result["diff"] = data["changes"], data["diff"]
    return result


def compare_files(old_path: Path, new_path: Path, url: str | None,
                  settings: Settings | None) -> int:
    """Print the comparison; 1 (and a message on stderr, nothing on stdout) when a file cannot
    be read. `url` None: the old file's own URI. `settings` None (no config): no site rules."""
    page_url = url or old_path.resolve().as_uri()
    bodies: list[bytes] = []
    for path in (old_path, new_path):
        try:
            bodies.append(path.read_bytes())
        except OSError as exc:
            print(f"crawler: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    # Files have no Content-Type: their bytes and <meta> decide, as for a server sending none.
    old, new = (read_page(body, None, page_url, settings)[1] for body in bodies)
    print(json_line(comparison(old, new, page_url)))
    return 0
