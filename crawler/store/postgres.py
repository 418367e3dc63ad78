"""The PostgreSQL implementation of the `Store` seam, for a fleet of daemons on one database:
feeds and article checks here, lookups by URL and new articles in `postgres_entries`,
deliveries in `postgres_outbox`, the pool and transactions in `postgres_db` (its docstring has
the rules), the schema in `postgres_schema`.

Semantics are SQLiteStore's (one contract test suite runs against both). Where several daemons write
at once: a canonical URL is one article by a unique constraint (the loser of a race gets
`ArticleExistsError`), and a new version's number comes from the article row updated in the same
transaction (racing writers are serialized by its row lock, each event carrying the number its own
transaction stored); due work is claimed with leases (`postgres_leases` says how), and requests to a
host take turns for the whole fleet (`postgres_hosts`). It offers no `Maintenance`: the server
checkpoints, and backups are `pg_dump`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crawler.models import Article, Content, EventRecord, FeedState, Version
from crawler.store.base import EventBuilder, LeaseLostError
from crawler.store.postgres_checks import PostgresChecks
from crawler.store.postgres_db import Conn
from crawler.store.postgres_due import PostgresDue
from crawler.store.postgres_entries import PostgresEntries, insert_version
from crawler.store.postgres_hosts import PostgresHostTurns
from crawler.store.postgres_leases import (
    CLEAR_LEASE,
    FREE,
    LEASE_HELD,
    lease_lost_or_missing,
    lease_params,
    lease_until,
)
from crawler.store.postgres_outbox import insert_event
from crawler.store.postgres_page_cache import PostgresPageCache
from crawler.store.postgres_queries import PostgresReads
from crawler.store.postgres_retarget import PostgresRetarget
from crawler.store.postgres_rows import (
    ARTICLE_COLUMNS,
    ROWS,
    row_to_article,
    row_to_feed_state,
    row_to_version,
    utc,
    utc_opt,
)
from crawler.store.records import PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN

__all__ = ["PostgresStore"]

_FEED_STATUSES = ("ok", "not_modified", "error")
# pg_advisory_xact_lock's key serializing re-check claims under a per-host cap ("hostcap").
_HOST_CAP_LOCK = 0x686F7374636170

_FEED_INSERT = """
    INSERT INTO feeds (url, etag, last_modified, last_polled_at, last_status, last_error,
                       consecutive_errors, next_poll_at, last_entries)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
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
        last_entries = COALESCE(excluded.last_entries, feeds.last_entries)
