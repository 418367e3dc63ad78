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
   article was deleted.
3. A text from another extractor than the current version's: the extractor's doing, not the
   publisher's, so it is the new baseline, stored silently (`Rebaseline`); a deleted article
   coming back that way is `Restored`, without `changes` (they would describe the upgrade).
4. Less than `COLLAPSE_RATIO` of the previous text: an extraction collapse (paywall,
   redesign, error page served with 200), not announced (`Collapsed`) until it lasted
   `collapse_checks` checks in a row.
5. A deleted article whose page answers with a different text: `Restored`, with `changes`.
6. A return to a version that was current within `flap_window`: `Flapped`, stored silently.
7. Anything else: `Edited`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crawler.change_report import describe_edit
from crawler.config import Settings
from crawler.flaps import returns_to_recent_version
from crawler.models import Article, Changes, Content, VersionMark

# A check that keeps less than this share of the previous text is an extraction collapse
# until it persists.
COLLAPSE_RATIO = 0.5


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


@dataclass(frozen=True, slots=True)
class Needs:
    versions: bool
    deletion: bool


def needs(article: Article, observed: Content | Gone, rules: Rules) -> Needs:
    """What `classify` must be given in `History` beyond the article: the versions and the
    last text only when the check found a text that differs under the same extractor (a
    collapse, a flap or an edit is possible), the deletion's status when a deleted article's
    page answered again."""
    if isinstance(observed, Gone):
        return Needs(versions=False, deletion=False)
    return Needs(
        versions=(observed.content_hash != article.current_hash
                  and article.extractor_version == rules.extractor_version),
        deletion=article.deleted,
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
class Flapped:
    """Back to a recent version: stored, not announced."""

    current: Content


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


Decision = (Unchanged | Rebaseline | Collapsed | Flapped | Edited | Restored | Deleted
            | Missing | StillGone)


def classify(history: History, observed: Content | Gone, rules: Rules,
             now: datetime) -> Decision:
    """The meaning of one check (see the module docstring). Raises ValueError when `history`
    lacks what `needs` asked for."""
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
        return Unchanged()
    if article.extractor_version != rules.extractor_version:
        if article.deleted:
            return Restored(history.deletion_status, observed, new_version=True)
        return Rebaseline(observed)
    old = history.last
    if old is None or not history.versions:
        raise ValueError("classify needs the versions and the last text for this check")
    collapsed = len(observed.text) < COLLAPSE_RATIO * len(old.text)
    if collapsed and article.collapse_count + 1 < rules.collapse_checks:
        return Collapsed(streak=article.collapse_count + 1, previous_chars=len(old.text),
                         current_chars=len(observed.text))
    if article.deleted:
        return Restored(history.deletion_status, observed, new_version=True, previous=old,
                        changes=describe_edit(old, observed))
    if returns_to_recent_version(history.versions, observed.content_hash, now,
                                 rules.flap_window, rules.extractor_version):
        return Flapped(observed)
    return Edited(previous=old, current=observed, changes=describe_edit(old, observed),
                  collapse_persisted=collapsed)
