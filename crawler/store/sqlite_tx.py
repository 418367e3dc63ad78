"""The SQLite store's transactions as `transaction.Transaction`s: an adapter over the writer
connection, and the base class through which the shared write methods get them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite

from crawler.store.dialect import Dialect
from crawler.store.records import Row
from crawler.store.sqlite_db import SQLiteDatabase
from crawler.store.sqlite_queries import SQLITE
from crawler.store.transaction import TransactionBody

T = TypeVar("T")


class SQLiteTransaction:
    """A `Transaction` on aiosqlite's connection: `?` is SQLite's own mark, so statements go
    to the connection as they are, one call (one hop to its thread) each."""

    __slots__ = ("_conn",)
    dialect: Dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return int(cursor.rowcount)

    async def run_many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, params)


class SQLiteWrites(SQLiteDatabase):
    """The SQLite database under the shared write methods (`transaction.SharedWrites`)."""

    _dialect = SQLITE

    async def _transact(self, body: TransactionBody[T]) -> T:
        # The store's own transaction (a savepoint of a group commit, or alone), unchanged.
        return await self._write(lambda conn: body(SQLiteTransaction(conn)))
