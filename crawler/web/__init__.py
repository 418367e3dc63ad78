"""The web view, the feed of changes and the JSON API (CONTRACT.md "The web view, feed of
changes and API"): read-only pages over the store, served beside `/healthz` and `/metrics`.

`mount_web` adds them to the operator HTTP endpoint's application; `crawler.web.access`
decides whether they are served at all (token, loopback).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import aiohttp_jinja2
import jinja2
from aiohttp import web

from crawler.clock import utc_now
from crawler.store.base import Store
from crawler.web.access import Access, access_for, guard
from crawler.web.api import add_api_routes
from crawler.web.atom import changes_atom
from crawler.web.context import CLOCK, STORE
from crawler.web.pages import add_page_routes


def mount_web(app: web.Application, store: Store, *, host: str, token: str,
              clock: Callable[[], datetime] = utc_now) -> Access:
    """Add the pages, feed and API to `app` (before it starts) as `[http]` allows: with the
    token's check, openly on a loopback `host`, or not at all (`Access.OFF`)."""
    access = access_for(host, token)
    # The headers go on every answer, /healthz's included; the token check skips those.
    app.middlewares.append(guard(token if access is Access.TOKEN else ""))
    if access is Access.OFF:
        return access
    app[STORE] = store
    app[CLOCK] = clock
    aiohttp_jinja2.setup(
        app, loader=jinja2.PackageLoader("crawler.web", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined)
    add_page_routes(app)
    app.router.add_get("/changes.atom", changes_atom)
    add_api_routes(app)
    return access


__all__ = ["Access", "mount_web"]
