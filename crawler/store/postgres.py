"""The PostgreSQL implementation of the `Store` seam, for a fleet of daemons on one database:
how due feeds and articles are claimed here; lookups by URL and new articles in
`postgres_entries`, deliveries in `postgres_outbox`, the pool and transactions in
`postgres_db` (its docstring has the rules), the schema in `postgres_schema`; what both
stores share in the `shared_*` modules, over `postgres_tx`.

Semantics are SQLiteStore's (one contract test suite runs against both). Where several daemons write
at once: a canonical URL is one article by a unique constraint (the loser of a race gets
`ArticleExistsError`), and a new version's number comes from the article row updated in the same
transaction (racing writers are serialized by its row lock, each event carrying the number its own
transaction stored); due work is claimed with leases (`postgres_leases` says how), and requests to a
host take turns for the whole fleet (`postgres_hosts`). It offers no `Maintenance`: the server
checkpoints, and backups are `pg_dump`'s job.
"""

from __future__ import annotations

from datetime import datetime

from crawler.models import Article, FeedState
from crawler.store.postgres_db import Conn
from crawler.store.postgres_due import PostgresDue
from crawler.store.postgres_entries import PostgresEntries
from crawler.store.postgres_hosts import PostgresHostTurns
from crawler.store.postgres_leases import FREE, due_choice, lease_until
from crawler.store.postgres_page_cache import PostgresPageCache
from crawler.store.postgres_queries import PostgresReads
from crawler.store.postgres_retarget import PostgresRetarget
from crawler.store.postgres_rows import ROWS, utc
from crawler.store.records import ARTICLE_COLUMNS, PAGE_CACHE_COLUMNS, PAGE_CACHE_JOIN
from crawler.store.shared_articles import SharedArticles
from crawler.store.shared_checks import SharedChecks
from crawler.store.shared_feeds import SharedFeeds

__all__ = ["PostgresStore"]

# pg_advisory_xact_lock's keys serializing re-check claims ("hostcap") and feed claims
# ("feedcap") under a per-host cap: a lock each, as the two never count each other's leases.
_HOST_CAP_LOCK = 0x686F7374636170
_FEED_CAP_LOCK = 0x66656564636170


class PostgresStore(PostgresDue, PostgresHostTurns, PostgresRetarget, PostgresPageCache,
                    PostgresEntries, PostgresReads, SharedFeeds, SharedArticles, SharedChecks):
    """`Store` on one PostgreSQL database (`url`: a libpq URL). Construct, (`await
    migrate()`,) `await open()`, use, `await close()`; `postgres_db` says what `readonly`
    means."""

    # --- feeds (the rest: `shared_feeds`) ----------------------------------------------------
    async def claim_due_feeds(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[FeedState]:
        """See `Store.claim_due_feeds` (and `postgres_leases` for how a claim is made); the
        per-host cap as for articles (`capped_choice`, under an advisory lock of its own)."""
        at, until = utc(now), lease_until(utc(now), lease_seconds)
        chosen, params = due_choice("feeds", "url", "next_poll_at",
                                    f"configured AND next_poll_at <= %s AND {FREE}",
                                    at=at, limit=limit, per_host=per_host)
        query = f"""
            WITH {chosen}, taken AS (
                UPDATE feeds f SET lease_owner = %s, lease_expires_at = %s
                FROM chosen WHERE f.url = chosen.url RETURNING f.*
            )
            SELECT * FROM taken ORDER BY next_poll_at, url"""  # noqa: S608
        params = (*params, owner, until)

        async def tx(conn: Conn) -> list[FeedState]:
            if per_host is not None:
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FEED_CAP_LOCK,))
            cur = await conn.execute(query, params)
            return [ROWS.feed_state(r) for r in await cur.fetchall()]

        return await self._write(tx)

    # --- articles (lookups by URL and creation: `postgres_entries`; writes: `shared_articles`)
    async def claim_due_articles(
        self, owner: str, now: datetime, *, limit: int, lease_seconds: float,
        per_host: int | None = None,
    ) -> list[Article]:
        """See `Store.claim_due_articles` (and `postgres_leases` for how a claim is made).
        With a per-host cap the due rows are ranked per host less the unexpired leases each
        host already has, and the chosen ids locked, in the CTEs of `capped_choice`. Capped
        claims take a transaction-level advisory lock first, so that two
        daemons' claims, each counting the other's leases, cannot together exceed the cap;
        it is held only for the claim's one statement."""
        at, until = utc(now), lease_until(utc(now), lease_seconds)
        chosen, params = due_choice(
            "articles", "id", "next_check_at",
            f"next_check_at IS NOT NULL AND next_check_at <= %s AND {FREE}",
            at=at, limit=limit, per_host=per_host)
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
