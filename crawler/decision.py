"""What one check of a known article means: the rules against invented edits, as one pure
function (DESIGN.md: "decide what a check means").

`classify` takes what is stored about the article (`History`), what the check found (the
extracted `Content`, or `Gone` for a 404/410) and the rules in force, and returns one
`Decision`; `crawler.recorder.Recorder` turns each decision into exactly one store call. The
rules, in the order they are tried:

1. Gone: a 404/410 is a deletion (`Deleted`) once `delete_checks` checks in a row found the
   page gone (before that, `Missing`: re-checked soon, not announced); later ones are nothing
   new (`StillGone`).
2. The same hash as the current version: `Unchanged`, or `Restored` (unchanged) when the
   article was deleted, or `Settled` when the current version was stored silently (a flap)
   and has now been current for `flap_window`: receivers are told of it then, so that when
   the window closes the version they were last told of is the one stored.
3. An error or placeholder page served with 200 (`crawler.error_pages`: a tiny text, error
   wording on a short page, or a text found for `SHARED_ARTICLES` other articles of the site
   within `SHARED_WINDOW`): nothing about the article, never stored (`ErrorPage`); a deleted
   article stays deleted.
4. A text from another extractor than the current version's: the extractor's doing, not the
   publisher's, so it is the new baseline, stored silently (`Rebaseline`); a deleted article
   coming back that way is `Restored`, without `changes` (they would describe the upgrade).
5. Less than `COLLAPSE_RATIO` of the previous text kept, in length or in words (a short
   article replaced by a notice as long as itself loses no length; another page served in
   the article's place keeps none of its words): an extraction collapse (paywall, redesign,
   wrong page), not announced (`Collapsed`) until it lasted `collapse_checks` checks in a
   row, by when a placeholder served for many articles has been recognised (rule 3).
6. A deleted article whose page answers with a different text: `Restored`, with `changes`.
7. A return to a version that was current within `flap_window`: `Flapped`, stored silently.
8. Anything else: `Edited`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from crawler.change_report import describe_edit
from crawler.config import Settings
from crawler.error_pages import error_page_reason, kept_share
from crawler.flaps import returns_to_recent_version
from crawler.models import Article, Changes, Content, VersionMark

# A check that keeps less than this share of the previous text is an extraction collapse
# until it persists.
COLLAPSE_RATIO = 0.5
# Another feed's entry this many times as long as the text tracked is a fuller cut of it.
FULLER_RATIO = 1.5
# A text that checks found for this many other articles of the same site within the window
# is a placeholder (a consent wall, a region block), whatever its wording.
SHARED_ARTICLES = 2
SHARED_WINDOW = 86400.0


@dataclass(frozen=True, slots=True)
class Gone:
    """The page answered 404 or 410, or redirected to the site's home page or a section index
    (`redirected_to`: where; the status is then 404)."""

    status: int
    redirected_to: str | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    collapse_checks: int
    """Checks in a row a collapse must last before it is announced."""
    flap_window: float
    """Seconds: a return to a version current this recently is recorded, not announced."""
    extractor_version: int
    """The running extractor (`crawler.extract.version.EXTRACTOR_VERSION`)."""
    delete_checks: int = 2
    """Checks in a row a 404/410 must last before the deletion is announced."""

    @classmethod
    def from_settings(cls, settings: Settings, extractor_version: int) -> Rules:
        return cls(collapse_checks=settings.recheck.collapse_checks,
                   flap_window=settings.recheck.flap_window,
                   extractor_version=extractor_version,
                   delete_checks=settings.recheck.delete_checks)


@dataclass(frozen=True, slots=True)
class History:
    """What is stored about an article, as far as the check needs it (`needs`)."""

    article: Article
    versions: tuple[VersionMark, ...] = ()
    """Every version, oldest first, without texts (only when `needs(...).versions`)."""
    last: Content | None = None
    """The current version's text (only when `needs(...).versions`)."""
    deletion_status: int | None = None
    """The status (404, 410) of the deletion in force (only when `needs(...).deletion`; None
    when no deletion event is stored)."""
    shared_with: int = 0
    """Other articles of the site whose checks found the same text within `SHARED_WINDOW`
    (only when `needs(...).texts`)."""
    announced: Content | None = None
    """The text of `article.announced_version` (only when `needs(...).announced` and the
    flap window closed: `window_closed`)."""


