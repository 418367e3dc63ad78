"""`crawler show ARTICLE [--version N] [--json]`: the headline and text of one stored
version."""

from __future__ import annotations

import sys

from crawler.commands.history import load_article, unknown
from crawler.commands.output import print_json
from crawler.commands.reading import article_json, version_json
from crawler.config import Settings
from crawler.terminal import printable, printable_line


async def show_version(settings: Settings, ref: str, number: int | None, *,
                       as_json: bool = False) -> int:
    """Print the headline, a blank line and the text of version `number` (None: the latest),
    from the store opened read-only (`as_json`: one JSON object, the article and the
    version with its text); 1 when the article or the version is unknown."""
    found = await load_article(settings, ref)
    if found is None:
        return unknown(ref)
    article, versions = found
    by_number = {v.number: v for v in versions}
    chosen = by_number.get(versions[-1].number if number is None else number)
    if chosen is None:
        known = ", ".join(str(n) for n in by_number)
        print(f"crawler: version {number} is not stored (versions: {known})", file=sys.stderr)
        return 1
    if as_json:
        print_json({"article": article_json(article), **version_json(chosen, text=True)})
        return 0
    sys.stdout.write(f"{printable_line(chosen.title)}\n\n{printable(chosen.text)}\n")
    return 0
