"""Error and placeholder pages served with status 200. Pure.

Overloaded sites and CDNs answer "Service unavailable", "Page introuvable" or "系统繁忙" with a
200 in the site's template; the extractor then finds a short text where the article was. Such
a page says nothing about the article: it must never become one of its versions, let alone
an announced edit. Two signs are read from the page alone (`error_page_reason`): a text too
tiny to be an article, and error wording in a short page. A third needs the store: the same
text found for many articles of one site at once (a consent wall, a geo-block notice), which
`crawler.decision` counts with `text_fingerprint`.

Wording is only trusted on short pages: an article reporting an outage quotes the same words
in a long text.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from crawler.models import Content

TINY_CHARS = 20
"""A text with fewer letters and digits than this is no article (an empty template, "Error");
a Chinese, Japanese or Korean character counts as two (it is about half a word)."""
ERROR_TEXT_MAX = 600
"""Error wording counts only in a text at most this long."""
TITLE_MAX = 80

# Phrases that error and maintenance pages use, in the languages of the sites watched
# (English, French, Chinese, Spanish, German, Italian, Portuguese). Lower-cased text is matched.
_PHRASES = [
    # English
    r"service (?:is )?(?:temporarily )?unavailable", r"temporarily unavailable",
    r"page (?:was )?not found", r"404 not found", r"\bnot found\b", r"internal server error",
    r"bad gateway", r"gateway time-?out", r"something went wrong", r"an error (?:has )?occurred",
    r"(?:please )?try again (?:later|in a few)", r"access denied", r"too many requests",
    r"(?:down|under) (?:for )?maintenance", r"page (?:you are looking for )?(?:does not|doesn't) "
    r"exist", r"(?:this|the) page (?:is|has been) (?:no longer )?(?:unavailable|removed)",
    r"checking your browser", r"are you a robot", r"unexpected error", r"^error\b",
    # French
    r"service (?:momentanément |temporairement )?indisponible", r"momentanément indisponible",
    r"page (?:introuvable|non trouvée|inexistante)", r"une erreur (?:est survenue|s'est produite)",
    r"veuillez réessayer", r"réessayez plus tard", r"accès refusé", r"en (?:cours de )?maintenance",
    r"^erreur\b",
    # Chinese
    r"服务暂时不可用", r"服务不可用", r"系统繁忙", r"页面不存在", r"找不到(?:该|此)?页面",
    r"请稍后(?:再试|重试)", r"访问被拒绝", r"系统维护", r"出错了", r"^错误", r"網頁不存在",
    r"請稍後再試",
    # Spanish
    r"servicio no disponible", r"página no encontrada", r"(?:se ha producido|ha ocurrido) un "
    r"error", r"int[ée]ntelo (?:de nuevo )?más tarde", r"inténtelo de nuevo",
    r"acceso denegado", r"en mantenimiento",
    # German
    r"(?:vorübergehend )?nicht verfügbar", r"seite (?:wurde )?nicht gefunden",
    r"ein fehler ist aufgetreten", r"versuchen sie es (?:später|in kürze)", r"zugriff verweigert",
    r"wartungsarbeiten", r"^fehler\b",
    # Italian, Portuguese
    r"servizio non disponibile", r"pagina non trovata", r"si è verificato un errore",
    r"serviço indisponível", r"página não encontrada", r"ocorreu um erro",
]
_ERROR = re.compile("|".join(f"(?:{p})" for p in _PHRASES), re.MULTILINE)
_WORD_CHAR = re.compile(r"\w")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# One token per word, and one per character in scripts written without spaces.
_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


def error_page_reason(content: Content) -> str | None:
    """Why `content` is an error or placeholder page rather than an article: "tiny" (hardly
    any text) or "error_wording" (a short page whose headline is an error message, or whose
    text is mostly error messages); None when it may be an article."""
    text = content.text
    if len(text) > ERROR_TEXT_MAX:
        # Normalized text has no runs of white space: this much holds far more letters than
        # a tiny text, and is never read whole here (pages of megabytes come this way).
        return None
    if len(_WORD_CHAR.findall(text)) + len(_CJK_CHAR.findall(text)) < TINY_CHARS:
        return "tiny"
    # The message must be most of what the headline or the text says: a short report of an
    # outage ("Bank app temporarily unavailable for two hours") uses such words too.
    title = content.title.strip().lower()
    if title and len(title) <= TITLE_MAX and _covered(title) >= 0.6:
        return "error_wording"
    found = [m.group(0) for m in _ERROR.finditer(text.lower())]
    covered = sum(map(len, found)) / len(text)
    if covered >= 0.5 or (covered >= 0.3 and len(set(found)) >= 2):
        return "error_wording"
    return None


def _covered(line: str) -> float:
    """The share of `line`'s characters that error phrases make up."""
    return sum(len(m.group(0)) for m in _ERROR.finditer(line)) / len(line)


def text_fingerprint(text: str) -> str:
    """The hash of a text alone (the headline left out: placeholder pages often keep each
    article's own headline around the same notice)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


KEPT_SAMPLE = 50_000
"""`kept_share` reads at most this many characters of the previous text (twice as many of
the current one): the check stays a few milliseconds on pages of megabytes, and text added
on top of a long page still leaves most of the sample found."""


def kept_share(previous: str, current: str) -> float:
    """The share of `previous`'s words (characters in Chinese, Japanese and Korean) that
    `current` still has, counted with repetition: 1.0 when nothing was lost. Long texts are
    measured on their beginnings (`KEPT_SAMPLE`)."""
    before = Counter(t.lower() for t in _TOKEN.findall(previous[:KEPT_SAMPLE]))
    if not before:
        return 1.0
    after = Counter(t.lower() for t in _TOKEN.findall(current[:2 * KEPT_SAMPLE]))
    return sum((before & after).values()) / sum(before.values())
