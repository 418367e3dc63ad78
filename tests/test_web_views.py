"""The pure parts of the web view, table-tested: moments in words, sites' names, the kinds of
a change, the word diff as escaped HTML, keyset cursors in URLs, which versions a diff
compares, and the rows of the list of changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from crawler.commands.diff import Gap
from crawler.diffing import Block, WordChange
from crawler.models import Version
from crawler.store.reads import EventListing, StoreReads
from crawler.web.listing import change_query, pick_versions
from crawler.web.paging import (
    BadQuery,
    article_cursor,
    encode_cursor,
    event_cursor,
    next_query,
    page_size,
)
from crawler.web.views import (
    block_html,
    change_kinds,
    change_row,
    diff_html,
    moment,
    safe_href,
    short_summary,
    site_name,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("ago", "relative"), [
    (timedelta(seconds=-30), "just now"),       # another machine's clock a little ahead
    (timedelta(seconds=59), "just now"),
    (timedelta(minutes=1), "1 minute ago"),
    (timedelta(minutes=59, seconds=59), "59 minutes ago"),
    (timedelta(hours=1), "1 hour ago"),
    (timedelta(hours=23), "23 hours ago"),
    (timedelta(hours=30), "yesterday"),
    (timedelta(days=2), "2 days ago"),
    (timedelta(days=29), "29 days ago"),
    (timedelta(days=40), "17 Oct 2026"),
])
def test_moments_in_words(ago: timedelta, relative: str) -> None:
    assert moment(NOW - ago, NOW).relative == relative


def test_a_moment_also_says_the_exact_time_in_utc() -> None:
    at = datetime(2026, 3, 5, 7, 9, tzinfo=UTC)
    m = moment(at, NOW)
    assert m.absolute == "5 Mar 2026, 07:09 UTC"
    assert m.iso == "2026-03-05T07:09:00+00:00"


@pytest.mark.parametrize(("url", "name"), [
    ("https://www.rfi.fr/cn/国际/x", "rfi.fr"),
    ("https://feeds.bbci.co.uk/news", "feeds.bbci.co.uk"),
    ("http://127.0.0.1:8080/a", "127.0.0.1"),
    ("not a url", ""),
    ("http://[::1/", ""),
])
def test_site_names(url: str, name: str) -> None:
    assert site_name(url) == name


@pytest.mark.parametrize(("changes", "kinds"), [
    ({"kinds": ["headline", "number"]}, ("headline", "number")),
    ({"kinds": ["future-kind", 3, None]}, ("future-kind",)),
    ({"kinds": "headline"}, ()),
    ({}, ()),
    (None, ()),
])
def test_kinds_of_a_change(changes: object, kinds: tuple[str, ...]) -> None:
    assert change_kinds(changes) == kinds


@pytest.mark.parametrize(("url", "href"), [
    ("https://news.example/a?b=1", "https://news.example/a?b=1"),
    ("HTTP://news.example/", "HTTP://news.example/"),
    ("javascript:alert(1)", None),
    ("JavaScript:alert(1)", None),
    ("data:text/html,<b>", None),
    ("//evil.example/", None),
    ("http://[::1/", None),
])
def test_only_web_addresses_become_links(url: str, href: str | None) -> None:
    assert safe_href(url) == href


def test_a_summary_does_not_repeat_the_kinds_shown_beside_it() -> None:
    assert short_summary("number, lead: +2 -2 characters", ("number", "lead")) == \
        "+2 -2 characters"
    assert short_summary("edited", ()) == "edited"
    assert short_summary("page back, text changed: number: +1 -1 characters", ("number",)) \
        == "page back, text changed: number: +1 -1 characters"


def test_a_diff_block_escapes_every_word() -> None:
    block = Block(True, (WordChange("equal", "Said <b>"), WordChange("delete", "<script>x"),
                         WordChange("insert", "a & \"b\""), WordChange("equal", "\n\nnext")))
    assert str(block_html(block)) == (
        "Said &lt;b&gt;<del>&lt;script&gt;x</del><ins>a &amp; &#34;b&#34;</ins><br><br>next")


def test_a_whole_diff_puts_the_headline_first_and_folds_gaps() -> None:
    items: list[Block | Gap] = [
        Block(True, (WordChange("delete", "Old"), WordChange("insert", "New"))),
        Gap(2),
        Block(False, (WordChange("equal", "Same"),)),
        Gap(1),
    ]
    assert str(diff_html(items)).split("\n") == [
        "<h2><del>Old</del><ins>New</ins></h2>",
        "<p><em>(2 unchanged paragraphs)</em></p>",
        "<p>Same</p>",
        "<p><em>(1 unchanged paragraph)</em></p>",
    ]


def test_cursors_round_trip_and_refuse_what_the_server_never_gave() -> None:
    at = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
    assert event_cursor(encode_cursor((at, "evt_abc"))) == (at, "evt_abc")
    assert article_cursor(encode_cursor((at, 42))) == (at, 42)
    assert event_cursor(None) is None and event_cursor("") is None
    for bad in ("garbage", "2026-11-26T12:00:00~", "2026-11-26T12:00:00~evt",  # naive time
                "~evt_abc"):
        with pytest.raises(BadQuery):
            event_cursor(bad)
    with pytest.raises(BadQuery):
        article_cursor(encode_cursor((at, "evt_abc")))


@pytest.mark.parametrize(("text", "size"), [(None, 50), ("", 50), ("1", 1), ("200", 200)])
def test_page_sizes(text: str | None, size: int) -> None:
    assert page_size(text) == size


@pytest.mark.parametrize("text", ["0", "201", "-1", "ten", "1.5"])
def test_page_sizes_out_of_range(text: str) -> None:
    with pytest.raises(BadQuery, match="limit"):
        page_size(text)


def test_the_next_page_keeps_the_filters() -> None:
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert next_query({"type": "article.edited", "q": None, "feed": ""}, None) is None
    assert next_query({"type": "article.edited", "q": "a b&c", "feed": None},
                      (at, "evt_1")) == (
        "?type=article.edited&q=a+b%26c&before=2026-11-26T12%3A00%3A00Z~evt_1")


def test_the_filters_of_the_list_of_changes() -> None:
    query = change_query({"type": "edited", "feed": " https://f.example/rss ", "q": "  "})
    assert (query.event_type, query.feed, query.q, query.limit) == (
        "article.edited", "https://f.example/rss", None, 50)
    assert change_query({"type": "article.deleted"}).event_type == "article.deleted"
    with pytest.raises(BadQuery, match="type"):
        change_query({"type": "x' OR 1=1"})


def _version(n: int) -> Version:
    return Version(1, n, f"sha256:{n}", f"T{n}", f"text {n}", NOW)


@pytest.mark.parametrize(("old", "new", "pair"), [
    (None, None, (2, 3)),
    ("1", None, (1, 3)),
    (None, "2", (1, 2)),
    ("3", "1", (3, 1)),                       # backwards is allowed: what was removed since
])
def test_which_versions_a_diff_compares(old: str | None, new: str | None,
                                        pair: tuple[int, int]) -> None:
    found = pick_versions([_version(1), _version(2), _version(3)], old, new)
    assert found is not None
    assert (found[0].number, found[1].number) == pair


def test_a_diff_of_missing_versions() -> None:
    assert pick_versions([_version(1)], None, None) is None
    for old, new in (("1", "4"), ("0", None), ("x", None)):
        with pytest.raises(BadQuery):
            pick_versions([_version(1), _version(2)], old, new)


def _event(event_type: str, data: dict[str, object], version: int | None) -> EventListing:
    payload = json.dumps({"type": event_type, "data": {
        "article": {"title": "Then <b>headline</b>"}, **data}})
    return EventListing("evt_1", event_type, NOW - timedelta(hours=3), version, 7,
                        "Now headline", "https://www.news.example/a?token=s3cret",
                        "https://www.news.example/a?token=s3cret", "https://news.example/rss",
                        payload)


def test_rows_of_the_list_of_changes() -> None:
    edited = change_row(_event("article.edited", {
        "previous_version": 2, "changes": {"kinds": ["number"], "chars_added": 2,
                                           "chars_removed": 2}}, 4), NOW)
    assert edited.label == "edited"
    assert edited.title == "Then <b>headline</b>"    # as announced; escaped by the template
    assert edited.site == "news.example"
    assert "s3cret" not in edited.url
    assert edited.diff_href == "/articles/7/diff?from=2&to=4"
    assert edited.kinds == ("number",)
    assert edited.summary == "+2 -2 characters"
    assert edited.when.relative == "3 hours ago"
    new = change_row(_event("article.new", {"text": "abc"}, 1), NOW)
    assert (new.label, new.diff_href, new.summary) == ("new", None, "first version, 3 characters")
    deleted = change_row(_event("article.deleted", {"status": 410}, 4), NOW)
    assert (deleted.diff_href, deleted.summary) == (None, "page answered 410")
    restored_same = change_row(_event("article.restored", {"previous_status": 404}, 4), NOW)
    assert restored_same.diff_href is None
    unknown = change_row(_event("article.retitled", {}, 4), NOW)
    assert unknown.label == "retitled"


class ListedEvents:
    """`list_events` over a list, newest first, honouring `limit` and `before` only."""

    def __init__(self, events: list[EventListing]) -> None:
        self.events = events
        self.read = 0

    async def list_events(self, *, limit: int, before: tuple[datetime, str] | None = None,
                          **_: object) -> list[EventListing]:
        rows = [e for e in self.events if before is None or e.cursor < before][:limit]
        self.read += len(rows)
        return rows


def _titled(i: int, title: str) -> EventListing:
    return EventListing(f"evt_{i:05d}", "article.new", NOW - timedelta(minutes=i), 1, i,
                        title, "https://n.example/a", "https://n.example/a",
                        "https://n.example/rss", json.dumps({"data": {}}))


async def test_a_title_search_stops_at_its_budget_and_carries_on_from_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.web import listing

    monkeypatch.setattr(listing, "SEARCH_BATCH", 100)
    monkeypatch.setattr(listing, "SEARCH_BUDGET", 300)
    events = [_titled(i, "Rare find" if i in (50, 420) else "Other news") for i in range(500)]
    store = ListedEvents(events)
    # Only what `changes_page` reads of a store.
    reads = cast("StoreReads", store)
    page, cursor = await listing.changes_page(reads, change_query({"q": "RARE"}))
    assert [e.event_id for e in page] == ["evt_00050"]
    assert store.read == 300 and cursor == events[299].cursor    # a short page, not the end
    page, cursor = await listing.changes_page(reads, listing.ChangeQuery(
        None, None, "rare", cursor, 50))
    assert [e.event_id for e in page] == ["evt_00420"]
    assert cursor is None                                         # the scan reached the end
    full, cursor = await listing.changes_page(reads, change_query({"q": "other", "limit": "2"}))
    assert [e.event_id for e in full] == ["evt_00000", "evt_00001"] and cursor == full[-1].cursor
