"""A local news site for end-to-end tests: RSS and Atom feeds and article pages on 127.0.0.1.

Every response carries boilerplate that changes on each request, as real news pages do: ad slots
with random ids, "updated N minutes ago", a rotating "most read" list (also inside the body),
view counters, CSRF nonces, cache-busting query strings. Tests edit the articles through
`NewsSite` and the pages change accordingly.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

from crawler.testing.local_site import LocalSite

_HEADLINES = [
    "Markets rally after rate decision", "Storm leaves thousands without power",
    "Minister resigns over budget row", "Scientists map deep-sea vents",
    "Local team wins cup final", "Museum returns looted artefacts",
    "Talks resume on border dispute", "Rail strike called off",
]


# The story most runs publish (`site.add("storm", "Storm hits coast", LEAD, PARAS)`): a lead
# and three paragraphs of plain news prose, long enough to be extracted as an article.
LEAD = "A storm hit the northern coast on Tuesday night, the regional authorities said."
PARAS = [
    "Twelve homes were damaged in the village of Westport, according to the fire service.",
    "Residents were evacuated overnight as the water rose above the harbour wall.",
    "The weather office expects calmer conditions by the weekend, with light winds.",
]


@dataclass
class Story:
    slug: str
    title: str
    lead: str
    paragraphs: list[str]
    status: int = 200
    in_feed: bool = True
    section: str = "news"
    path_slug: str = ""
    """The slug in the page's URL when the CMS renamed it (a retitled story); else `slug`."""
    """"private" puts the page where robots.txt disallows it."""
    script: list[int | str] = field(default_factory=list)
    """Answers to the next requests of the page, in order, before `status` applies again: a
    status, an error page served with 200 (`ERROR_PAGES`), or "moved:PATH" (a 301 there)."""
    redirect_to: str = ""
    """When set, every request of the page is a 301 to this path (after `script`)."""
    published: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    html: str = ""
    """When set, the page served as it stands instead of the generated one (a hostile page)."""
    etag: str = ""
    """When set, the page is served with this ETag, and a request whose If-None-Match names it
    is answered 304, whatever the text is now (the test changes it to tell an edit)."""
    headers: dict[str, str] = field(default_factory=dict)
    """More headers of the page's answers (a `Retry-After` with a 429 `status`)."""


# Error and placeholder pages served with 200, in the site's template: name -> (title, lines).
ERROR_PAGES: dict[str, tuple[str, list[str]]] = {
    "unavailable": ("Service unavailable", [
        "Sorry, the service is temporarily unavailable.",
        "Please try again in a few minutes."]),
    "indisponible": ("Service indisponible", [
        "Le service est momentanément indisponible.",
        "Veuillez réessayer dans quelques instants."]),
    "zh": ("系统繁忙", ["服务暂时不可用，请稍后再试。",
                        "由于访问量过大，系统繁忙，我们正在努力恢复服务，给您带来不便，敬请谅解。",
                        "请稍后刷新页面，或返回首页继续浏览其他新闻。"]),
    "es": ("Error", ["Lo sentimos, se ha producido un error.",
                     "Inténtelo de nuevo más tarde."]),
    "de": ("Fehler", ["Der Dienst ist vorübergehend nicht verfügbar.",
                      "Bitte versuchen Sie es später erneut."]),
    "notfound": ("Page not found", ["The page you are looking for does not exist."]),
    "consent": ("Local Gazette", [
        "We value your privacy. We and our partners store and access information on your "
        "device, such as cookies, and process personal data to personalise content and "
        "advertising, to provide social media features and to analyse our traffic.",
        "You can accept or reject these uses, or manage your choices at any time from the "
        "privacy settings linked at the bottom of every page of this website."]),
}


