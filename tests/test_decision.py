"""`crawler.decision.classify`: the meaning of one check, table-tested without a store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crawler.decision import (
    Collapsed,
    Deleted,
    Edited,
    ErrorPage,
    Flapped,
    Gone,
    History,
    Missing,
    Needs,
    Rebaseline,
    Restored,
    Rules,
    Settled,
    StillGone,
    Unchanged,
    classify,
    fuller,
    needs,
)
from crawler.models import Article, Content, VersionMark
from crawler.textnorm import make_content

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULES = Rules(collapse_checks=3, flap_window=86400.0, extractor_version=2)

A = make_content("Storm hits coast", "A storm hit the coast on Monday. " * 6
                 + "\n\n12 homes were damaged in the village, the fire service said.")
B = make_content("Storm hits coast", A.text + " Two people were hurt.")
C = make_content("Storm hits coast", A.text.replace("12 homes", "15 homes"))
SHORT = make_content("Storm hits coast", "Subscribe to continue reading this story.")
N = len(SHORT.text)


def mark(number: int, content: Content, ago: timedelta, extractor: int = 2) -> VersionMark:
    return VersionMark(number, content.content_hash, NOW - ago, extractor)


def article(current: Content, *, version: int = 1, deleted: bool = False, collapses: int = 0,
            extractor: int = 2, gone: int = 0, announced: int | None = None) -> Article:
    return Article(article_id=1, canonical_url="https://n.example/a", url="https://n.example/a",
                   feed_url="https://n.example/rss", first_seen_at=NOW - 10 * HOUR,
                   current_version=version, current_hash=current.content_hash,
                   title=current.title, deleted=deleted, check_count=3, next_check_at=NOW,
                   collapse_count=collapses, extractor_version=extractor, gone_count=gone,
                   announced_version=version if announced is None else announced)


def history(current: Content, *marks: VersionMark, **kw: object) -> History:
    status = kw.pop("status", None)
    art = article(current, version=len(marks) or 1, **kw)  # type: ignore[arg-type]
    return History(art, versions=marks or (mark(1, current, 5 * HOUR),), last=current,
                   deletion_status=status)  # type: ignore[arg-type]


ONE_A = (mark(1, A, 5 * HOUR),)
A_B = (mark(1, A, 5 * HOUR), mark(2, B, 2 * HOUR))


@pytest.mark.parametrize(("hist", "observed", "expected"), [
    (history(A), Gone(404), Missing(streak=1, status=404)),  # one 404 is no deletion yet
    (history(A, gone=1), Gone(410), Deleted(410)),  # the second in a row confirms it
    (history(A, gone=1, collapses=2), Gone(404), Deleted(404)),
    (history(A, deleted=True), Gone(410), StillGone(410)),
    (history(A, deleted=True, gone=1), Gone(404), StillGone(404)),
    (history(A), A, Unchanged()),
    (history(A, extractor=1), A, Unchanged()),  # same text: the new extractor is confirmed
    (history(A, extractor=1), B, Rebaseline(B)),
    (history(A, extractor=1), SHORT, Rebaseline(SHORT)),  # another extractor's text: no collapse
    (history(A), SHORT, Collapsed(streak=1, previous_chars=len(A.text), current_chars=N)),
    (history(A, collapses=1), SHORT, Collapsed(2, len(A.text), N)),
    (history(B, *A_B), A, Flapped(A)),  # back to what was current two hours ago
    (history(A, deleted=True, status=404), A, Restored(404, A, new_version=False)),
    (history(A, deleted=True), A, Restored(None, A, new_version=False)),
    (history(A, deleted=True, status=410, extractor=1), B, Restored(410, B, new_version=True)),
    (history(A, deleted=True, status=404), SHORT,
     Collapsed(1, len(A.text), N)),  # a placeholder page is no return
])
def test_classify(hist: History, observed: Content | Gone, expected: object) -> None:
    assert classify(hist, observed, RULES, NOW) == expected


@pytest.mark.parametrize(("checks", "gone", "expected"), [
    (1, 0, Deleted(404)),
    (3, 0, Missing(1, 404)),
    (3, 1, Missing(2, 404)),
    (3, 2, Deleted(404)),
    (3, 5, Deleted(404)),
])
def test_a_deletion_is_announced_once_delete_checks_confirm_it(checks: int, gone: int,
                                                               expected: object) -> None:
    rules = replace(RULES, delete_checks=checks)
    assert classify(history(A, gone=gone), Gone(404), rules, NOW) == expected


ERR = make_content("Service unavailable", "Sorry, the service is temporarily unavailable. "
                   "Please try again in a few minutes.")
WALL = make_content("Storm hits coast", "We value your privacy. We and our partners store "
                    "cookies to personalise content and advertising. Accept or reject.")
BRIEF = make_content("Meeting postponed", "The council meeting planned for Thursday is "
                     "postponed to Friday, the mayor's office said on Tuesday.")
NOTICE = make_content("Meeting postponed", "Our newsroom is updating this page right now; "
                      "the complete story will be back here very shortly.")
BRIEF2 = make_content("Meeting postponed", BRIEF.text.replace("Friday", "Saturday"))


@pytest.mark.parametrize(("hist", "observed", "expected"), [
    (history(A), ERR, ErrorPage("error_wording", len(ERR.text))),
    (history(A, extractor=1), ERR, ErrorPage("error_wording", len(ERR.text))),  # no baseline
    (history(A, deleted=True, status=404), ERR,
     ErrorPage("error_wording", len(ERR.text))),  # no return either
    (history(A), make_content("Storm hits coast", "Error"), ErrorPage("tiny", 5)),
    (replace(history(A), shared_with=2), WALL, ErrorPage("shared", len(WALL.text))),
    (replace(history(A), shared_with=2), A, Unchanged()),  # the article's own text
    # a short article replaced by a notice as long as itself: a collapse, not an edit
    (history(BRIEF), NOTICE, Collapsed(1, len(BRIEF.text), len(NOTICE.text))),
])
def test_error_pages_and_short_collapses(hist: History, observed: Content,
                                         expected: object) -> None:
    assert classify(hist, observed, RULES, NOW) == expected


def test_a_text_on_one_other_article_is_still_an_edit() -> None:
    decision = classify(replace(history(A), shared_with=1), B, RULES, NOW)
    assert isinstance(decision, Edited)


def test_a_short_article_corrected_is_an_edit() -> None:
    decision = classify(history(BRIEF), BRIEF2, RULES, NOW)
    assert isinstance(decision, Edited) and decision.changes.kinds == ("lead",)


def silently_back_on_a(ago: timedelta) -> History:
    """A announced, B announced, then A again, silently (a flap) `ago`."""
    marks = (mark(1, A, 50 * HOUR), mark(2, B, 30 * HOUR), mark(3, A, ago))
    return History(article(A, version=3, announced=2), versions=marks, last=A, announced=B)


def test_a_silent_flap_is_announced_once_the_flap_window_closes() -> None:
    assert classify(silently_back_on_a(2 * HOUR), A, RULES, NOW) == Unchanged()
    decision = classify(silently_back_on_a(25 * HOUR), A, RULES, NOW)
    assert isinstance(decision, Settled)
    assert (decision.previous, decision.previous_version, decision.current) == (B, 2, A)
    assert decision.changes.kinds == ("removal",)


def test_a_flap_back_to_the_announced_text_is_the_announced_version_again() -> None:
    assert classify(silently_back_on_a(2 * HOUR), B, RULES, NOW) == Flapped(B, announced=True)
    assert classify(history(B, *A_B), A, RULES, NOW) == Flapped(A, announced=False)


def test_needs_the_announced_text_only_after_a_silent_flap() -> None:
    assert needs(article(A, version=3, announced=2), A, RULES) == Needs(
        versions=True, deletion=False, announced=True)
    assert needs(article(A, version=3, announced=2, deleted=True), A, RULES) == Needs(
        versions=False, deletion=True)
    with pytest.raises(ValueError, match="needs the versions"):
        classify(History(article(A, version=3, announced=2)), A, RULES, NOW)
    closed = replace(silently_back_on_a(25 * HOUR), announced=None)
    with pytest.raises(ValueError, match="announced text"):
        classify(closed, A, RULES, NOW)
    assert classify(replace(silently_back_on_a(2 * HOUR), announced=None), A, RULES,
                    NOW) == Unchanged()  # the text is read only once the window closed


def test_an_edit_is_described() -> None:
    decision = classify(history(A), B, RULES, NOW)
    assert isinstance(decision, Edited)
    assert (decision.previous, decision.current) == (A, B) and not decision.collapse_persisted
    assert decision.changes.kinds == ("addition",)
    assert decision.changes.sentences == {"added": 1, "deleted": 0, "edited": 0, "moved": 0}


def test_a_collapse_is_announced_once_it_lasted_collapse_checks() -> None:
    decision = classify(history(A, collapses=2), SHORT, RULES, NOW)
    assert isinstance(decision, Edited) and decision.collapse_persisted
    assert "removal" in (decision.changes.kinds or ())


def test_a_return_after_the_flap_window_is_an_edit() -> None:
    old = (mark(1, A, 50 * HOUR), mark(2, B, 30 * HOUR))
    assert isinstance(classify(history(B, *old), A, RULES, NOW), Edited)
    assert isinstance(classify(history(B, *old), A, replace(RULES, flap_window=0), NOW),
                      Edited)


def test_a_return_with_another_text_carries_its_changes() -> None:
    decision = classify(history(A, deleted=True, status=404), C, RULES, NOW)
    assert isinstance(decision, Restored) and decision.new_version
    assert decision.previous_status == 404 and decision.previous == A
    assert decision.changes is not None and decision.changes.kinds == ("number",)


def test_a_deleted_article_back_on_a_recent_text_is_restored_not_flapped() -> None:
    decision = classify(history(B, *A_B, deleted=True, status=404), A, RULES, NOW)
    assert isinstance(decision, Restored) and decision.new_version


@pytest.mark.parametrize(("art", "observed", "expected"), [
    (article(A), Gone(404), Needs(versions=False, deletion=False)),
    (article(A), A, Needs(versions=False, deletion=False)),
    (article(A), B, Needs(versions=True, deletion=False, texts=True)),
    (article(A, extractor=1), B, Needs(versions=False, deletion=False, texts=True)),
    (article(A, deleted=True), A, Needs(versions=False, deletion=True)),
    (article(A, deleted=True), B, Needs(versions=True, deletion=True, texts=True)),
    (article(A, deleted=True), Gone(410), Needs(versions=False, deletion=False)),
])
def test_needs_reads_only_what_the_decision_uses(art: Article, observed: Content | Gone,
                                                 expected: Needs) -> None:
    assert needs(art, observed, RULES) == expected


def test_classify_refuses_a_history_without_what_it_needs() -> None:
    with pytest.raises(ValueError, match="needs the versions"):
        classify(History(article(A)), B, RULES, NOW)


SUMMARY = "A storm hit the northern coast on Tuesday night, the regional authorities said."
FULL = SUMMARY + "\n\nTwelve homes were damaged in the village, the fire service said." * 2


@pytest.mark.parametrize(("tracked", "entry", "expected"), [
    (SUMMARY, FULL, True),  # the full-content entry where the summary was tracked
    (FULL, SUMMARY, False),  # a summary is never fuller
    (FULL, FULL + " The post appeared first on News.", False),  # a footer is not a fuller cut
    (SUMMARY, "A digest of the day. " * 12, False),  # longer, but another text
    (SUMMARY, SUMMARY.upper() + " More" * 30, True),  # words compared caselessly
    ("", "Anything at all", True),  # nothing tracked: any text is fuller
])
def test_fuller_is_a_longer_cut_keeping_most_of_the_tracked_words(
        tracked: str, entry: str, expected: bool) -> None:
    assert fuller(tracked, entry) is expected
