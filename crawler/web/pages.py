"""The HTML pages: `/` (latest changes), `/articles/{id}` and `/articles/{id}/diff`.

Rendered by Jinja2 with autoescape on: every headline, text and URL from the web is escaped
by the template, and the word diff is built from escaped pieces (`views.block_html`).
"""

from __future__ import annotations

import asyncio
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from crawler.commands.diff import Gap
from crawler.redact import redact_url
from crawler.store.reads import ArticleListing
from crawler.web.context import article_or_404, now_of, store_of
from crawler.web.listing import DiffView, change_query, changes_page, diff_view, pick_versions
from crawler.web.paging import BadQuery, next_query
from crawler.web.views import (
    TYPE_LABELS,
    block_html,
    change_row,
    diff_href,
    gap_text,
    moment,
    safe_href,
    site_name,
)

_STATIC = files("crawler.web").joinpath("static")
# Read once: two small files, the same for the whole life of the process.
STATIC = {"style.css": (_STATIC.joinpath("style.css").read_bytes(), "text/css"),
          "icon.svg": (_STATIC.joinpath("icon.svg").read_bytes(), "image/svg+xml")}
HTML = "text/html"


def render(request: web.Request, template: str, context: dict[str, Any],
           status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.charset = "utf-8"
    return response


def bad_request(request: web.Request, exc: BadQuery) -> web.Response:
    return render(request, "error.html", {"status": "400 Bad request", "message": str(exc)},
                  status=400)


async def index(request: web.Request) -> web.Response:
    try:
        query = change_query(request.query)
    except BadQuery as exc:
        return bad_request(request, exc)
    events, cursor = await changes_page(store_of(request), query)
    now = now_of(request)
    return render(request, "changes.html", {
        "query": query, "rows": [change_row(e, now) for e in events],
        "next": next_query(query.filters, cursor),
        "newest": "/?" + urlencode({k: v for k, v in query.filters.items() if v}),
        "types": list(TYPE_LABELS.items()),
        "feed_shown": redact_url(query.feed) if query.feed else "",
    })


def _state(article: Any) -> str:
    # The same words as `crawler articles` (ArticleListing.state), for one article.
    return ArticleListing(article, article.first_seen_at, None).state


async def article_page(request: web.Request) -> web.Response:
    article = await article_or_404(request)
    store, now = store_of(request), now_of(request)
    versions = await store.get_versions(article.article_id)
    events = await store.article_events(article.article_id)
    return render(request, "article.html", {
        "article": article, "site": site_name(article.canonical_url),
        "url": redact_url(article.canonical_url), "feed_url": redact_url(article.feed_url),
        "href": safe_href(redact_url(article.canonical_url)),
        "first_seen": moment(article.first_seen_at, now), "state": _state(article),
        "versions": [{
            "number": v.number, "when": moment(v.fetched_at, now), "title": v.title,
            "short_hash": v.content_hash.removeprefix("sha256:")[:12],
            "diff_href": diff_href(article.article_id, versions[i - 1].number, v.number)
            if i else None,
        } for i, v in enumerate(versions)],
        "events": [change_row(e, now) for e in reversed(events)],
    })


async def diff_page(request: web.Request) -> web.Response:
    article = await article_or_404(request)
    versions = await store_of(request).get_versions(article.article_id)
    try:
        pair = pick_versions(versions, request.query.get("from"), request.query.get("to"))
    except BadQuery as exc:
        return bad_request(request, exc)
    if pair is None:
        raise web.HTTPFound(f"/articles/{article.article_id}")
    full = request.query.get("full") == "1"

    def shown() -> tuple[DiffView, list[dict[str, Any]]]:
        view = diff_view(*pair, full=full)
        return view, [{"gap": gap_text(item)} if isinstance(item, Gap) else
                      {"gap": None, "html": block_html(item)} for item in view.items]

    # The diff of a long text is a second or more of work: in a thread, so that the loop
    # (the daemon's, when it serves these pages) goes on answering /healthz and crawling.
    view, items = await asyncio.to_thread(shown)
    now = now_of(request)
    old, new = pair
    return render(request, "diff.html", {
        "view": view, "site": site_name(article.canonical_url),
        "article_href": f"/articles/{article.article_id}",
        "old_when": moment(old.fetched_at, now), "new_when": moment(new.fetched_at, now),
        "items": items,
        "full_href": diff_href(article.article_id, old.number, new.number, full=True),
        "short_href": diff_href(article.article_id, old.number, new.number),
    })


async def static(request: web.Request) -> web.Response:
    found = STATIC.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    body, content_type = found
    return web.Response(body=body, content_type=content_type, charset="utf-8",
                        headers={"Cache-Control": "max-age=3600"})


async def favicon(request: web.Request) -> web.Response:
    # Browsers ask for it whatever the page links to; a 404 would be logged as an error.
    raise web.HTTPFound("/static/icon.svg")


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/articles/{id}", article_page)
    app.router.add_get("/articles/{id}/diff", diff_page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/favicon.ico", favicon)
