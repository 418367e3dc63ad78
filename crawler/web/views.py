"""What the pages show, as plain records built by pure functions: rows of the list of
changes, moments in words, a site's name, the word diff as HTML. Templates only lay these out.

Everything here that comes from the web reaches HTML through `markupsafe.escape` (the word
diff) or the templates' autoescaping (everything else): no stored text is ever markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from crawler.change_summary import payload_data, summarize
from crawler.commands.diff import Gap
from crawler.commands.reading import event_title
from crawler.diffing import Block
from crawler.kinds import DELETED, EDITED, NEW, RESTORED
from crawler.redact import redact_url
from crawler.store.reads import EventListing
from crawler.urls import is_http_url

TYPE_LABELS = {NEW: "new", EDITED: "edited",
               DELETED: "deleted", RESTORED: "restored"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Moment:
    iso: str
    """For `<time datetime=...>`."""
    absolute: str
    """"26 Nov 2026, 12:05 UTC"."""
    relative: str
    """"5 minutes ago", "yesterday", or the date when it is long ago."""


def absolute(at: datetime) -> str:
    at = at.astimezone(UTC)
    return f"{at.day} {_MONTHS[at.month - 1]} {at.year}, {at:%H:%M} UTC"


def moment(at: datetime, now: datetime) -> Moment:
    """`at` as a reader says it, seen from `now` (a time in the future reads "just now":
    clocks of two machines disagree by a few seconds)."""
    seconds = (now - at).total_seconds()
    if seconds < 60:
        relative = "just now"
    elif seconds < 3600:
        n = int(seconds // 60)
        relative = f"{n} minute{'s' if n > 1 else ''} ago"
    elif seconds < 86400:
        n = int(seconds // 3600)
        relative = f"{n} hour{'s' if n > 1 else ''} ago"
    elif seconds < 2 * 86400:
        relative = "yesterday"
    elif seconds < 30 * 86400:
        relative = f"{int(seconds // 86400)} days ago"
    else:
        at_utc = at.astimezone(UTC)
        relative = f"{at_utc.day} {_MONTHS[at_utc.month - 1]} {at_utc.year}"
    return Moment(at.astimezone(UTC).isoformat(), absolute(at), relative)


def site_name(url: str) -> str:
    """The host a reader recognizes: "www.rfi.fr" -> "rfi.fr"; "" when `url` has none."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def safe_href(url: str) -> str | None:
    """`url` when a link to it can only open a web page (http or https), else None: a stored
    URL is the web's, and `javascript:` in an href would run on click."""
    return url if is_http_url(url) else None


def short_summary(summary: str, kinds: tuple[str, ...]) -> str:
    """`summary` without the kinds it starts with, when they are shown beside it."""
    prefix = ", ".join(kinds) + ": "
    return summary.removeprefix(prefix) if kinds else summary


def change_kinds(changes: object) -> tuple[str, ...]:
    """`changes.kinds` of an event, only the strings (a newer crawler may add kinds)."""
    if not isinstance(changes, dict):
        return ()
    kinds = changes.get("kinds")
    return tuple(k for k in kinds if isinstance(k, str)) if isinstance(kinds, list) else ()


@dataclass(frozen=True, slots=True)
class ChangeRow:
    event_id: str
    event_type: str
    label: str
    when: Moment
    title: str
    site: str
    url: str
    """The article's canonical URL, redacted."""
    article_href: str
    diff_href: str | None
    """The diff this event announced, None when it announced no text change."""
    kinds: tuple[str, ...]
    summary: str
    version: int | None


def diff_href(article_id: int, old: int, new: int, *, full: bool = False) -> str:
    return f"/articles/{article_id}/diff?from={old}&to={new}" + ("&full=1" if full else "")


def _previous(data: dict[str, object], version: int | None) -> int | None:
    previous = data.get("previous_version")
    if isinstance(previous, int) and not isinstance(previous, bool):
        return previous
    return None if version is None or version < 2 else version - 1


def change_row(event: EventListing, now: datetime) -> ChangeRow:
    data = payload_data(event.payload)
    changes = data.get("changes")
    href = None
    if event.event_type in (EDITED, RESTORED) and isinstance(changes, dict):
        previous = _previous(data, event.version)
        if previous is not None and event.version is not None and previous != event.version:
            href = diff_href(event.article_id, previous, event.version)
    kinds = change_kinds(changes)
    return ChangeRow(
        event_id=event.event_id, event_type=event.event_type,
        label=TYPE_LABELS.get(event.event_type, event.event_type.rpartition(".")[2]),
        when=moment(event.created_at, now), title=event_title(event) or "(no headline)",
        site=site_name(event.canonical_url), url=redact_url(event.canonical_url),
        article_href=f"/articles/{event.article_id}", diff_href=href,
        kinds=kinds, summary=short_summary(summarize(event.event_type, data), kinds),
        version=event.version)


_TAGS = {"insert": ("<ins>", "</ins>"), "delete": ("<del>", "</del>"), "equal": ("", "")}


def block_html(block: Block) -> Markup:
    """One paragraph of a word diff: removed words in `<del>`, added ones in `<ins>`, every
    word escaped. Blank lines inside (paragraphs that could not be paired) become `<br>`s."""
    parts = []
    for change in block.changes:
        start, end = _TAGS[change.op]
        text = str(escape(change.text)).replace("\n\n", "<br><br>").replace("\n", "<br>")
        parts.append(f"{start}{text}{end}")
    return Markup("".join(parts))   # noqa: S704 - every piece above went through escape()


def gap_text(gap: Gap) -> str:
    return f"{gap.count} unchanged paragraph{'s' if gap.count > 1 else ''}"


def diff_html(items: Sequence[Block | Gap]) -> Markup:
    """A whole word diff as HTML (the feed of changes' content): the headline as `<h2>`, then
    one `<p>` per paragraph, left-out paragraphs as a line in `<p><em>`."""
    out: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, Gap):
            out.append(f"<p><em>({gap_text(item)})</em></p>")
        elif i == 0:
            out.append(f"<h2>{block_html(item)}</h2>")
        else:
            out.append(f"<p>{block_html(item)}</p>")
    return Markup("\n".join(out))   # noqa: S704 - built from block_html's escaped pieces
