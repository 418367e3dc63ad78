"""The store reads behind the pages, the feed and the API: a page of changes with the
filters of `/` (type, feed, title search), and two versions' word diff.

The title search of the changes reads events newest first in batches and keeps those whose
headline contains the text, up to a budget of rows per request: a rare text gives a short page
with a `next` cursor that carries on from where the scan stopped, so no request reads the
whole table (and paging through every page still finds every match).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crawler.commands.changes import event_type
from crawler.commands.diff import DEFAULT_WORD_CONTEXT, Gap, shown
from crawler.commands.reading import event_title
from crawler.diffing import Block, paragraph_diff
from crawler.models import Content, Version
from crawler.store.reads import EventCursor, EventListing, StoreReads
from crawler.web.paging import PAGE_SIZE, BadQuery, event_cursor, page_size

SEARCH_BATCH = 500
SEARCH_BUDGET = 5_000
"""Events a title search reads per request at most."""


@dataclass(frozen=True, slots=True)
class ChangeQuery:
    event_type: str | None
    feed: str | None
    q: str | None
    before: EventCursor | None
    limit: int

    @property
    def filters(self) -> dict[str, str | None]:
        """The filters as the query string names them (for the next page's link)."""
        return {"type": self.event_type, "feed": self.feed, "q": self.q,
                "limit": None if self.limit == PAGE_SIZE else str(self.limit)}


def change_query(params: Mapping[str, str]) -> ChangeQuery:
    """The filters of `/`, `/changes.atom` and `/api/changes`. Raises BadQuery."""
    kind = params.get("type", "").strip() or None
    if kind is not None and not kind.replace(".", "").replace("_", "").isalnum():
        raise BadQuery("type: an event type such as edited or article.edited")
    return ChangeQuery(
        event_type=None if kind is None else event_type(kind),
        feed=params.get("feed", "").strip() or None,
        q=params.get("q", "").strip() or None,
        before=event_cursor(params.get("before")),
        limit=page_size(params.get("limit")))


def _matches(event: EventListing, folded: str) -> bool:
    return folded in event_title(event).casefold() or folded in event.title.casefold()


async def changes_page(store: StoreReads, query: ChangeQuery
                       ) -> tuple[list[EventListing], EventCursor | None]:
    """One page of events newest first, and the cursor of the next page (None: the end)."""
    if query.q is None:
        rows = await store.list_events(event_type=query.event_type, feed_url=query.feed,
                                       limit=query.limit + 1, before=query.before)
        if len(rows) > query.limit:
            return rows[:query.limit], rows[query.limit - 1].cursor
        return rows, None
    folded = query.q.casefold()
    found: list[EventListing] = []
    before, scanned = query.before, 0
    while scanned < SEARCH_BUDGET:
        batch = await store.list_events(event_type=query.event_type, feed_url=query.feed,
                                        limit=SEARCH_BATCH, before=before)
        for i, event in enumerate(batch):
            if _matches(event, folded):
                found.append(event)
                if len(found) == query.limit:
                    more = i + 1 < len(batch) or len(batch) == SEARCH_BATCH
                    return found, event.cursor if more else None
        scanned += len(batch)
        if len(batch) < SEARCH_BATCH:
            return found, None
        before = batch[-1].cursor
    return found, before


@dataclass(frozen=True, slots=True)
class DiffView:
    old: Version
    new: Version
    items: list[Block | Gap]
    changed: bool
    full: bool


def pick_versions(versions: list[Version], old: str | None, new: str | None
                  ) -> tuple[Version, Version] | None:
    """The two versions `?from=` and `?to=` name (default: the last two); None when there is
    only one. Raises BadQuery for a number that is not stored."""
    by_number = {v.number: v for v in versions}
    try:
        to_n = int(new) if new else versions[-1].number
        from_n = int(old) if old else to_n - 1
    except ValueError:
        raise BadQuery("from, to: version numbers") from None
    if not old and not new and len(versions) < 2:
        return None
    for name, n in (("from", from_n), ("to", to_n)):
        if n not in by_number:
            known = ", ".join(str(v) for v in by_number)
            raise BadQuery(f"{name}: version {n} is not stored (versions: {known})")
    return by_number[from_n], by_number[to_n]


def diff_view(old: Version, new: Version, *, full: bool) -> DiffView:
    blocks = paragraph_diff(Content(old.title, old.text, old.content_hash),
                            Content(new.title, new.text, new.content_hash))
    return DiffView(old, new, shown(blocks, None if full else DEFAULT_WORD_CONTEXT),
                    any(b.changed for b in blocks), full)
