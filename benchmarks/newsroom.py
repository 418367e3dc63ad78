"""A local heavy newsroom for the throughput benchmark: news sites on loopback addresses of their
own (127.0.0.2, ...: a host each for politeness), each with one RSS feed and its article pages.

A page is some 170 KB of what newsrooms serve: a head full of meta tags, inline CSS and
scripts, a state blob that repeats the article (as script-rendered sites ship it), a mega-menu,
the article (30-odd paragraphs, an ad slot and "read also" boxes inside), related-story boxes,
comments and a footer of links. Pages are rendered once, before any crawler runs (the crawlers
are measured, not this process), and never change: a re-check gets the very same bytes. With
validators on (the default) a page carries an ETag and a Last-Modified and answers 304 to a
request whose If-None-Match or If-Modified-Since matches; feeds always carry an ETag.

Every request is logged with the time it arrived, so the benchmark can tell when each site was
last asked for a page.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web

PUBLISHED = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
_WORDS = (  # noqa: SIM905 (a list literal of 110 words would read worse)
    "council budget river bridge school hospital election minister storm harbour railway "
    "station market festival museum police court report village coast government parliament "
    "inflation energy prices workers union strike vote campaign health climate water farmers "
    "housing rents tenants students teachers doctors nurses patients border trade exports "
    "talks agreement treaty summit leaders officials spokesman statement investigation "
    "evidence judge trial verdict appeal sentence prison community residents neighbours "
    "flooding drought wildfire emergency services rescue volunteers charity donations "
    "museum gallery exhibition artists theatre concert season league players coach match "
    "goal victory defeat champions record growth figures survey analysis experts warned "
    "said added according announced expected would could should after before during while"
).split()
_SECTIONS = ("World", "Politics", "Business", "Tech", "Science", "Health", "Sport",
             "Culture", "Opinion", "Travel", "Climate", "Local")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(12, 26)) for _ in range(rng.randint(3, 5)))


def _nav() -> str:
    menus = "".join(
        f'<li class="menu__item menu__item--{s.lower()}">'
        f'<a class="menu__link" href="/{s.lower()}/">{s}</a><ul class="menu__sub">' + "".join(
            f'<li class="menu__sub-item"><a class="menu__sub-link" href="/{s.lower()}/topic-{n}/"'
            f' data-track="nav-{s.lower()}-{n}">{s} topic {n}</a></li>' for n in range(18))
        + "</ul></li>" for s in _SECTIONS)
    return (f'<header class="site-header"><div class="site-header__brand"><a href="/">'
            f'Gazette</a></div><nav class="menu" aria-label="Sections"><ul class="menu__list">'
            f"{menus}</ul></nav></header>")


def _teasers(rng: random.Random, title: str, count: int) -> str:
    items = "".join(
        f'<li class="teaser"><a class="teaser__link" href="/news/more-{rng.randint(1, 99999)}'
        f'.html"><img class="teaser__img" src="/img/{rng.randint(1, 99999)}.jpg" '
        f'srcset="/img/{rng.randint(1, 99999)}-320.jpg 320w, /img/x-640.jpg 640w" alt="">'
        f'<span class="teaser__title">{_sentence(rng, 8)}</span></a>'
        f'<p class="teaser__lead">{_sentence(rng, 18)}</p></li>' for _ in range(count))
    return f'<section class="related"><h2>{title}</h2><ul class="teasers">{items}</ul></section>'


def _comments(rng: random.Random) -> str:
    items = "".join(
        f'<li class="comment"><div class="comment__author">reader{rng.randint(1, 9999)}</div>'
        f'<div class="comment__body">{_sentence(rng, rng.randint(10, 30))}</div>'
        f'<button class="comment__reply" data-id="{rng.randint(1, 10**8)}">Reply</button></li>'
        for _ in range(24))
    return f'<section class="comments"><h2>Comments</h2><ol>{items}</ol></section>'


def _footer() -> str:
    links = "".join(f'<li><a href="/about/{n}">About page {n}</a></li>' for n in range(140))
    return f'<footer class="site-footer"><ul class="site-footer__links">{links}</ul>' \
           f"<p>&copy; 2026 Gazette Media Group. All rights reserved.</p></footer>"


_NAV = _nav()
_FOOTER = _footer()
_CSS = "".join(f".c{n}{{margin:{n % 7}px {n % 5}px;padding:{n % 3}px;color:#{n:06x}}}"
               for n in range(700))
_SCRIPT = "".join(f'window.dataLayer.push({{"event":"slot{n}","unit":"/1234/news/{n}",'
                  f'"sizes":[[300,250],[728,90]]}});' for n in range(330))


@dataclass(frozen=True, slots=True)
class Story:
    slug: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]


def make_story(host: int, number: int) -> Story:
    rng = random.Random(f"{host}-{number}")
    return Story(f"story-{number}", f"Story {number} of site {host}: {_sentence(rng, 7)[:-1]}",
                 _sentence(rng, 24), tuple(_paragraph(rng) for _ in range(rng.randint(30, 36))))


def render_page(story: Story, url: str) -> bytes:
    """The whole page of `story`, some 170 KB."""
    rng = random.Random(story.slug + url)
    parts = []
    for i, para in enumerate(story.paragraphs):
        parts.append(f"<p>{html.escape(para)}</p>")
        if i == 2:
            parts.append(f'<div class="ad-slot" id="ad-{rng.randint(1, 10**9)}">'
                         f"<span>Advertisement</span></div>")
        if i % 9 == 5:
            parts.append(f'<aside class="read-also"><span>Read also</span><a href="/news/also-'
                         f'{rng.randint(1, 9999)}.html">{_sentence(rng, 9)}</a></aside>')
    state = json.dumps({"article": {"title": story.title, "lead": story.lead, "url": url,
                                    "body": list(story.paragraphs)},
                        "ads": {"slots": [f"slot-{n}" for n in range(60)]}})
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                     "headline": story.title, "datePublished": PUBLISHED.isoformat(),
                     "author": {"@type": "Person", "name": "Staff Reporter"}})
    metas = "".join(f'<meta name="tag:{n}" content="{rng.choice(_WORDS)}">' for n in range(40))
    title = html.escape(story.title)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Gazette</title>
<link rel="canonical" href="{url}"><meta property="og:title" content="{title}">
<meta name="description" content="{html.escape(story.lead)}">{metas}
<style>{_CSS}</style>
<script type="application/ld+json">{ld}</script>
<script>window.dataLayer=window.dataLayer||[];{_SCRIPT}</script>
</head><body>{_NAV}
<main class="layout"><article class="story">
<h1 class="story__title">{title}</h1>
<div class="story__byline">By Staff Reporter <time datetime="{PUBLISHED.isoformat()}">
{PUBLISHED:%d %B %Y}</time></div>
<figure class="story__figure"><img src="/img/{story.slug}.jpg" alt="">
<figcaption>{_sentence(rng, 12)}</figcaption></figure>
<p class="story__lead"><strong>{html.escape(story.lead)}</strong></p>
<div class="story__body">
{"".join(parts)}
</div></article>
{_teasers(rng, "Related", 10)}{_teasers(rng, "Most read", 10)}{_teasers(rng, "Opinion", 8)}
{_comments(rng)}</main>{_FOOTER}
<script id="__STATE__" type="application/json">{state}</script>
</body></html>"""
    return page.encode()


