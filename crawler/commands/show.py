"""`crawler show ARTICLE [--version N]`: the headline and text of one stored version."""

from __future__ import annotations

import sys

from crawler.commands.history import load_article, unknown
from crawler.config import Settings
from crawler.terminal import printable, printable_line


async def show_version(settings: Settings, url: str, number: int | None) -> int:
    """Print the headline, a blank line and the text of version `number` (None: the latest),
    from the store opened read-only; 1 when the article or the version is unknown."""
    found = await load_article(settings, url)
    if found is None:
        return unknown(url)
    _, versions = found
    by_number = {v.number: v for v in versions}
    chosen = by_number.get(versions[-1].number if number is None else number)
    if chosen is None:
        known = ", ".join(str(n) for n in by_number)
        print(f"crawler: version {number} is not stored (versions: {known})", file=sys.stderr)
        return 1
    sys.stdout.write(f"{printable_line(chosen.title)}\n\n{printable(chosen.text)}\n")
    return 0
