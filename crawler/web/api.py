"""`/api/...`: the web view's data as JSON, in the shapes of CONTRACT.md (the same as the
reading commands' `--json`, built by the same functions)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from crawler.commands.reading import article_json, event_json, listing_json, version_json
from crawler.models import Article
from crawler.web.context import article_or_404, store_of
from crawler.web.listing import change_query, changes_page
from crawler.web.paging import BadQuery, article_cursor, next_query, page_size


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _bad(exc: BadQuery) -> web.Response:
    return _json({"error": str(exc)}, status=400)


async def api_changes(request: web.Request) -> web.Response:
    try:
        query = change_query(request.query)
    except BadQuery as exc:
        return _bad(exc)
    events, cursor = await changes_page(store_of(request), query)
    return _json({"changes": [event_json(e) for e in events],
                  "next": next_query(query.filters, cursor)})


async def api_articles(request: web.Request) -> web.Response:
    try:
        before = article_cursor(request.query.get("before"))
        limit = page_size(request.query.get("limit"))
    except BadQuery as exc:
        return _bad(exc)
    q = request.query.get("q", "").strip() or None
    feed = request.query.get("feed", "").strip() or None
    rows = await store_of(request).list_articles(search=q, feed_url=feed, limit=limit + 1,
                                                 before=before)
    cursor = rows[limit - 1].cursor if len(rows) > limit else None
    return _json({"articles": [listing_json(r) for r in rows[:limit]],
                  "next": next_query({"q": q, "feed": feed, "limit": request.query.get("limit")},
                                             cursor)})


async def _article(request: web.Request) -> Article | None:
    try:
        return await article_or_404(request)
    except web.HTTPNotFound:
        return None


_NO_ARTICLE = {"error": "no such article"}


async def api_article(request: web.Request) -> web.Response:
    article = await _article(request)
    if article is None:
        return _json(_NO_ARTICLE, status=404)
    store = store_of(request)
    versions = await store.get_versions(article.article_id)
    events = await store.article_events(article.article_id)
    return _json({"article": article_json(article),
                  "versions": [version_json(v) for v in versions],
                  "events": [event_json(e) for e in events]})


async def api_version(request: web.Request) -> web.Response:
    article = await _article(request)
    if article is None:
        return _json(_NO_ARTICLE, status=404)
    number = request.match_info["n"]
    versions = await store_of(request).get_versions(article.article_id)
    found = next((v for v in versions if number.isdigit() and v.number == int(number)), None)
    if found is None:
        return _json({"error": f"version {number} is not stored"}, status=404)
    return _json({"article": article_json(article), **version_json(found, text=True)})


def add_api_routes(app: web.Application) -> None:
    app.router.add_get("/api/changes", api_changes)
    app.router.add_get("/api/articles", api_articles)
    app.router.add_get("/api/articles/{id}", api_article)
    app.router.add_get("/api/articles/{id}/versions/{n}", api_version)
