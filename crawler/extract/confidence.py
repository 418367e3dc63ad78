"""How sure the extraction is that the text it gives is the page's article, from 0 to 1.

Two measures of the evidence the body was chosen on, both from the text blocks that scored
(paragraphs of 25 characters or more, outside comment threads):

- *share*: the part of the page's prose that lies inside the chosen body. Near 1 on an article
  page; lower when prose of similar weight lies elsewhere (a second story, a long sidebar, a
  thread), which is when a wrong or partial block is likeliest.
- *amount*: how much prose the body holds, saturating at a few paragraphs; a body of one short
  paragraph is weak evidence whatever its share.

A fallback (the block kept uncleaned, the page's summary) lowers the score; a body chosen by
the operator's site rules is trusted. Pure; one float per page, cheap to compute.
"""

from __future__ import annotations

from crawler.extract.candidates import Choice

# Prose characters at which the amount measure saturates (four or five paragraphs).
_ENOUGH_PROSE = 1500
# The amount weighs this much; the rest of the score is the share.
_AMOUNT_WEIGHT = 0.5
# A page whose only text is a comment thread (a forum, a live blog) has no post to compare
# the thread against: the amount alone speaks, at this weight.
_THREAD_WEIGHT = 0.5
# Scores of the fallbacks, whatever the evidence: the cleaning emptied the chosen block, or
# only the page's summary was found.
FALLBACK_CONFIDENCE = {"cleaned_away": 0.3, "description": 0.1, "no_text": 0.0}


def confidence(choice: Choice | None, text: str, fallback: str) -> float:
    """The confidence of one extraction: `choice` is the body the heuristics chose (None when
    no block qualified), `text` the text given, `fallback` the fallback used ("" for none)."""
    if not text:
        return 0.0
    if fallback:
        return FALLBACK_CONFIDENCE.get(fallback, 0.0)
    if choice is None:
        # A fragment or a page of bare text: the whole body was taken, nothing to weigh.
        return 0.5 * _amount(len(text))
    if choice.thread:
        return round(_THREAD_WEIGHT * _amount(choice.prose or len(text)), 3)
    share = min(1.0, choice.prose / choice.page_prose) if choice.page_prose else 0.0
    amount = _amount(choice.prose)
    return round(share * (1 - _AMOUNT_WEIGHT + _AMOUNT_WEIGHT * amount), 3)


def _amount(prose: int) -> float:
    return min(1.0, prose / _ENOUGH_PROSE)
