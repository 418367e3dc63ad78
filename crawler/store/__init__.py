"""Persistence: the `Store` seam, `open_store` to get one, and the two implementations behind
it (SQLite, embedded; PostgreSQL, for a fleet of daemons)."""

from crawler.store.base import (
    ArticleExistsError,
    BackupError,
    DatabaseConnectionError,
    DatabaseMissingError,
    EventBuilder,
    LeaseKey,
    LeaseKind,
    LeaseLostError,
    Maintenance,
    SchemaError,
    SchemaOutdatedError,
    SchemaTooNewError,
    StaleArticleError,
    Store,
    StoreClosedError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
    url_path,
)
from crawler.store.entries import EntryMatch, SightingMatch
from crawler.store.factory import describe_storage, maintenance_of, open_store
from crawler.store.page_cache import PageCache

__all__ = [
    "ArticleExistsError",
    "BackupError",
    "DatabaseConnectionError",
    "DatabaseMissingError",
    "EntryMatch",
    "EventBuilder",
    "LeaseKey",
    "LeaseKind",
    "LeaseLostError",
    "Maintenance",
    "PageCache",
    "SchemaError",
    "SchemaOutdatedError",
    "SchemaTooNewError",
    "SightingMatch",
    "StaleArticleError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
    "describe_storage",
    "maintenance_of",
    "open_store",
    "url_path",
]
