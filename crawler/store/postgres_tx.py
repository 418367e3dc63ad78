"""The PostgreSQL store's transactions as `transaction.Transaction`s: an adapter over a
pooled connection, and the base class through which the shared write methods get them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from crawler.store.dialect import Dialect
from crawler.store.postgres_db import Conn, PostgresDatabase
from crawler.store.postgres_queries import POSTGRES
from crawler.store.records import Row
from crawler.store.transaction import TransactionBody

T = TypeVar("T")


class PostgresTransaction:
    """A `Transaction` on psycopg's `AsyncConnection`: the `?` marks become `%s`, and each
    call is one statement sent (`fetchall` reads what the statement already brought back)."""

    __slots__ = ("_conn",)
    dialect: Dialect = POSTGRES

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        cur = await self._conn.execute(POSTGRES.sql(sql), params)
        return await cur.fetchall()

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = await self._conn.execute(POSTGRES.sql(sql), params)
        return cur.rowcount

    async def run_many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        async with self._conn.cursor() as cur:
            await cur.executemany(POSTGRES.sql(sql), params)


class PostgresWrites(PostgresDatabase):
    """The PostgreSQL database under the shared write methods (`transaction.SharedWrites`)."""

    _dialect = POSTGRES

    async def _transact(self, body: TransactionBody[T]) -> T:
        # The store's own transaction (retried from the start after a deadlock), unchanged.
        return await self._write(lambda conn: body(PostgresTransaction(conn)))
