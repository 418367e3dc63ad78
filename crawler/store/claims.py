"""The claims part of the store seam: due work leased to one daemon at a time (the rules are
in the `crawler.store.base` docstring)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal, Protocol

from crawler.models import Article, Delivery, FeedState

# What a lease is taken on, and the key naming one row of it: a feed by its URL (str), an
# article and a delivery by their ids (int).
LeaseKind = Literal["feed", "article", "delivery"]
LeaseKey = str | int


class StoreClaims(Protocol):
    async def claim_due_feeds(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[FeedState]:
        """Lease to `owner`, until `now + lease_seconds`, the configured feeds (`sync_feeds`)
        whose `next_poll_at` <= `now` and whose lease is free at `now`: the `limit` earliest
        due (ties by URL), exactly min(limit, how many qualify); returned in that order. The
        poll completes with `record_feed_poll(..., lease_owner=owner)`. `per_host`: as for
        `claim_due_articles`, after the claim no host (the feed URL's `url_host`) has more
        than this many feeds under an unexpired lease, whoever holds them; a host at the cap
        gets none, and the feeds it did not get keep their due time, so they are the first of
        their host claimed once its leases end."""

    async def claim_due_articles(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[Article]:
        """Lease to `owner`, until `now + lease_seconds`, articles whose `next_check_at` <=
        `now` and whose lease is free at `now`, earliest due first (ties by id), at most
        `limit`; returned in that order, each with `claimed_by = owner`. `per_host`: after
        the claim, no host (`Article` URL's authority, lower-cased) has more than this many
        articles under an unexpired lease, whoever holds them (so one claim never hands out
        more work for a host than its politeness allows at once; a host already at the cap
        gets none, and the earliest due of each host go first). The check completes with
        `add_version` / `mark_checked` / `mark_collapsed` / `mark_deleted` with
        `lease_owner=owner`. (PostgreSQL cannot lock rows in a query with a window function:
        rank the due rows per host in one CTE, then lock the chosen ids `FOR UPDATE SKIP
        LOCKED` in the next; a row skipped there only lowers the count.) The host of an
        article is stored when it is created (`urlsplit(url).netloc.lower()`)."""

    async def claim_due_deliveries(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        endpoints: Collection[str] | None = None,
    ) -> list[Delivery]:
        """Lease to `owner`, until `now + lease_seconds`, pending deliveries whose
        `next_attempt_at` <= `now` and whose lease is free at `now`, only to `endpoints` when
        given (none for an empty collection), earliest due first (ties by id), at most
        `limit`; returned in that order. A delivery is not claimable while an earlier pending
        delivery (lower id) of the same article to the same endpoint exists, leased or not:
        each endpoint gets an article's events in order. The attempt completes with
        `record_delivery_attempt(..., lease_owner=owner)`."""

    async def renew_leases(
        self, kind: LeaseKind, owner: str, keys: Collection[LeaseKey], *, now: datetime,
        lease_seconds: float,
    ) -> set[LeaseKey]:
        """Extend to `now + lease_seconds` the leases `owner` still holds on these rows
        (`lease_owner` equal, expired or not), in one transaction; returns the keys renewed.
        A key not returned was lost: another owner claimed it after it expired, or it was
        completed or released. Unknown keys are ignored."""

    async def release_leases(
        self, kind: LeaseKind, owner: str, keys: Collection[LeaseKey]
    ) -> int:
        """Give up the leases `owner` holds on these rows, due times unchanged (the work is
        claimable again at once); rows held by others are not touched. Returns how many were
        released."""
