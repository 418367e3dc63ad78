"""Feeds' poll state, written once for both stores over their `Transaction` (see
`shared_outbox`): reading it, a poll's outcome, and the set of configured feeds. How a claim
chooses due feeds differs and stays with each store (`sqlite`, `postgres`).

Statements use `?` marks and every time parameter goes through the dialect (`transaction`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crawler.models import FeedState
from crawler.store.base import url_host
from crawler.store.errors import LeaseLostError
from crawler.store.transaction import SharedWrites, Transaction

_FEED_STATUSES = ("ok", "not_modified", "error")

_FEED_INSERT = """
    INSERT INTO feeds (url, etag, last_modified, last_polled_at, last_status, last_error,
                       consecutive_errors, next_poll_at, last_entries, ttl_seconds, host)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# An error keeps the validators of the last good answer, for the next conditional GET.
_FEED_ERROR = _FEED_INSERT + """
    ON CONFLICT (url) DO UPDATE SET
        last_polled_at = excluded.last_polled_at,
        last_status = excluded.last_status,
        last_error = excluded.last_error,
        consecutive_errors = feeds.consecutive_errors + 1,
        next_poll_at = excluded.next_poll_at
"""
_FEED_OK = _FEED_INSERT + """
    ON CONFLICT (url) DO UPDATE SET
        etag = excluded.etag,
        last_modified = excluded.last_modified,
        last_polled_at = excluded.last_polled_at,
        last_status = excluded.last_status,
        last_error = excluded.last_error,
        consecutive_errors = 0,
        next_poll_at = excluded.next_poll_at,
        last_entries = COALESCE(excluded.last_entries, feeds.last_entries),
        ttl_seconds = excluded.ttl_seconds
"""


class SharedFeeds(SharedWrites):
    """The feed methods of `Store` but `claim_due_feeds`."""

    async def get_feed_state(self, feed_url: str) -> FeedState | None:
        rows = await self._query("SELECT * FROM feeds WHERE url = ?", (feed_url,))
        return self._dialect.rows.feed_state(rows[0]) if rows else None

    async def list_feed_states(self) -> list[FeedState]:
        return [self._dialect.rows.feed_state(r)
                for r in await self._query("SELECT * FROM feeds ORDER BY url")]

    async def record_feed_poll(
        self,
        feed_url: str,
        *,
        polled_at: datetime,
        status: str,
        error: str | None,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: datetime | None,
        entries: int | None = None,
        lease_owner: str | None = None,
        ttl_seconds: float | None = None,
    ) -> None:
        """See `Store.record_feed_poll`. Raises ValueError for an unknown status,
        `LeaseLostError`."""
        if status not in _FEED_STATUSES:
            raise ValueError(f"unknown feed poll status {status!r}")
        if lease_owner is not None:
            await self._complete_feed_poll(
                feed_url, lease_owner, polled_at=polled_at, status=status, error=error,
                etag=etag, last_modified=last_modified, next_poll_at=next_poll_at,
                entries=entries, ttl_seconds=ttl_seconds)
            return
        failed = status == "error"
        dialect = self._dialect
        params = (
            feed_url, None if failed else etag, None if failed else last_modified,
            dialect.write_time(polled_at), status, error, 1 if failed else 0,
            dialect.write_time_opt(next_poll_at), entries, None if failed else ttl_seconds,
            url_host(feed_url),
        )
        sql = _FEED_ERROR if failed else _FEED_OK

        async def body(tx: Transaction) -> None:
            await tx.run(sql, params)

        await self._transact(body)

    async def _complete_feed_poll(
        self, feed_url: str, owner: str, *, polled_at: datetime, status: str,
        error: str | None, etag: str | None, last_modified: str | None,
        next_poll_at: datetime | None, entries: int | None, ttl_seconds: float | None,
    ) -> None:
        """`record_feed_poll` of a claimed poll: one UPDATE, only while `owner` holds it."""
        changes: tuple[str, tuple[Any, ...]]
        if status == "error":
            changes = ("consecutive_errors = consecutive_errors + 1", ())
        else:
            changes = ("etag = ?, last_modified = ?, consecutive_errors = 0,"
                       " last_entries = COALESCE(?, last_entries), ttl_seconds = ?",
                       (etag, last_modified, entries, ttl_seconds))
        sql = (f"UPDATE feeds SET last_polled_at = ?, last_status = ?, last_error = ?,"  # noqa: S608
               f" next_poll_at = ?, {changes[0]}, lease_owner = NULL,"
               " lease_expires_at = NULL WHERE url = ? AND lease_owner = ?")
        params = (self._dialect.write_time(polled_at), status, error,
                  self._dialect.write_time_opt(next_poll_at), *changes[1], feed_url, owner)

        async def body(tx: Transaction) -> None:
            if await tx.run(sql, params) == 0:
                raise LeaseLostError("feed", feed_url, owner)

        await self._transact(body)

    async def sync_feeds(self, first_polls: Mapping[str, datetime],
                         due_by: Mapping[str, datetime] | None = None) -> None:
        """See `Store.sync_feeds`. The URLs go in sorted, so two daemons syncing at once take
        the rows' locks in one order (PostgreSQL). Each feed's host is written from its URL
        (`url_host`), over what a migration derived in SQL."""
        write_time = self._dialect.write_time
        rows = [(url, write_time(first_polls[url]), url_host(url)) for url in sorted(first_polls)]
        sooner = [(write_time(at), url, write_time(at))
                  for url, at in sorted((due_by or {}).items()) if url in first_polls]
        true, false = self._dialect.true, self._dialect.false

        async def body(tx: Transaction) -> None:
            await tx.run(f"UPDATE feeds SET configured = {false} WHERE configured = {true}")  # noqa: S608
            if rows:
                await tx.run_many(
                    f"""INSERT INTO feeds (url, configured, next_poll_at, host)
                        VALUES (?, {true}, ?, ?)
                        ON CONFLICT (url) DO UPDATE SET configured = {true},
                            host = excluded.host,
                            next_poll_at = COALESCE(feeds.next_poll_at,
                                                    excluded.next_poll_at)""",  # noqa: S608
                    rows,
                )
            if sooner:
                await tx.run_many(
                    "UPDATE feeds SET next_poll_at = ? WHERE url = ? AND next_poll_at > ?", sooner)

        await self._transact(body)
