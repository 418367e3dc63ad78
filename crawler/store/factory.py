"""`open_store`: the one place that turns `[storage]` into a store.

The app and every command get their store here, so none of them knows which database it
talks to. Three uses, three ways to open:

- `readonly=True`: reading commands (`status`, `history`, `diff`, `deliveries`). Never
  migrates, writes or creates anything; a schema other than this program's is an error that
  tells the operator what to do.
- `readonly=False`: commands that write a row or two beside a running daemon
  (`deliveries replay`, `deliveries resume`). Never migrates either.
- `daemon=True`: `crawler run`, `crawler once` and `crawler migrate`: `migrate()` then
  `open()`. Migrations run under the store's lock; on SQLite that lock is held for the whole
  run, so one such process per database file; on PostgreSQL it is held while migrating only,
  so any number of daemons share the database.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from crawler.config import StorageSettings
from crawler.store.base import Maintenance, Store, StoreUnavailableError
from crawler.store.sqlite import SQLiteStore


def open_store(storage: StorageSettings, *, readonly: bool, daemon: bool = False) -> Store:
    """The store `storage` names, not opened yet (see the module docstring for the flags).
    Raises ValueError for `readonly` with `daemon`, `StoreUnavailableError` for a database
    this program cannot use."""
    if readonly and daemon:
        raise ValueError("a daemon's store is never read-only")
    if storage.url:
        try:
            from crawler.store.postgres import PostgresStore
        except ImportError as exc:  # psycopg is a dependency; a broken install lacks it
            raise StoreUnavailableError(
                f"[storage] url: {describe_storage(storage)}: the PostgreSQL driver cannot be"
                f" loaded ({exc}); reinstall the crawler") from exc
        return PostgresStore(storage.url, readonly=readonly)
    return SQLiteStore(Path(storage.database), readonly=readonly, exclusive=daemon)


def describe_storage(storage: StorageSettings) -> str:
    """What `storage` names, credentials withheld (for check-config and messages)."""
    if storage.url:
        parts = urlsplit(storage.url)
        user = f"{parts.username}@" if parts.username else ""
        port = f":{parts.port}" if parts.port else ""
        host = parts.hostname or ""
        return f"PostgreSQL database {parts.scheme}://{user}{host}{port}{parts.path}"
    return f"SQLite database {storage.database}"


def maintenance_of(store: Store) -> Maintenance | None:
    """The store's housekeeping (checkpoint, backup, size) if it needs any; None otherwise."""
    return store if isinstance(store, Maintenance) else None
