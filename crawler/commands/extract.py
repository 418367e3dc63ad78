"""`crawler extract FILE... [--url URL]`: extraction only, no network."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from crawler.extract import extract_article
from crawler.fetch import decode_html
from crawler.textnorm import make_content


def extract_files(files: list[Path], url: str | None) -> int:
    """One JSON object per file on stdout: file, url, title, text, content_hash. A file that
    cannot be read is reported on stderr and on its own line with an "error" field."""
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
        html = decode_html(body, None)
        extracted = extract_article(html, page_url)
        content = make_content(extracted.title, extracted.text)
        print(json.dumps({"file": str(path), "url": page_url, "title": content.title,
                          "text": content.text, "content_hash": content.content_hash},
                         ensure_ascii=False))
    return status