class NewsSite(LocalSite):
    """State of the site; the aiohttp app reads it on every request."""

    def __init__(self) -> None:
        super().__init__()
        self.stories: dict[str, Story] = {}
        self.requests: list[str] = []
        self.request_times: list[tuple[float, str]] = []
        """(time.monotonic(), path) of every request, in arrival order."""
        self.feed_headers: list[dict[str, str]] = []
        self.feed_ttl_minutes: int | None = None
        self.robots_status = 200
        self.page_delay = 0.0
        self.robots_failing_host = ""
        self.link_base = ""
        """When set (e.g. "http://localhost:PORT"), feed links point there: another origin."""
        self.feed_cache_control: str | None = None
        self.stable_pages = False
        """When set, a page is served byte for byte the same while its story is unchanged
        (its noise drawn once per text), as a cache in front of the CMS would."""
        self.page_headers: list[tuple[str, dict[str, str]]] = []
        """(path, request headers) of every article page request, in arrival order."""
        self._rendered: dict[tuple[str, str, str, tuple[str, ...]], str] = {}
        self._rng = random.Random()

    def _record(self, request: web.Request) -> None:
        self.requests.append(request.path_qs)
        self.request_times.append((time.monotonic(), request.path_qs))

    def add(self, slug: str, title: str, lead: str, paragraphs: list[str]) -> Story:
        story = Story(slug, title, lead, list(paragraphs))
        self.stories[slug] = story
        return story

    def article_url(self, slug: str) -> str:
        story = self.stories.get(slug)
        if story is None:
            return self.url(f"/news/{slug}.html")
        return self.url(f"/{story.section}/{story.path_slug or slug}.html")

    def entry_html(self, story: Story) -> str:
        """The article as a full-content feed carries it, with share links and a footer."""
        paras = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
        return (f"<div>{story.published:%d/%m/%Y - %H:%M}</div>"
                f"<p><strong>{html.escape(story.lead)}</strong></p><div>{paras}"
                f"<div data-selfpromo-newsletter></div></div>"
                f'<div><div>Share :</div><a href="https://facebook.example/share">f</a></div>'
                f'<br><hr><div>More feeds: <a href="https://feeds.example">feeds.example</a></div>')

    # --- pages ---------------------------------------------------------------------------------
    def _noise_box(self) -> str:
        picks = self._rng.sample(_HEADLINES, 4)
        items = "".join(f'<li><a href="/news/x{self._rng.randint(1, 999)}.html">{h}</a></li>'
                        for h in picks)
        return f'<aside class="most-read"><h3>Most read</h3><ol>{items}</ol></aside>'

    def _ad(self) -> str:
        slot = secrets.token_hex(6)
        return (f'<div class="ad-slot" id="ad-{slot}" data-ad-unit="/1234/news/{slot}">'
                f'<span>Advertisement</span></div>')

    def page(self, story: Story) -> str:
        minutes = self._rng.randint(1, 59)
        views = self._rng.randint(1000, 99999)
        nonce = secrets.token_urlsafe(12)
        body_parts = [f'<p class="lead"><strong>{html.escape(story.lead)}</strong></p>']
        for i, para in enumerate(story.paragraphs):
            body_parts.append(f"<p>{html.escape(para)}</p>")
            if i == 0:
                body_parts.append(self._ad())
            if i == 1:
                body_parts.append(
                    '<div class="read-also"><span>Read also</span>'
                    f'<a href="/news/x{self._rng.randint(1, 999)}.html">'
                    f'{self._rng.choice(_HEADLINES)}</a></div>')
        body = "\n".join(body_parts)
        canonical = self.article_url(story.slug)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(story.title)} - Local Gazette</title>
<link rel="canonical" href="{canonical}?utm_source=rss">
<meta property="og:title" content="{html.escape(story.title)}">
<meta name="csrf-token" content="{nonce}">
<script>window.__NONCE__="{nonce}";</script>
<link rel="stylesheet" href="/static/site.css?v={self._rng.randint(1, 10**9)}">
</head><body>
<header class="site-header"><nav><a href="/">Home</a> <a href="/world">World</a>
<a href="/sport">Sport</a></nav></header>
<main>
<article>
<h1>{html.escape(story.title)}</h1>
<div class="byline">By Staff Reporter · <time>Updated {minutes} minutes ago</time> ·
<span class="views">{views} views</span></div>
<div class="article-body">
{body}
</div>
<div class="share"><a href="https://facebook.example/share?u={canonical}">Share</a>
<a href="https://x.example/intent?u={canonical}">Post</a></div>
</article>
{self._noise_box()}
</main>
<footer><p>© 2026 Local Gazette · <a href="/privacy">Privacy</a></p></footer>
</body></html>"""

    def _page_text(self, story: Story) -> str:
        if not self.stable_pages:
            return self.page(story)
        key = (story.slug, story.title, story.lead, tuple(story.paragraphs))
        return self._rendered.setdefault(key, self.page(story))

    def error_page(self, name: str) -> str:
        """An error or placeholder page served with 200, with the site's menus and footer."""
        title, lines = ERROR_PAGES[name]
        paras = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} - Local Gazette</title>
