"""The two stores behind one face, for the contract tests: build a store on the test's
database, and reach under it (schema version, raw counts) where a test must."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import psycopg
import pytest

from crawler.models import Content, EventRecord
from crawler.store.base import Store
from crawler.store.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from crawler.store.migrations import split_statements
from crawler.store.postgres import PostgresStore
from crawler.store.postgres_schema import MIGRATIONS as PG_MIGRATIONS
from crawler.store.sqlite import SQLiteStore
from crawler.testing.postgres import PgCluster

BACKENDS = ["sqlite", "postgresql"]

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOOK_A = "http://127.0.0.1:9/a"
HOOK_B = "http://127.0.0.1:9/b"


def content(text: str = "Body text.", title: str = "Title") -> Content:
    return Content(title=title, text=text, content_hash=f"sha256:{hash((title, text)):x}")


def event(
    event_type: str = "article.new",
    endpoints: tuple[str, ...] = (HOOK_A,),
    event_id: str | None = None,
    at: datetime = T0,
    payload: str | None = None,
) -> EventRecord:
    return EventRecord(
        event_id=event_id or f"evt_{uuid.uuid4().hex}",
        event_type=event_type,
        created_at=at,
        payload=payload or f'{{"type": "{event_type}"}}',
        endpoints=endpoints,
    )


async def new_article(store: Store, n: int = 1, **kw: object) -> int:
    article = await store.create_article(
        extractor_version=1, canonical_url=f"https://news.example/a/{n}",
        url=f"https://news.example/a/{n}?utm=feed",
        feed_url="https://news.example/rss",
        content=content(f"text {n}"),
        event=kw.pop("event", None) or event(),  # type: ignore[arg-type]
        seen_at=T0,
        next_check_at=T0 + timedelta(minutes=10),
    )
    return article.article_id


# Two lease owners (process starts) and the lease the lease tests take.
A, B = "host-a:1:aaaa", "host-b:2:bbbb"
LEASE = 60.0


async def article_at(store: Store, n: int, due_in_s: float,
                     host: str = "news.example") -> int:
    """An article on `host` whose re-check is due `due_in_s` after T0."""
    article = await store.create_article(
        extractor_version=1, canonical_url=f"https://{host}/a/{n}", url=f"https://{host}/a/{n}",
        feed_url="https://news.example/rss", content=content(f"text {n}"),
        event=event(endpoints=()), seen_at=T0,
        next_check_at=T0 + timedelta(seconds=due_in_s))
    return article.article_id


class Backend(Protocol):
    name: str

    def store(self, *, readonly: bool = False) -> Store:
        """A store on this test's database, not opened."""

    def count(self, table: str) -> int:
        """Rows in `table`, read under the store."""

    def set_schema_version(self, version: int) -> None: ...

    def execute(self, sql: str) -> None:
        """Run one statement on the database, outside the store (e.g. rows of an old schema)."""

    def at_schema(self, version: int) -> None:
        """Make the database an empty one of schema `version` (0: nothing at all)."""


class SQLiteBackend:
    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "crawler.db"

    def store(self, *, readonly: bool = False) -> Store:
        return SQLiteStore(self.path, readonly=readonly)

    def count(self, table: str) -> int:
        with sqlite3.connect(self.path) as raw:
            return int(raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        with sqlite3.connect(self.path) as raw:
            raw.execute(f"PRAGMA user_version = {version}")

    def execute(self, sql: str) -> None:
        with sqlite3.connect(self.path) as raw:
            raw.execute(sql)

    def at_schema(self, version: int) -> None:
        self.path.unlink(missing_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        for number, script in enumerate(SQLITE_MIGRATIONS[:version], start=1):
            for statement in split_statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        db.close()


class PostgresBackend:
    name = "postgresql"

    def __init__(self, cluster: PgCluster) -> None:
        self.cluster = cluster
        self.databases: list[str] = []
        self.database = self._new()

    def _new(self, template: str = "tmpl") -> str:
        name = self.cluster.new_database(template=template)
        self.databases.append(name)
        return name

    @property
    def url(self) -> str:
        return self.cluster.url(self.database)

    def store(self, *, readonly: bool = False) -> Store:
        return PostgresStore(self.url, readonly=readonly)

    def count(self, table: str) -> int:
        [(count,)] = self.cluster.execute(self.database, f"SELECT count(*) FROM {table}")
        assert isinstance(count, int)
        return count

    def set_schema_version(self, version: int) -> None:
        self.cluster.execute(self.database, f"UPDATE crawler_schema SET version = {version}")

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.encode())

    def at_schema(self, version: int) -> None:
        self.database = self._new(template="template0")
        with psycopg.connect(self.url, autocommit=True) as conn:
            if version:
                conn.execute("CREATE TABLE crawler_schema (singleton boolean PRIMARY KEY"
                             " DEFAULT true CHECK (singleton), version integer NOT NULL)")
                conn.execute("INSERT INTO crawler_schema VALUES (true, 0)")
            for number, script in enumerate(PG_MIGRATIONS[:version], start=1):
                conn.execute(script.encode())
                conn.execute("UPDATE crawler_schema SET version = %s", (number,))

    def cleanup(self) -> None:
        for name in self.databases:
            self.cluster.drop_database(name)


def make_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path)
        return
    backend = PostgresBackend(request.getfixturevalue("pg_cluster"))
    try:
        yield backend
    finally:
        backend.cleanup()
