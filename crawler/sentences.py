"""Sentences of a body text, split the way a reader would. Pure.

A sentence ends at `.`, `!`, `?` or `…` followed by white space and the start of another
sentence (an upper-case letter, a digit, an opening quote or bracket, or any letter of a script
without case), and at the CJK full stops `。！？` wherever they are. Closing quotes and brackets
right after the mark stay with the sentence they close. A paragraph break always ends one.

What does not end a sentence:
- a known abbreviation (`Mr.`, `Dr.`, `z. B.`, `Mme.`, `Sra.`, `vgl.`, `Mar.`, `No. 5`, ...)
  or a single letter (an initial: `J. Smith`, or `U.S.`),
- a mark followed by a lower-case letter (`"Why?" he asked.`),
- a full stop inside a number (`3.5`, `40.000`) or with no space after it (`example.org`),
- an ordinal in German dates (`Am 12. September`): a number followed by a full stop and a
  lower- or upper-case word is ambiguous, so a digit-only word before the mark is kept when
  the next word is a month name.
"""

from __future__ import annotations

import re

from crawler.textnorm import paragraphs


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Abbreviations, lower-cased, without the final full stop, in the languages of the default
# feeds (English, French, Spanish, German). Titles and month abbreviations only when written
# with a capital (`Dr. Jones`, `Mar. 3`: "al mar." ends a Spanish sentence); those that
# stand before a number only there (`No. 5`, `S. 12`: "the answer was no." ends one); the
# rest in any case. "etc." and "usw." often end a sentence, so they are none of these.
_TITLES = _words("""
mr mrs ms dr prof st jr sr sen rep gov gen col lt sgt capt cmdr adm rev hon pres
jan feb mar apr jun jul aug sep sept oct nov dec
mme mmes mlle mlles me mgr sra sres srta dña dra
""")
_BEFORE_NUMBER = _words("no nos nr núm pág art abs p pp s fig vol")
_ABBREVIATIONS = _words("""
vs e.g i.e cf al approx ca ed eds inc ltd co corp bros dept cie env ud uds
bzw evtl ggf inkl vgl z.b u.a d.h s.o s.u z.t bspw
""")

_MONTHS = _words("""
january february march april may june july august september october november december
janvier février mars avril mai juin juillet août septembre octobre novembre décembre
enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
januar jänner februar märz april mai juni juli august september oktober november dezember
""")

_CLOSERS = "\"'’”»)]」』）》〉】"
_OPENERS = "\"'‘“«„(\\[「『（《〈【¿¡"
# CJK sentence ends need no space after them.
_CJK_END = re.compile(f"[。！？!?]+[{re.escape(_CLOSERS)}]*")
# A Latin end: the mark(s), closers, then white space.
# French puts a (narrow) space before a closing guillemet: « Non. »
_LATIN_END = re.compile(f"[.!?…]+(?:[ \u00a0\u202f]?[{re.escape(_CLOSERS)}])*(?=\\s+(\\S))")
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")


def split_sentences(text: str) -> list[str]:
    """The sentences of a normalized body (`crawler.textnorm.normalize_text`), in order,
    each trimmed; no empty ones."""
    out: list[str] = []
    for paragraph in paragraphs(text):
        out.extend(split_paragraph(paragraph))
    return out


def split_paragraph(paragraph: str) -> list[str]:
    """The sentences of one paragraph."""
    cuts = sorted({*_cjk_cuts(paragraph), *_latin_cuts(paragraph)})
    out: list[str] = []
    start = 0
    for cut in [*cuts, len(paragraph)]:
        piece = paragraph[start:cut].strip()
        if piece:
            out.append(piece)
        start = cut
    return out


def _cjk_cuts(paragraph: str) -> list[int]:
    cuts = []
    for match in _CJK_END.finditer(paragraph):
        mark = match.group()[0]
        # A Latin ! or ? counts as a CJK end only between CJK characters (full-width text
        # sometimes uses them); elsewhere the Latin rule decides.
        if mark in "!?" and not _is_cjk(paragraph[match.start() - 1 : match.start()]):
            continue
        cuts.append(match.end())
    return cuts


def _latin_cuts(paragraph: str) -> list[int]:
    cuts = []
    for match in _LATIN_END.finditer(paragraph):
        following = match.group(1)
        if not _starts_sentence(following):
            continue
        if match.group().startswith(".") and _keeps_going(paragraph[: match.start() + 1],
                                                          paragraph[match.end():]):
            continue
        cuts.append(match.end())
    return cuts


def _starts_sentence(char: str) -> bool:
    if char.isdigit() or char in _OPENERS or char in "-–—•":
        return True
    if char.isalpha():
        # Upper case, or a letter of a script without case (CJK, Arabic, Hebrew, ...).
        return char.isupper() or char.lower() == char.upper()
    return False


def _keeps_going(before: str, after: str) -> bool:
    """True when the full stop that ends `before` belongs to an abbreviation, an initial or
    an ordinal, not to the end of a sentence."""
    found = _WORD_BEFORE.search(before)
    if found is None:
        return False
    word = found.group(1)
    bare = word.lower().strip(".")
    if bare in _ABBREVIATIONS or (bare in _TITLES and word[:1].isupper()):
        return True
    if bare in _BEFORE_NUMBER and after.lstrip()[:1].isdigit():
        return True
    letters = bare.replace(".", "")
    if len(letters) == 1 and letters.isalpha():
        return True  # an initial, or the last letter of U.S. / z.B.
    if "." in bare and all(len(part) == 1 for part in bare.split(".")):
        return True  # U.S, e.g written without the last stop
    if bare.isdigit() and len(bare) <= 2:
        next_word = after.split(maxsplit=1)[0].lower().strip(".,") if after.strip() else ""
        return next_word in _MONTHS
    return False


def _is_cjk(char: str) -> bool:
    return bool(char) and (
        "\u3000" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"
        or "\uf900" <= char <= "\uffef"
    )
