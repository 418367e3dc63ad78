"""What the store seam raises. `StoreError`s carry a message meant for the operator, printed
as it is; the others are conditions the caller handles (a lost lease, an article that exists)."""

from __future__ import annotations

from crawler.models import AsSeen
from crawler.store.claims import LeaseKey, LeaseKind


class ArticleExistsError(Exception):
    """create_article() for a canonical URL that is already tracked."""


class LeaseLostError(Exception):
    """A write meant to complete leased work, by an owner that no longer holds the lease
    (it expired and another owner claimed the row, or the row was released or completed).
    Nothing was written."""

    def __init__(self, kind: LeaseKind, key: LeaseKey, owner: str) -> None:
        super().__init__(f"{owner} no longer holds the lease on {kind} {key!r}")
        self.kind = kind
        self.key = key
        self.owner = owner


class StaleArticleError(Exception):
    """A write decided on the article as it was (`seen`: the feed it was compared from and
    its version), made after another write changed that (`now`): another poll moved it to
    another feed, or stored another version. Nothing was written."""

    def __init__(self, article_id: int, seen: AsSeen, now: AsSeen) -> None:
        super().__init__(f"article {article_id} changed since it was read: {seen} is now {now}")
        self.article_id = article_id
        self.seen = seen
        self.now = now


class StoreClosedError(RuntimeError):
    """A method was called before open() or after close(), or a write on a read-only store."""


class StoreError(Exception):
    """The store cannot be used as asked; the message says why and what to do."""


class StoreUnavailableError(StoreError):
    """`[storage]` names a database this program cannot use."""


class DatabaseMissingError(StoreError):
    """There is no database yet (reading commands never create one)."""


class DatabaseConnectionError(StoreError):
    """The database server cannot be reached or dropped the connection: the operation did not
    complete (or, lost during its commit, may have). Server stores reconnect by themselves; the
    same call can be tried again later."""


class StoreLockedError(StoreError):
    """Another process holds the store, and this store admits only one daemon."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class SchemaError(StoreError):
    """The database's schema version is not the one this program reads and writes."""

    def __init__(self, message: str, *, database: int, program: int) -> None:
        super().__init__(message)
        self.database = database
        self.program = program


class SchemaOutdatedError(SchemaError):
    """The database is older than the program: `crawler migrate` (or the daemon) upgrades it."""

    def __init__(self, *, database: int, program: int) -> None:
        super().__init__(
            f"the database schema is version {database}, older than this crawler's {program}:"
            " run `crawler migrate` (or start the daemon, which migrates) first",
            database=database, program=program)


class SchemaTooNewError(SchemaError):
    """The database was written by a newer program."""

    def __init__(self, *, database: int, program: int) -> None:
        super().__init__(
            f"the database schema is version {database}, newer than this crawler's {program}:"
            " this crawler is too old for the database; upgrade it",
            database=database, program=program)


class BackupError(StoreError):
    """The backup could not be made or did not verify; the message says why."""
