"""A small local site whose pages say whatever a test makes them say: any canonical claim,
any text, any status, and RSS feeds of any entries (shared guids, cache-busting links).

Pages are looked up by path and query (`/article.php?id=2`), else by path, the query ignored
(as a CMS ignores a cache-buster); a page that is an int answers with that status; an unknown
path is a 404. Every request is recorded.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from aiohttp import web

from crawler.testing.local_site import LocalSite


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    link: str
    guid: str | None = None
    content_html: str | None = None
    """The article as a full-content feed carries it."""


def article_page(title: str, paragraphs: list[str], canonical: str | None = None) -> str:
    claim = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title>{claim}</head><body>"
            f'<nav><a href="/">Home</a></nav><main><article><h1>{html.escape(title)}</h1>'
            f"{body}</article></main><footer>© 2026</footer></body></html>")


def story(subject: str) -> list[str]:
    """Four paragraphs of plausible news text about `subject`."""
    return [
        f"The council confirmed on Tuesday that the {subject} will go ahead as planned.",
        f"Officials said the {subject} had been discussed for months before the vote.",
        f"Residents who spoke to reporters were divided over the {subject} and its cost.",
        f"A final report on the {subject} is expected to be published early next year.",
    ]


class IdentitySite(LocalSite):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, str | int] = {}
        self.feeds: dict[str, list[Item]] = {}
        self.requests: list[str] = []
        """path_qs of every request but robots.txt, in arrival order."""

    def fetched(self, path: str) -> int:
        """How many requests asked for `path` (any query)."""
        return sum(1 for r in self.requests if r.split("?", 1)[0] == path)

    def rss(self, items: list[Item]) -> str:
        entries = "".join(
            f"<item><title>{html.escape(i.title)}</title><link>{html.escape(i.link)}</link>"
            + (f'<guid isPermaLink="false">{html.escape(i.guid)}</guid>' if i.guid else "")
            + (f"<content:encoded><![CDATA[{i.content_html}]]></content:encoded>"
               if i.content_html else "")
            + "</item>"
            for i in items)
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
                f"<title>Site</title><link>/</link><description>d</description>{entries}"
                "</channel></rss>")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path == "/robots.txt":
            return web.Response(status=404)
        self.requests.append(request.path_qs)
        if request.path in self.feeds:
            return web.Response(text=self.rss(self.feeds[request.path]),
                                content_type="application/rss+xml")
        page = self.pages.get(request.path_qs, self.pages.get(request.path))
        if page is None:
            return web.Response(status=404, text="not found")
        if isinstance(page, int):
            return web.Response(status=page, text="status")
        return web.Response(text=page, content_type="text/html")

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{tail:.*}", self._handle)
