"""`crawler migrate`: apply pending schema migrations, print the schema version.

It takes the store's lock like a daemon does: on SQLite it refuses while a daemon runs on the
file (stop the daemon, migrate, start the new version; a starting daemon also migrates by
itself).
"""

from __future__ import annotations

from crawler.config import Settings
from crawler.store import open_store


async def migrate(settings: Settings) -> int:
    """Exit 0; failures propagate as `StoreError` (the command line prints them, exit 1)."""
    store = open_store(settings.storage, readonly=False, daemon=True)
    try:
        before, after = await store.migrate()
    finally:
        await store.close()
    if before == after:
        print(f"{store.describe()}: schema version {after}, up to date")
    else:
        print(f"{store.describe()}: schema version {after} (migrated from {before})")
    return 0
