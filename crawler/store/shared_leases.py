"""Leases on due work, written once for both stores (the rules are in `crawler.store.base`):
the SQL conditions a claim and a completing write carry (and a write decided on the article
as it was, `AS_SEEN`), the leased tables, and
`Store.renew_leases` / `Store.release_leases`. How a claim chooses its rows differs (SQLite:
the one writer chooses, then takes; PostgreSQL: `FOR UPDATE SKIP LOCKED`) and stays in each
store's module (`sqlite_leases`, `postgres_leases`), which also give these in its own marks.

Statements use `?` marks (`dialect.Dialect.sql`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crawler.models import AsSeen
from crawler.store.claims import LeaseKey, LeaseKind
from crawler.store.errors import LeaseLostError, StaleArticleError
from crawler.store.transaction import SharedWrites, Transaction

# A lease is free when nobody holds it or it has expired (`?` = the time of the claim).
FREE = "(lease_owner IS NULL OR lease_expires_at <= ?)"

# Appended to the SET list of a completing UPDATE: `lease_owner` given clears the lease (the
# WHERE clause has `LEASE_HELD` with the same value); None leaves it as it is. The owner is
# cast because PostgreSQL cannot tell the type of a parameter that is only tested for NULL.
CLEAR_LEASE = (
    "lease_owner = CASE WHEN CAST(? AS text) IS NULL THEN lease_owner ELSE NULL END, "
    "lease_expires_at = CASE WHEN CAST(? AS text) IS NULL THEN lease_expires_at ELSE NULL END"
)
LEASE_HELD = "(CAST(? AS text) IS NULL OR lease_owner = ?)"


def lease_params(owner: str | None) -> tuple[Any, Any]:
    """The parameters of `CLEAR_LEASE`, and likewise of `LEASE_HELD`."""
    return owner, owner


# In the WHERE clause of a write to an article given `as_seen` (None: any state): the
# article is still compared from that feed, at that version. Every new text is a new
# version, so the version number alone would do; the hash says what was compared with.
# In the completing UPDATE itself: on PostgreSQL a racing writer's UPDATE waits for the row
# lock and then tests the condition again on the row as committed (READ COMMITTED).
AS_SEEN = ("(CAST(? AS text) IS NULL OR (COALESCE(entry_feed_url, feed_url) = ?"
           " AND current_version = ? AND current_hash = ?))")


def as_seen_params(seen: AsSeen | None) -> tuple[Any, Any, Any, Any]:
    """The parameters of `AS_SEEN`."""
    if seen is None:
        return None, None, None, None
    return seen.tracked_feed, seen.tracked_feed, seen.current_version, seen.current_hash


@dataclass(frozen=True, slots=True)
class LeasedTable:
    name: str
    key: str
    key_type: str
    """The key column's SQL type (PostgreSQL's arrays of keys are cast to it)."""


_TABLES: dict[str, LeasedTable] = {
    "feed": LeasedTable("feeds", "url", "text"),
    "article": LeasedTable("articles", "id", "bigint"),
    "delivery": LeasedTable("deliveries", "id", "bigint"),
}


def table_of(kind: LeaseKind) -> LeasedTable:
    """Raises ValueError for an unknown kind."""
    try:
        return _TABLES[kind]
    except KeyError:
        raise ValueError(f"unknown lease kind {kind!r}") from None


def lease_expiry(now: datetime, lease_seconds: float) -> datetime:
    """When a lease taken at `now` expires. Raises ValueError for a lease that is not
    positive (it would be free the moment it is taken)."""
    if lease_seconds <= 0:
        raise ValueError(f"a lease must last some time, not {lease_seconds!r} s")
    return now + timedelta(seconds=lease_seconds)


async def lease_lost_or_missing(tx: Transaction, kind: LeaseKind, key: LeaseKey,
                                owner: str | None) -> Exception:
    """After a completing write (`LEASE_HELD`) matched no row: `LeaseLostError` when the row
    exists and `owner` was given (it no longer holds it), else KeyError (no such row)."""
    if owner is not None:
        table = table_of(kind)
        if await tx.rows(f"SELECT 1 FROM {table.name} WHERE {table.key} = ?", (key,)):  # noqa: S608
            return LeaseLostError(kind, key, owner)
    return KeyError(key)


async def article_refusal(tx: Transaction, article_id: int, owner: str | None,
                          seen: AsSeen | None) -> Exception:
    """After a write to an article under `LEASE_HELD` and `AS_SEEN` matched no row: KeyError
    when there is no such article, `LeaseLostError` when `owner` no longer holds it, else
    `StaleArticleError` (it is no longer as `seen`)."""
    if seen is None:
        return await lease_lost_or_missing(tx, "article", article_id, owner)
    found = await tx.rows(
        "SELECT lease_owner, COALESCE(entry_feed_url, feed_url) AS tracked_feed,"
        " current_version, current_hash FROM articles WHERE id = ?", (article_id,))
    if not found:
        return KeyError(article_id)
    row = found[0]
    if owner is not None and row["lease_owner"] != owner:
        return LeaseLostError("article", article_id, owner)
    now = AsSeen(row["tracked_feed"], int(row["current_version"]), row["current_hash"])
    return StaleArticleError(article_id, seen, now)


class SharedLeases(SharedWrites):
    """`Store.renew_leases` and `Store.release_leases`; the claims live with their tables."""

    async def renew_leases(
        self, kind: LeaseKind, owner: str, keys: Collection[LeaseKey], *, now: datetime,
        lease_seconds: float,
    ) -> set[LeaseKey]:
        table = table_of(kind)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        until = self._dialect.write_time(lease_expiry(now, lease_seconds))
        held, params = self._dialect.one_of(table.key, wanted, table.key_type)
        sql = (f"UPDATE {table.name} SET lease_expires_at = ?"  # noqa: S608
               f" WHERE lease_owner = ? AND {held} RETURNING {table.key} AS key")

        async def body(tx: Transaction) -> set[LeaseKey]:
            return {row["key"] for row in await tx.rows(sql, (until, owner, *params))}

        return await self._transact(body)

    async def release_leases(
        self, kind: LeaseKind, owner: str, keys: Collection[LeaseKey]
    ) -> int:
        table = table_of(kind)
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return 0
        held, params = self._dialect.one_of(table.key, wanted, table.key_type)
        sql = (f"UPDATE {table.name} SET lease_owner = NULL, lease_expires_at = NULL"  # noqa: S608
               f" WHERE lease_owner = ? AND {held}")

        async def body(tx: Transaction) -> int:
            return await tx.run(sql, (owner, *params))

        return await self._transact(body)
