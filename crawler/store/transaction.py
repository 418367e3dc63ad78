"""One open write transaction as the write methods shared by both stores see it, and the base
of those shared methods.

Each store keeps its own way of running a transaction (SQLite: the one writer, group commit
and savepoints, `sqlite_commit`; PostgreSQL: a pooled connection, retried after a deadlock,
`postgres_db`) and hands the shared code a thin adapter over its connection
(`sqlite_tx.SQLiteTransaction`, `postgres_tx.PostgresTransaction`): each call is the one
driver call the store would have made itself, so sharing costs no round trip.

Statements are written once with `?` marks, as the shared reads are (`dialect.Dialect.sql`):
the adapter puts them in its dialect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from crawler.store.dialect import Dialect
from crawler.store.records import Row

T = TypeVar("T")


class Transaction(Protocol):
    """The statements of one open transaction, written with `?` marks."""

    @property
    def dialect(self) -> Dialect: ...

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """The rows a query (or a statement with RETURNING) gives, by column name."""
        ...

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; how many rows it changed."""
        ...

    async def run_many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        """Run a statement once for each set of parameters."""
        ...


TransactionBody = Callable[[Transaction], Awaitable[T]]


class SharedWrites:
    """What the shared write methods need of their store: its dialect, a read outside any
    transaction, and a transaction of its own. The store's database class provides them; it
    comes first in the store's method order, so these placeholders are never reached."""

    _dialect: ClassVar[Dialect]

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        raise NotImplementedError

    async def _transact(self, body: TransactionBody[T]) -> T:
        """Run `body` in one write transaction; returns once it is committed."""
        raise NotImplementedError

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """`_read` of a statement written with `?` marks."""
        return await self._read(self._dialect.sql(sql), params)