@dataclass(frozen=True, slots=True)
class Needs:
    versions: bool
    deletion: bool
    texts: bool = False
    """The text must be noted and counted across the site (`Store.note_site_text`)."""
    announced: bool = False
    """The text of the version last announced (with `versions`): the current one was a
    silent flap."""


def needs(article: Article, observed: Content | Gone, rules: Rules) -> Needs:
    """What `classify` must be given in `History` beyond the article: the versions and the
    last text only when the check found a text that differs under the same extractor (a
    collapse, a flap or an edit is possible), the deletion's status when a deleted article's
    page answered again, the site's texts whenever the text differs (it may be a
    placeholder)."""
    if isinstance(observed, Gone):
        return Needs(versions=False, deletion=False)
    differs = observed.content_hash != article.current_hash
    unannounced = (not differs and not article.deleted
                   and article.announced_version != article.current_version)
    return Needs(
        versions=((differs and article.extractor_version == rules.extractor_version)
                  or unannounced),
        deletion=article.deleted,
        texts=differs,
        announced=unannounced,
    )


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Same text: only the check time moves; the extractor that found it is confirmed."""


@dataclass(frozen=True, slots=True)
class Rebaseline:
    """A text from a newer extractor: stored silently as the new baseline."""

    current: Content


@dataclass(frozen=True, slots=True)
class Collapsed:
    streak: int
    """Collapsed checks in a row, this one included."""
    previous_chars: int
    current_chars: int


@dataclass(frozen=True, slots=True)
class ErrorPage:
    """An error or placeholder page served with 200: not stored, not announced."""

    reason: str
    """"tiny", "error_wording" (`crawler.error_pages.error_page_reason`) or "shared"."""
    chars: int


@dataclass(frozen=True, slots=True)
class Flapped:
    """Back to a recent version: stored, not announced."""

    current: Content
    announced: bool = False
    """The version is the text receivers were last told of: it is the announced one again."""


@dataclass(frozen=True, slots=True)
class Settled:
    """The silent current version outlived `flap_window`: announced now as an edit of the
    version last announced."""

    previous: Content
    previous_version: int
    current: Content
    changes: Changes


@dataclass(frozen=True, slots=True)
class Edited:
    previous: Content
    current: Content
    changes: Changes
    collapse_persisted: bool
    """The text collapsed and stayed so for `collapse_checks` checks: announced now."""


@dataclass(frozen=True, slots=True)
class Restored:
    """A deleted article's page answered with the article again: `article.restored`."""

    previous_status: int | None
    current: Content
    new_version: bool
    """The text differs from the current version's: it is stored as a new version."""
    previous: Content | None = None
    changes: Changes | None = None
    """How the text differs; None when it does not, or only by the extractor's doing."""


@dataclass(frozen=True, slots=True)
class Deleted:
    status: int
    redirected_to: str | None = None


@dataclass(frozen=True, slots=True)
class Missing:
    """A 404/410 not yet confirmed by `delete_checks` checks in a row: re-checked soon."""

    streak: int
    """Checks in a row that found the page gone, this one included."""
    status: int


@dataclass(frozen=True, slots=True)
class StillGone:
    status: int


Decision = (Unchanged | Rebaseline | ErrorPage | Collapsed | Flapped | Settled | Edited
            | Restored | Deleted | Missing | StillGone)


def _mark(versions: tuple[VersionMark, ...], number: int) -> VersionMark | None:
    return next((v for v in versions if v.number == number), None)


