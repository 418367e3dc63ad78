"""The whole `changes` object of an edit: the diff summary (`crawler.diffing`), the sentences
matched across the versions (`crawler.sentence_match`) and the kinds of change
(`crawler.change_kinds`). Pure.

The daemon and `crawler compare` both describe an edit with `describe_edit`, so what compare
prints is what a receiver would get.
"""

from __future__ import annotations

from dataclasses import replace

from crawler.change_kinds import change_kinds
from crawler.diffing import describe_changes
from crawler.models import Changes, Content
from crawler.sentence_match import match_sentences
from crawler.sentences import split_sentences


def describe_edit(old: Content, new: Content) -> Changes:
    """`describe_changes` with `sentences` and `kinds` filled in. The headline is no sentence
    of the body: its change is `changes.title` and the kind `headline`."""
    changes = describe_changes(old, new)
    matching = match_sentences(split_sentences(old.text), split_sentences(new.text))
    return replace(changes, sentences=matching.counts().as_dict(),
                   kinds=change_kinds(old, new, matching, changes.similarity))