"""


class PostgresStore(PostgresChecks, PostgresDue, PostgresHostTurns, PostgresRetarget,
                    PostgresPageCache, PostgresEntries, PostgresReads):
    """`Store` on one PostgreSQL database (`url`: a libpq URL). Construct, (`await
    migrate()`,) `await open()`, use, `await close()`; `postgres_db` says what `readonly`
    means."""

    # --- feeds -------------------------------------------------------------------------------
    async def get_feed_state(self, feed_url: str) -> FeedState | None:
        rows = await self._read("SELECT * FROM feeds WHERE url = %s", (feed_url,))
        return row_to_feed_state(rows[0]) if rows else None

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
    ) -> None:
        """See `Store.record_feed_poll`. Raises ValueError for an unknown status,
        `LeaseLostError`."""
        if status not in _FEED_STATUSES:
            raise ValueError(f"unknown feed poll status {status!r}")
        failed = status == "error"
        if lease_owner is not None:
            await self._complete_feed_poll(
                feed_url, lease_owner, polled_at=polled_at, status=status, error=error,
                etag=etag, last_modified=last_modified, next_poll_at=next_poll_at,
                entries=entries)
            return
        params = (
            feed_url, None if failed else etag, None if failed else last_modified,
            utc(polled_at), status, error, 1 if failed else 0, utc_opt(next_poll_at), entries,
        )
        query = _FEED_ERROR if failed else _FEED_OK

        async def tx(conn: Conn) -> None:
            await conn.execute(query, params)

        await self._write(tx)

    async def _complete_feed_poll(
        self, feed_url: str, owner: str, *, polled_at: datetime, status: str,
        error: str | None, etag: str | None, last_modified: str | None,
        next_poll_at: datetime | None, entries: int | None,
    ) -> None:
        """`record_feed_poll` of a claimed poll: one UPDATE, only while `owner` holds it."""
        changes: tuple[str, tuple[Any, ...]]
        if status == "error":
            changes = ("consecutive_errors = consecutive_errors + 1", ())
        else:
            changes = ("etag = %s, last_modified = %s, consecutive_errors = 0,"
                       " last_entries = COALESCE(%s, last_entries)",
                       (etag, last_modified, entries))
        query = (f"UPDATE feeds SET last_polled_at = %s, last_status = %s, last_error = %s,"  # noqa: S608
                 f" next_poll_at = %s, {changes[0]}, lease_owner = NULL,"
                 " lease_expires_at = NULL WHERE url = %s AND lease_owner = %s")
        params = (utc(polled_at), status, error, utc_opt(next_poll_at), *changes[1],
                  feed_url, owner)

        async def tx(conn: Conn) -> None:
            cur = await conn.execute(query, params)
            if cur.rowcount == 0:
                raise LeaseLostError("feed", feed_url, owner)

        await self._write(tx)

    async def list_feed_states(self) -> list[FeedState]:
        return [row_to_feed_state(r)
                for r in await self._read("SELECT * FROM feeds ORDER BY url")]

    async def sync_feeds(self, first_polls: Mapping[str, datetime]) -> None:
        """See `Store.sync_feeds`. The URLs go in sorted, so two daemons syncing at once take
        the rows' locks in one order."""
        rows = [(url, utc(first_polls[url])) for url in sorted(first_polls)]

        async def tx(conn: Conn) -> None:
            await conn.execute("UPDATE feeds SET configured = false WHERE configured")
            if rows:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        """INSERT INTO feeds (url, configured, next_poll_at)
                           VALUES (%s, true, %s)
                           ON CONFLICT (url) DO UPDATE SET configured = true,
                               next_poll_at = COALESCE(feeds.next_poll_at,
                                                       excluded.next_poll_at)""",
                        rows,
                    )

        await self._write(tx)

    async def claim_due_feeds(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float
    ) -> list[FeedState]:
        """See `Store.claim_due_feeds` (and `postgres_leases` for how a claim is made)."""
        at, until = utc(now), lease_until(utc(now), lease_seconds)
        query = f"""
            WITH chosen AS MATERIALIZED (
                SELECT url FROM feeds
                WHERE configured AND next_poll_at <= %s AND {FREE}
                ORDER BY next_poll_at, url LIMIT %s FOR UPDATE SKIP LOCKED
            ), taken AS (
                UPDATE feeds f SET lease_owner = %s, lease_expires_at = %s
                FROM chosen WHERE f.url = chosen.url RETURNING f.*
            )
            SELECT * FROM taken ORDER BY next_poll_at, url"""  # noqa: S608

        async def tx(conn: Conn) -> list[FeedState]:
            cur = await conn.execute(query, (at, at, limit, owner, until))
            return [row_to_feed_state(r) for r in await cur.fetchall()]

        return await self._write(tx)

    # --- articles (lookups by URL and creation: `postgres_entries`) -----------------------
    async def add_version(
        self,
        article_id: int,
        *,
        content: Content,
        event: EventBuilder | None,
        fetched_at: datetime,
        next_check_at: datetime | None,
        extractor_version: int,
        lease_owner: str | None = None,
        announces: bool | None = None,
    ) -> int:
        """See `Store.add_version`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        fetched = utc(fetched_at)
        next_check = utc_opt(next_check_at)
        announced = event is not None if announces is None else announces

        async def tx(conn: Conn) -> int:
            # The update takes the article's row lock: a racing writer waits, then re-reads
            # the number this one stored and goes one further.
            # Only while the owner (if any) holds the lease, cleared by the same statement:
            # otherwise nothing is written, no version, no event.
            cur = await conn.execute(
                f"""UPDATE articles SET current_version = current_version + 1,
                       current_hash = %s, title = %s, deleted = false, deleted_at = NULL,
                       last_checked_at = %s, check_count = check_count + 1,
                       next_check_at = %s, collapse_count = 0, gone_count = 0,
                       extractor_version = %s,
                       announced_version = CASE WHEN %s THEN current_version + 1
                                                ELSE announced_version END,
                       {CLEAR_LEASE}
                   WHERE id = %s AND {LEASE_HELD} RETURNING current_version""",  # noqa: S608
                (content.content_hash, content.title, fetched, next_check, extractor_version,
                 announced, *lease_params(lease_owner), article_id,
                 *lease_params(lease_owner)),
            )
            row = await cur.fetchone()
            if row is None:
                raise await lease_lost_or_missing(conn, "article", article_id, lease_owner)
            number = int(row["current_version"])
            await insert_version(conn, article_id, number, content, fetched, extractor_version)
            if event is not None:
                await insert_event(conn, event(number), article_id, number)
            return number

        return await self._write(tx)

    async def mark_collapsed(
        self, article_id: int, *, checked_at: datetime, next_check_at: datetime | None,
        lease_owner: str | None = None,
    ) -> int:
        """See `Store.mark_collapsed`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        return await self._grow_streak(article_id, "collapse_count", also="gone_count = 0,",
                                       checked_at=checked_at, next_check_at=next_check_at,
                                       lease_owner=lease_owner)

    async def mark_deleted(
        self,
        article_id: int,
        *,
        event: EventRecord,
        checked_at: datetime,
        next_check_at: datetime | None,
        lease_owner: str | None = None,
    ) -> None:
        """See `Store.mark_deleted`. Raises KeyError for an unknown article,
        `LeaseLostError`."""
        checked = utc(checked_at)
        next_check = utc_opt(next_check_at)

        async def tx(conn: Conn) -> None:
            cur = await conn.execute(
                f"""UPDATE articles SET deleted = true, deleted_at = %s, last_checked_at = %s,
                       check_count = check_count + 1, next_check_at = %s, gone_count = 0,
                       {CLEAR_LEASE}
                   WHERE id = %s AND {LEASE_HELD} RETURNING current_version""",  # noqa: S608
                (checked, checked, next_check, *lease_params(lease_owner), article_id,
                 *lease_params(lease_owner)),
            )
            row = await cur.fetchone()
            if row is None:
                raise await lease_lost_or_missing(conn, "article", article_id, lease_owner)
            await insert_event(conn, event, article_id, int(row["current_version"]))

        await self._write(tx)

    async def due_articles(self, now: datetime, limit: int) -> list[Article]:
        rows = await self._read(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a"  # noqa: S608
            " WHERE a.next_check_at IS NOT NULL AND a.next_check_at <= %s"
            " ORDER BY a.next_check_at, a.id LIMIT %s",
            (utc(now), limit),
        )
        return [row_to_article(r) for r in rows]

    async def claim_due_articles(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[Article]:
        """See `Store.claim_due_articles` (and `postgres_leases` for how a claim is made).
        With a per-host cap the due rows are ranked per host (a window over the due range)
        in one CTE, less the unexpired leases each host already has, and the chosen ids are
        locked `FOR UPDATE SKIP LOCKED` in the next (a row skipped there only lowers the
        count). Capped claims take a transaction-level advisory lock first, so that two
        daemons' claims, each counting the other's leases, cannot together exceed the cap;
        it is held only for the claim's one statement."""
        at, until = utc(now), lease_until(utc(now), lease_seconds)
        due = f"next_check_at IS NOT NULL AND next_check_at <= %s AND {FREE}"
        params: tuple[Any, ...]
        if per_host is None:
            chosen = f"""
                chosen AS MATERIALIZED (
                    SELECT id FROM articles WHERE {due}
                    ORDER BY next_check_at, id LIMIT %s FOR UPDATE SKIP LOCKED
                )"""  # noqa: S608
            params = (at, at, limit)
        else:
            chosen = f"""
                ranked AS MATERIALIZED (
                    SELECT id, host, next_check_at, row_number() OVER (
                        PARTITION BY host ORDER BY next_check_at, id) AS rank
                    FROM articles WHERE {due}
                ), held AS MATERIALIZED (
                    SELECT host, count(*) AS n FROM articles
                    WHERE lease_owner IS NOT NULL AND lease_expires_at > %s GROUP BY host
                ), picked AS MATERIALIZED (
                    SELECT ranked.id FROM ranked LEFT JOIN held ON held.host = ranked.host
                    WHERE ranked.rank + coalesce(held.n, 0) <= %s
                    ORDER BY ranked.next_check_at, ranked.id LIMIT %s
                ), chosen AS MATERIALIZED (
                    SELECT a.id FROM articles a JOIN picked ON picked.id = a.id
                    WHERE {due}
                    FOR UPDATE OF a SKIP LOCKED
                )"""  # noqa: S608
            params = (at, at, at, per_host, limit, at, at)
        query = f"""
            WITH {chosen}, taken AS (
                UPDATE articles a SET lease_owner = %s, lease_expires_at = %s
                FROM chosen WHERE a.id = chosen.id RETURNING a.*
            )
            SELECT {ARTICLE_COLUMNS}, {PAGE_CACHE_COLUMNS} FROM taken a
            LEFT JOIN {PAGE_CACHE_JOIN}
            ORDER BY a.next_check_at, a.id"""  # noqa: S608
        params = (*params, owner, until)

        async def tx(conn: Conn) -> list[Article]:
            if per_host is not None:
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_HOST_CAP_LOCK,))
            cur = await conn.execute(query, params)
            return [ROWS.claimed_article(r, owner) for r in await cur.fetchall()]

        return await self._write(tx)

    async def get_versions(self, article_id: int) -> list[Version]:
        rows = await self._read(
            "SELECT * FROM versions WHERE article_id = %s ORDER BY number", (article_id,)
        )
        return [row_to_version(r) for r in rows]

    async def count_articles(self) -> int:
        rows = await self._read("SELECT count(*) AS n FROM articles")
        return int(rows[0]["n"])

    async def count_due_articles(self, now: datetime) -> int:
        rows = await self._read(
            "SELECT count(*) AS n FROM articles"
            " WHERE next_check_at IS NOT NULL AND next_check_at <= %s",
            (utc(now),),
        )
        return int(rows[0]["n"])

    async def count_versions(self) -> int:
        rows = await self._read("SELECT count(*) AS n FROM versions")
        return int(rows[0]["n"])