def window_closed(versions: tuple[VersionMark, ...], rules: Rules, now: datetime) -> bool:
    """The current (last) version has been current for `flap_window`: flapping back to an
    earlier version would be announced now, so a silent current version must be too."""
    return (now - versions[-1].fetched_at).total_seconds() >= rules.flap_window


def _settled(history: History, observed: Content, rules: Rules, now: datetime,
             describe: Callable[[Content, Content], Changes]) -> Settled | None:
    """`Settled` when the current version is not the one announced and has been current for
    `flap_window`; None otherwise (also while the window is open: flapping may go on)."""
    article = history.article
    if article.announced_version == article.current_version:
        return None
    if not history.versions:
        raise ValueError("classify needs the versions for this check")
    if not window_closed(history.versions, rules, now):
        return None
    if history.announced is None:
        raise ValueError("classify needs the announced text for this check")
    return Settled(previous=history.announced, previous_version=article.announced_version,
                   current=observed, changes=describe(history.announced, observed))


def collapses(previous: str, current: str) -> bool:
    """True when `current` keeps less than `COLLAPSE_RATIO` of `previous`, in length or in
    words."""
    return (len(current) < COLLAPSE_RATIO * len(previous)
            or kept_share(previous, current) < COLLAPSE_RATIO)


def fuller(previous: str, current: str) -> bool:
    """True when `current` is a fuller cut of the same text: `FULLER_RATIO` times as long,
    keeping at least `COLLAPSE_RATIO` of `previous`'s words (a full-content feed entry where a
    summary was tracked; a summary reworded for the feed keeps fewer of them than its lead)."""
    return (len(current) >= FULLER_RATIO * len(previous)
            and kept_share(previous, current) >= COLLAPSE_RATIO)


def classify(history: History, observed: Content | Gone, rules: Rules, now: datetime, *,
             describe: Callable[[Content, Content], Changes] = describe_edit) -> Decision:
    """The meaning of one check (see the module docstring). `describe`: how an edit's
    `changes` are made (a linear stand-in for versions too big, see `crawler.budget`). Raises
    ValueError when `history` lacks what `needs` asked for."""
    article = history.article
    if isinstance(observed, Gone):
        if article.deleted:
            return StillGone(observed.status)
        if article.gone_count + 1 < rules.delete_checks:
            return Missing(streak=article.gone_count + 1, status=observed.status)
        return Deleted(observed.status, observed.redirected_to)
    if observed.content_hash == article.current_hash:
        if article.deleted:
            return Restored(history.deletion_status, observed, new_version=False)
        return _settled(history, observed, rules, now, describe) or Unchanged()
    reason = error_page_reason(observed) or (
        "shared" if history.shared_with >= SHARED_ARTICLES else None)
    if reason is not None:
        return ErrorPage(reason, len(observed.text))
    if article.extractor_version != rules.extractor_version:
        if article.deleted:
            return Restored(history.deletion_status, observed, new_version=True)
        return Rebaseline(observed)
    old = history.last
    if old is None or not history.versions:
        raise ValueError("classify needs the versions and the last text for this check")
    collapsed = collapses(old.text, observed.text)
    if collapsed and article.collapse_count + 1 < rules.collapse_checks:
        return Collapsed(streak=article.collapse_count + 1, previous_chars=len(old.text),
                         current_chars=len(observed.text))
    if article.deleted:
        return Restored(history.deletion_status, observed, new_version=True, previous=old,
                        changes=describe(old, observed))
    if returns_to_recent_version(history.versions, observed.content_hash, now,
                                 rules.flap_window, rules.extractor_version):
        announced = _mark(history.versions, article.announced_version)
        return Flapped(observed, announced is not None
                       and announced.content_hash == observed.content_hash)
    return Edited(previous=old, current=observed, changes=describe(old, observed),
                  collapse_persisted=collapsed)
