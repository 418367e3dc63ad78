"""`crawler backup PATH`: an online, consistent copy of the database (for stores kept in local
files; a server database has its own tools: pg_dump for PostgreSQL)."""

from __future__ import annotations

import sys
from pathlib import Path

from crawler.config import Settings
from crawler.store import BackupError, maintenance_of, open_store


async def backup(settings: Settings, dest: Path) -> int:
    store = open_store(settings.storage, readonly=True)
    maintenance = maintenance_of(store)
    if maintenance is None:
        print(f"crawler: backup: {store.describe()} is a database server's, not a file: back it"
              " up with the server's own tools (pg_dump for PostgreSQL)", file=sys.stderr)
        return 1
    try:
        await maintenance.backup(dest)
    except BackupError as exc:
        print(f"crawler: backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {dest} (integrity_check ok)")
    return 0