<meta name="csrf-token" content="{secrets.token_urlsafe(12)}">
</head><body>
<header class="site-header"><nav><a href="/">Home</a> <a href="/world">World</a>
<a href="/sport">Sport</a></nav></header>
<main><div class="page"><h1>{html.escape(title)}</h1>{paras}
<p><a href="/">Back to the home page</a></p></div></main>
<footer><p>© 2026 Local Gazette · <a href="/privacy">Privacy</a></p></footer>
</body></html>"""

    def home(self) -> str:
        """The home page: teasers of every story, changing with them."""
        teasers = "".join(
            f'<section class="teaser"><h2><a href="{self.article_url(s.slug)}">'
            f"{html.escape(s.title)}</a></h2><p>{html.escape(s.lead)}</p></section>"
            for s in self.stories.values())
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Local Gazette</title>
<link rel="canonical" href="{self.base}/"></head><body>
<header class="site-header"><nav><a href="/">Home</a></nav></header>
<main><h1>Local Gazette</h1>{teasers}{self._noise_box()}</main>
<footer><p>© 2026 Local Gazette</p></footer></body></html>"""

    # --- feeds ---------------------------------------------------------------------------------
    def _feed_items(self) -> list[Story]:
        return [s for s in self.stories.values() if s.in_feed]

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(s.title)}</title>"
            f"<link>{self.link_base}/{s.section}/{s.path_slug or s.slug}.html"
            "?utm_source=rss&amp;utm_medium=feed</link>"
            f'<guid isPermaLink="false">gazette-{s.slug}</guid>'
            f"<pubDate>{format_datetime(s.published)}</pubDate>"
            f"<description>{html.escape(s.lead)}</description>"
            f"<content:encoded><![CDATA[{self.entry_html(s)}]]></content:encoded></item>"
            for s in self._feed_items()
        )
        ttl = f"<ttl>{self.feed_ttl_minutes}</ttl>" if self.feed_ttl_minutes else ""
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
                f"<title>Local Gazette</title><link>{self.base}/</link>"
                f"<description>News</description>{ttl}{items}</channel></rss>")

    def atom(self) -> str:
        entries = "".join(
            f"<entry><id>tag:gazette,2026:{s.slug}</id><title>{html.escape(s.title)}</title>"
            f'<link rel="alternate" href="{self.article_url(s.slug)}"/>'
            f"<updated>{s.published.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
            f"<summary>{html.escape(s.lead)}</summary></entry>"
            for s in self._feed_items()
        )
        return ('<?xml version="1.0" encoding="utf-8"?>'
                '<feed xmlns="http://www.w3.org/2005/Atom"><title>Local Gazette</title>'
                f"<id>tag:gazette,2026:feed</id><updated>2026-11-26T08:00:00Z</updated>"
                f"{entries}</feed>")

    # --- server --------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        async def rss(request: web.Request) -> web.Response:
            self._record(request)
            self.feed_headers.append(dict(request.headers))
            text = self.rss()
            etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            headers = {"ETag": etag}
            if self.feed_cache_control:
                headers["Cache-Control"] = self.feed_cache_control
            return web.Response(text=text, content_type="application/rss+xml", headers=headers)

        async def broken(request: web.Request) -> web.Response:
            self._record(request)
            return web.Response(status=500, text="database error")

        async def atom(request: web.Request) -> web.Response:
            self._record(request)
            return web.Response(text=self.atom(), content_type="application/atom+xml")

        async def article(request: web.Request) -> web.Response:
            self._record(request)
            self.page_headers.append((request.path, dict(request.headers)))
            if self.page_delay:
                await asyncio.sleep(self.page_delay)
            wanted = request.match_info["slug"]
            story = next((s for s in self.stories.values()
                          if wanted in (s.slug, s.path_slug)), None)
            if story is None:
                raise web.HTTPNotFound(text="no such story")
            answer: int | str = story.status
            if story.script:
                answer = story.script.pop(0)
            elif story.redirect_to:
                answer = f"moved:{story.redirect_to}"
            if isinstance(answer, str) and answer.startswith("moved:"):
                raise web.HTTPMovedPermanently(location=answer.removeprefix("moved:"))
            if isinstance(answer, str):
                return web.Response(text=self.error_page(answer), content_type="text/html")
            if answer != 200:
                return web.Response(status=answer, text="<h1>Gone</h1>",
                                    content_type="text/html", headers=story.headers)
            headers = {**story.headers, "ETag": story.etag} if story.etag else story.headers
            if story.etag and request.headers.get("If-None-Match") == story.etag:
                return web.Response(status=304, headers=headers)
            return web.Response(text=story.html or self._page_text(story),
                                content_type="text/html", headers=headers)

        async def home(request: web.Request) -> web.Response:
            self._record(request)
            return web.Response(text=self.home(), content_type="text/html")

        async def robots(request: web.Request) -> web.Response:
            if self.robots_status != 200 and request.host.startswith(self.robots_failing_host):
                return web.Response(status=self.robots_status, text="try later")
            return web.Response(text="User-agent: *\nDisallow: /private/\n")

        app.router.add_get("/rss.xml", rss)
        app.router.add_get("/atom.xml", atom)
        app.router.add_get("/broken.xml", broken)
        app.router.add_get("/news/{slug}.html", article)
        app.router.add_get("/private/{slug}.html", article)
        app.router.add_get("/robots.txt", robots)
        app.router.add_get("/", home)
        app.router.add_get("/news/", home)
