"""`crawler backup PATH`: an online, consistent copy of the database."""

from __future__ import annotations

import sys
from pathlib import Path

from crawler.backup import BackupError, backup_sqlite
from crawler.config import Settings


def backup(settings: Settings, dest: Path) -> int:
    try:
        backup_sqlite(Path(settings.storage.database), dest)
    except BackupError as exc:
        print(f"crawler: backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {dest} (integrity_check ok)")
    return 0
