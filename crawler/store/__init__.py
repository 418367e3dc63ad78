"""Persistence: the `Store` seam, `open_store` to get one, and the SQLite implementation
behind it."""

from crawler.store.base import (
    ArticleExistsError,
    BackupError,
    DatabaseMissingError,
    EventBuilder,
    LeaseKey,
    LeaseKind,
    LeaseLostError,
    Maintenance,
    SchemaError,
    SchemaOutdatedError,
    SchemaTooNewError,
    Store,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from crawler.store.factory import describe_storage, maintenance_of, open_store

__all__ = [
    "ArticleExistsError",
    "BackupError",
    "DatabaseMissingError",
    "EventBuilder",
    "LeaseKey",
    "LeaseKind",
    "LeaseLostError",
    "Maintenance",
    "SchemaError",
    "SchemaOutdatedError",
    "SchemaTooNewError",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
    "describe_storage",
    "maintenance_of",
    "open_store",
]
