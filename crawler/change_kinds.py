"""What a reader would call an edit: the `changes.kinds` of an event. Pure.

Each kind is one small rule over the two versions and their sentence matching
(`crawler.sentence_match`); an edit gets every kind whose rule holds, in this order:

- `headline`: the headline differs.
- `lead`: the first paragraph differs.
- `correction`: a sentence that reads as a correction or an editor's note (`is_correction`:
  English, French, Spanish, German, Chinese and Japanese wordings) is new, or was edited in.
- `quote`: the quotations (`quotations`: text between quotation marks, of three words or six
  CJK characters at least, so a scare-quoted term is none) of the old and new body differ.
- `number`: in a sentence matched across versions, or in the headline, the numbers differ
  (`numbers`: runs of digits, full-width ones included, with their decimal and thousands
  separators, and month names, which is how dates change in words).
- `addition`: a sentence was added (a correction note is a correction, not an addition), or a
  matched sentence only gained words.
- `removal`: a sentence was deleted, or a matched sentence only lost words.
- `rewrite`: the two versions are less than half alike (`changes.similarity` < 0.5).

A moved sentence, or a word replaced by another that is no number, has no kind of its own: its
counts are in `changes.sentences`. Receivers ignore kinds they do not know, so a kind may be
added later.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from crawler.diffing import word_diff
from crawler.models import Content
from crawler.sentence_match import Matching
from crawler.textnorm import paragraphs

KINDS = ("headline", "lead", "correction", "quote", "number", "addition", "removal", "rewrite")
REWRITE_BELOW = 0.5

_CORRECTION = re.compile(
    "|".join((
        # English
        r"^\W*(?:correction|clarification|corrections? (?:and|&) clarifications?|erratum)\b",
        r"editor['’]s note", r"an? (?:earlier|previous|prior) version of this",
        r"\b(?:article|story|report|post) (?:has been|was) (?:corrected|amended)",
        r"\b(?:incorrectly|wrongly|mistakenly|erroneously) (?:stated|said|reported|identified"
        r"|described|gave|named)",
        # French
        r"^\W*(?:correctif|rectificatif|erratum|précision)\b", r"note de la rédaction",
        r"\bn\.?d\.?l\.?r\b", r"une (?:précédente|première|ancienne) version de cet",
        r"cet article a été (?:corrigé|rectifié|modifié)", r"contrairement à ce que nous",
        r"\b(?:indiqué|écrit|affirmé) par erreur",
        # Spanish
        r"^\W*(?:corrección|fe de (?:errores|erratas)|aclaración)\b",
        r"nota (?:del editor|de la redacción|del redactor)",
        r"una versión (?:anterior|previa) de (?:este|esta)",
        r"\b(?:artículo|nota|información) (?:ha sido|fue) (?:corregid|modificad|rectificad)",
        r"\b(?:se informó|se indicó|se dijo|informamos|publicamos) (?:por error|erróneamente)",
        # German
        r"^\W*(?:korrektur|berichtigung|richtigstellung|korrekturhinweis)\b",
        r"anmerkung der redaktion", r"in einer (?:früheren|vorherigen|ersten|älteren) version",
        r"\b(?:artikel|text|beitrag|meldung) wurde (?:korrigiert|berichtigt|geändert)",
        r"\bhieß es (?:zunächst|fälschlicherweise|irrtümlich)",
        r"\b(?:fälschlicherweise|irrtümlich) (?:hieß|stand|berichtet|geschrieben)",
        # Chinese (simplified and traditional) and Japanese
        r"更正|勘误|勘誤|编者按|編者按|编者注|編者註|编注|編按|此前版本|早前版本|先前版本"
        r"|本文(?:已|经)(?:更正|修正|修改)|本文(?:已|經)(?:更正|修正|修改)",
        r"訂正|お詫び|おわび|編集部注",
    )),
    re.IGNORECASE,
)

_QUOTE = re.compile(
    r"“([^”“]+)”|„([^“”„]+)[“”]|«\s*([^»«]+?)\s*»|「([^」「]+)」|『([^』『]+)』"
    r"|(?<![\w\"])\"([^\"]+)\"(?![\w\"])|(?<!\w)‘([^’‘]+)’(?!\w)"
)
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_NUMBER = re.compile(r"\d+(?:[.,:/'’]\d+)*")
_MONTH = re.compile(
    r"\b(?:january|february|march|april|june|july|august|september|october|november|december"
    r"|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre"
    r"|diciembre|januar|jänner|februar|märz|juni|juli|oktober|dezember)\b",
    re.IGNORECASE,
)


def is_correction(sentence: str) -> bool:
    """A correction line or an editor's note, in one of the known languages."""
    return _CORRECTION.search(sentence) is not None


def quotations(text: str) -> Counter[str]:
    """The quotations in `text`: what stands between quotation marks (“ ”, „ “, « », 「 」,
    『 』, ' ', " "), when it is at least three words or six CJK characters long."""
    found: Counter[str] = Counter()
    for match in _QUOTE.finditer(text):
        quoted = next(g for g in match.groups() if g is not None).strip()
        if len(quoted.split()) >= 3 or len(_CJK_CHAR.findall(quoted)) >= 6:
            found[quoted] += 1
    return found


def numbers(text: str) -> Counter[str]:
    """The numbers and month names in `text`; full-width digits read as ASCII ones."""
    folded = unicodedata.normalize("NFKC", text)
    found: Counter[str] = Counter(_NUMBER.findall(folded))
    found.update(m.lower() for m in _MONTH.findall(folded))
    return found


def change_kinds(old: Content, new: Content, matching: Matching,
                 similarity: float) -> tuple[str, ...]:
    """The kinds of the edit from `old` to `new` (see the module docstring), in `KINDS`
    order; empty when the two say the same."""
    kinds: set[str] = set()
    if old.title != new.title:
        kinds.add("headline")
    if (paragraphs(old.text)[:1] or [""])[0] != (paragraphs(new.text)[:1] or [""])[0]:
        kinds.add("lead")
    edited = [(matching.old[p.old], matching.new[p.new]) for p in matching.pairs if p.edited]
    added = [matching.new[j] for j in matching.added]
    corrections = [s for s in added if is_correction(s)]
    if corrections or any(is_correction(b) and not is_correction(a) for a, b in edited):
        kinds.add("correction")
    if quotations(old.text) != quotations(new.text):
        kinds.add("quote")
    if any(numbers(a) != numbers(b) for a, b in [(old.title, new.title), *edited]):
        kinds.add("number")
    grew, shrank = _growth(edited)
    if len(added) > len(corrections) or grew:
        kinds.add("addition")
    if matching.deleted or shrank:
        kinds.add("removal")
    if similarity < REWRITE_BELOW:
        kinds.add("rewrite")
    return tuple(k for k in KINDS if k in kinds)


def _growth(edited: Iterable[tuple[str, str]]) -> tuple[bool, bool]:
    """Whether some edited sentence only gained words, and whether some only lost words."""
    grew = shrank = False
    for old, new in edited:
        ops = {c.op for c in word_diff(old, new) if c.op != "equal" and c.text.strip()}
        grew = grew or ops == {"insert"}
        shrank = shrank or ops == {"delete"}
    return grew, shrank