@dataclass(slots=True)
class Site:
    """One host: its feed, its pages, and the log of the requests it answered."""

    host: int
    address: str
    stories: int
    validators: bool = True
    page_delay: float = 0.0
    port: int = 0
    pages: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[float, str, int]] = field(default_factory=list)
    """(time.monotonic() at arrival, path, status) of every feed and page request answered."""
    feed_body: bytes = b""
    empty_feed_body: bytes = b""
    _runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def feed_url(self) -> str:
        return f"{self.base}/rss.xml"

    @property
    def empty_feed_url(self) -> str:
        return f"{self.base}/empty.xml"

    def page_requests(self, since: float = 0.0) -> list[tuple[float, str, int]]:
        return [r for r in self.requests if r[0] >= since and r[1].startswith("/news/")]

    def render(self) -> None:
        items = []
        for n in range(self.stories):
            story = make_story(self.host, n)
            url = f"{self.base}/news/{story.slug}.html"
            self.pages[story.slug] = render_page(story, url)
            items.append(f"<item><title>{html.escape(story.title)}</title><link>{url}</link>"
                         f'<guid isPermaLink="false">site{self.host}-{story.slug}</guid>'
                         f"<pubDate>{format_datetime(PUBLISHED)}</pubDate>"
                         f"<description>{html.escape(story.lead)}</description></item>")
        self.feed_body = self._rss("".join(items))
        self.empty_feed_body = self._rss("")

    def _rss(self, items: str) -> bytes:
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Site {self.host}</title><link>{self.base}/</link>"
                f"<description>News</description>{items}</channel></rss>").encode()

    def _not_modified(self, request: web.Request, etag: str, modified: datetime | None) -> bool:
        if "If-None-Match" in request.headers:
            return request.headers["If-None-Match"] == etag
        since = request.headers.get("If-Modified-Since")
        if since is None or modified is None:
            return False
        try:
            return parsedate_to_datetime(since) >= modified
        except (TypeError, ValueError):
            return False

    def _answer(self, request: web.Request, body: bytes, content_type: str, *,
                last_modified: datetime | None, arrived: float) -> web.Response:
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        headers = {"ETag": etag}
        if last_modified is not None:
            headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
        status = 304 if self._not_modified(request, etag, last_modified) else 200
        self.requests.append((arrived, request.path, status))
        if status == 304:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=content_type, charset="utf-8",
                            headers=headers)

    def app(self) -> web.Application:
        async def feed(request: web.Request) -> web.Response:
            body = self.feed_body if request.path == "/rss.xml" else self.empty_feed_body
            return self._answer(request, body, "application/rss+xml", last_modified=None,
                                arrived=time.monotonic())

        async def page(request: web.Request) -> web.Response:
            arrived = time.monotonic()
            if self.page_delay:
                await asyncio.sleep(self.page_delay)
            body = self.pages.get(request.match_info["slug"])
            if body is None:
                raise web.HTTPNotFound(text="no such story")
            if not self.validators:
                self.requests.append((arrived, request.path, 200))
                return web.Response(body=body, content_type="text/html", charset="utf-8")
            return self._answer(request, body, "text/html", last_modified=PUBLISHED,
                                arrived=arrived)

        async def robots(request: web.Request) -> web.Response:
            return web.Response(text="User-agent: *\nDisallow: /private/\n")

        app = web.Application()
        app.router.add_get("/rss.xml", feed)
        app.router.add_get("/empty.xml", feed)
        app.router.add_get("/news/{slug}.html", page)
        app.router.add_get("/robots.txt", robots)
        return app

    async def start(self) -> Site:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        tcp = web.TCPSite(self._runner, self.address, 0)
        await tcp.start()
        self.port = int(self._runner.addresses[0][1])
        self.render()  # links carry the port
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def start_newsroom(hosts: int, pages: int, *, validators: bool = True,
                         slow_pages: int = 0, slow_delay: float = 1.0) -> list[Site]:
    """`hosts` sites sharing `pages` pages, plus (with `slow_pages`) one more site that answers
    each page after `slow_delay` seconds, last in the list."""
    counts = [pages // hosts + (1 if h < pages % hosts else 0) for h in range(hosts)]
    sites = [Site(h, f"127.0.0.{h + 2}", n, validators) for h, n in enumerate(counts)]
    if slow_pages:
        sites.append(Site(hosts, f"127.0.0.{hosts + 2}", slow_pages, validators, slow_delay))
    for site in sites:
        await site.start()
    return sites
