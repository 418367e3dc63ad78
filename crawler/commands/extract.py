"""`crawler extract FILE... [--url URL]`: extraction only, no network.

Each file goes through `crawler.pages.read_page`, the daemon's own path from page bytes to a
version, with the config's `[sites."host"]` rules for the URL's host: the printed
`content_hash` is the one the daemon would store for the same bytes fetched from that URL.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from crawler.config import Settings
from crawler.pages import read_page


def extract_files(files: list[Path], url: str | None, settings: Settings | None = None) -> int:
    """One JSON object per file on stdout: file, url, title, text, content_hash. A file that
    cannot be read is reported on stderr and on its own line with an "error" field.
    `settings` None (no config file): no site rules."""
    status = 0
    for path in files:
        page_url = url or path.resolve().as_uri()
        try:
            body = path.read_bytes()
        except OSError as exc:
            print(f"crawler: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            print(json.dumps({"file": str(path), "url": page_url, "error": str(exc.strerror)},
                             ensure_ascii=False))
            status = 1
            continue
        # A file has no Content-Type: its bytes and <meta> decide, as for a server sending none.
        _, content = read_page(body, None, page_url, settings)
        print(json.dumps({"file": str(path), "url": page_url, "title": content.title,
                          "text": content.text, "content_hash": content.content_hash},
                         ensure_ascii=False))
    return status
