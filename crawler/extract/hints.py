"""Word lists that hint at what an element is, from its class/id and its text.

Kept in one place so the scoring and the cleaning agree on what "boilerplate" means. Only generic
vocabulary of web page templates: nothing here names a particular site.
"""

from __future__ import annotations

import re
from functools import lru_cache


class Caseless:
    """A pattern matched regardless of case, the cheap way on ASCII text: case-sensitively,
    against the text lower-cased, which is about twice as fast as `re.IGNORECASE`. The matches
    are the same as long as every letter the pattern spells is lower-case: an ASCII character
    only ever folds to an ASCII one (the non-ASCII letters that fold to ASCII, "ſ", "K", "ı",
    "İ", never occur in ASCII text). Other text goes through `re.IGNORECASE`."""

    __slots__ = ("_lowered", "ignorecase")

    def __init__(self, pattern: str) -> None:
        self.ignorecase = re.compile(pattern, re.IGNORECASE)
        self._lowered = re.compile(pattern)

    def match(self, text: str) -> bool:
        if text.isascii():
            return self._lowered.match(text.lower()) is not None
        return self.ignorecase.match(text) is not None

    def search(self, text: str) -> bool:
        if text.isascii():
            return self._lowered.search(text.lower()) is not None
        return self.ignorecase.search(text) is not None

# Template vocabulary for blocks that are never article text. Two kinds: stems that may be
# followed by more letters in camelCase or compound names ("shareButtons", "relatedArticles"),
# and short words that must stand alone ("ad" but not "header"/"load").
_NEGATIVE_STEMS = (
    "comment", "disqus", "share", "sharing", "social", "related", "newsletter", "subscri",
    "signup", "promo", "advert", "sponsor", "outbrain", "taboola", "byline", "caption",
    "breadcrumb", "recommend", "popular", "trending", "mostread", "most-read", "most-popular",
    "widget", "sidebar", "cookie", "consent", "gdpr", "paywall", "pagination", "pager",
    "readmore", "read-more", "readalso", "read-also", "see-also", "seealso", "more-stories",
    "morestories", "toolbar", "dateline", "timestamp", "adslot", "ad-slot", "adunit", "ad-unit",
    "dfp", "skyscraper", "inline-ad", "lire-aussi", "copyright", "disclaimer",
)
_NEGATIVE_WORDS = (
    "ad", "ads", "adv", "date", "tags", "tag", "nav", "menu", "footer", "print", "author",
    "authors", "credit", "credits", "also", "modal", "popup", "banner", "meta", "rating",
    "counter", "views", "follow", "donate", "donation", "embed", "video", "audio", "player",
    "photo", "gallery", "slideshow", "rail", "aside", "rss", "app", "apps", "login", "contact",
    "masthead", "topics", "keywords", "bio", "profile", "updated", "published",
    "time", "source", "sources", "links", "more", "next", "prev", "previous",
)
# Hiding classes only as whole class names: "hidden" hides, "hidden-xs" only on small screens.
_HIDING = ("hidden", "hide", "is-hidden", "d-none", "invisible")
HIDING = frozenset(_HIDING)


def _after(chars: str, word: str) -> str:
    """The condition that `word`, just matched, does not follow a character of `chars` (a
    regex set's contents): a lookbehind over the word itself, so that the word comes first."""
    return f"(?<![{chars}]{re.escape(word)})"


def _alternation(tails: dict[str, list[str]]) -> str:
    """A regex matching any word of `tails` followed by one of its conditions ("" for none),
    with the words factored as a trie. `re` tries the alternatives of a group one after the
    other at each position, but skips at once one that starts with another letter: with every
    alternative starting with a letter (conditions before a word are written as lookbehinds
    after it, see `_after`) a position fails on its first letter, and a shared prefix is
    matched once. Some three times faster than the plain alternations on class names."""
    branches: dict[str, dict[str, list[str]]] = {}
    ends: list[str] = []
    for word, conditions in tails.items():
        if word:
            branches.setdefault(word[0], {}).setdefault(word[1:], []).extend(conditions)
        else:
            ends.extend(conditions)
    parts = [re.escape(first) + _alternation(rest) for first, rest in sorted(branches.items())]
    parts += sorted(set(ends))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _conditions(*groups: tuple[tuple[str, ...], str, str]) -> dict[str, list[str]]:
    """Words and their conditions from (words, characters that must not come before, condition
    after) groups; a word in several groups matches under any of its conditions."""
    tails: dict[str, list[str]] = {}
    for words, before, after in groups:
        for word in words:
            tails.setdefault(word, []).append((_after(before, word) if before else "") + after)
    return tails


# Stems after a non-alphanumeric character (or at the start), words also before a non-letter
# (or at the end), hiding classes between white space.
NEGATIVE = re.compile(_alternation(_conditions(
    (_NEGATIVE_STEMS, "a-z0-9", ""),
    (_NEGATIVE_WORDS, "a-z0-9", "(?![a-z])"),
    (_HIDING, r"\S", r"(?!\S)"),
)))

# The standfirst, in the names templates give it.
LEAD = re.compile(_alternation(_conditions((
    ("lead", "lede", "chapo", "chapeau", "standfirst", "stand-first", "dek", "sapo", "subhead",
     "subheadline", "sub-headline", "teaser", "intro", "summary", "excerpt", "abstract"),
    "a-z", "(?![a-z])"))))
COMMENTS = re.compile(r"comment|disqus|replies|discussion")
POSITIVE = re.compile(
    r"article|body|content|entry|hentry|main|post|text|blog|story|prose|rich-?text|paragraph"
)
# Whole-page regions, for scoring candidates only (a match here is a strong "not the body").
UNLIKELY = re.compile(_alternation(_conditions(
    (("comment", "disqus", "sidebar", "footer", "menu", "related", "recommend", "popular",
      "trending", "social", "share", "sponsor", "promo", "advert", "newsletter", "breadcrumb",
      "cookie", "widget", "masthead", "skyscraper", "outbrain", "taboola", "pager", "pagination",
      "remark", "shoutbox", "supplemental"), "", ""),
    (("nav", "navbar", "navigation"), "", r"\b"),
)))
# Regions that are never the article whatever their amount of prose: sidebars, notices,
# pop-ups, author boxes, threads. Used to veto a rival candidate, not to score.
OFF_BODY = re.compile(_alternation(_conditions(
    (("sidebar", "comment", "cookie", "consent", "gdpr", "footer", "modal", "popup", "pop-up",
      "newsletter", "related", "navigation", "navbar", "breadcrumb", "share", "social", "banner",
      "disclaimer", "copyright"), "", ""),
    (("author", "menu"), "a-z", ""),
    (("nav",), "a-z", "(?![a-z])"),
    (("promo",), "", "(?!ted)"),
)))
# Boxes laid over the page (dialogs, pop-ups, consent notices): never the article, even when
# they hold the densest text.
NOTICE = re.compile(
    r"modal|dialog|popup|pop-up|lightbox|overlay|cookie|consent|gdpr|captcha|paywall"
)

# Lines that introduce a link to another article, in the languages the project meets.
READ_ALSO = Caseless(
    # One `^\W*` before all the alternatives: sre then skips it once, not once per alternative.
    r"^\W*(?:(?:read|see|watch|listen)(?: also| more| next)?\b\s*:|"
    r"(?:read|see) (?:also|more)\b|(?:related|recommended|more)(?: stories| articles| "
    r"coverage| on this| reading)?\s*:|(?:à|a) (?:lire|voir|écouter) (?:aussi|également)\b|"
    r"lire (?:aussi|également|la suite)\b|(?:sur le même sujet|notre dossier)\b|"
    r"(?:lesen sie auch|mehr zum thema|auch interessant)\b|(?:lee|leer) también\b|"
    r"(?:延伸阅读|延伸閱讀|相关阅读|相關閱讀|相关新闻|相關新聞|阅读更多|閱讀更多|推荐阅读)|"
    r"(?:advertisement|advertising|publicité|anzeige|sponsored|werbung)\W*$|"
    r"(?:share|partager|分享|teilen|compartir)\s*[:：]?\s*$|"
    r"(?:获取更多|獲取更多)|"
    # Picture credits and source lines: who took the photo is not what the article says.
    r"(?:photos?|fotos?|credits?|crédits?(?: photos?)?|bild(?:er)?|image|picture|"
    r"foto ?credits?|bildquelle|quelle|source)\s*:|"
    # Tag and topic lists under the article.
    r"(?:tags?|topics?|themen|schlagw(?:ö|oe)rter|stichw(?:ö|oe)rter|mots[- ]cl(?:é|e)s|"
    r"th(?:è|e)mes|etiquetas|temas|tagi|tematy|标签|標籤|关键词|關鍵詞)\s*[:：])",
)
# A credit at the end of a short line ("Jane Doe/Getty Images"). Every READ_ALSO alternative is
# anchored at the start (so it is used with `match`); this one is searched, on short lines only.
CREDIT_TAIL = Caseless(
    r"(?:^|[/©|])\s*(?:getty images|afp|reuters|dpa|ap photo|shutterstock|istock(?:photo)?|"
    r"imago(?: images)?)\W*$",
)
CREDIT_MAX = 120

# A short line about the comment thread ("Write a comment", "No comments", "Join the
# discussion"): the thread's furniture, left behind when the thread itself was removed.
COMMENT_PROMPT = Caseless(
    r"\b(?:comments?|kommentare?n?|commentaires?|comentarios?|komentarz[ey]?|commenti|"
    r"reacties|discussion|diskussion|diskutieren|débat|reactions?|réactions?|reaktionen)\b",
)
COMMENT_PROMPT_MAX = 80
# Every COMMENT_PROMPT word holds one of these once lower-cased, so a line holding none cannot
# match: `in` is far cheaper than the search. Lower-casing folds every letter as the search's
# case-insensitivity does, but for the three that match "i" or "s" while lower-casing to
# something else ("ı", "ſ", and "İ", which becomes "i" and a combining dot): with them the
# search decides.
_PROMPT_PARTS = ("ment", "eact", "éact", "eakt", "iscu", "isku", "ébat")
_FOLDS_APART = ("ı", "ſ", "\u0307")


def comment_prompt(line: str) -> bool:
    """COMMENT_PROMPT is found in `line`."""
    low = line.lower()
    if not any(part in low for part in _PROMPT_PARTS) and (
            line.isascii() or not any(char in low for char in _FOLDS_APART)):
        return False
    return COMMENT_PROMPT.search(line)

# A "read also" line is the label and one headline.
READ_ALSO_MAX = 250


def class_id(attrs: dict[str, str | None]) -> str:
    """The lower-cased class and id of an element, `_` folded to `-` so both spellings match."""
    cls = attrs.get("class") or ""
    ident = attrs.get("id") or ""
    if not cls and not ident:
        return ""
    return _hint(cls, ident)


@lru_cache(maxsize=8192)
def _hint(cls: str, ident: str) -> str:
    # Cached on the raw pair: the boxes of a template repeat their class and id exactly.
    if ident and not _DIGITS.isdisjoint(ident):
        # Ids count their instances ("comment-4711", "post-88"): with the digits folded, the
        # hint is the same for every instance and every cached verdict on it is reused.
        ident = _RUN_OF_DIGITS.sub("0", ident)
    return _fold_hint(f"{cls} {ident}")


@lru_cache(maxsize=8192)
def box_kind(cls: str) -> str:
    """What kind of box a class attribute names, the same for every instance of it: without
    the tokens that number the instance ("section-3", "elementor-element-4f2a") or say it is
    hidden for now (a tab or slide not yet shown)."""
    if not cls:
        return ""
    return " ".join(token for token in cls.split()
                    if _DIGITS.isdisjoint(token) and token not in HIDING)


_DIGITS = frozenset("0123456789")
_RUN_OF_DIGITS = re.compile(r"\d+")


# A dash between a lower-case letter and an upper-case one. Lookarounds make the replacement a
# plain string: a group template ("\\1-\\2") is expanded in Python on every match.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@lru_cache(maxsize=8192)
def _fold_hint(raw: str) -> str:
    # Class names repeat within a page (every comment, every list item) and across the pages
    # of one site, hence the cache.
    if not raw.islower():  # islower() is True only when there is no upper-case letter at all
        # `shareButtons` and `share_buttons` are spelled `share-buttons` elsewhere.
        raw = _CAMEL.sub("-", raw)
    return raw.lower().replace("_", "-")

# Short lines that only say when, or how often, the page was touched: they change between two
# fetches of an unchanged article, so they never belong to its text.
_WHEN_WORDS = (
    r"updated|last updated|published|posted|modified|first published|"
    r"mis à jour|publié|modifié|actualisé|aktualisiert|veröffentlicht|actualizado|publicado|"
    r"更新|发布|發布|发表|發表|更新时间|发布时间"
)
# What readers do to a page, counted: "1,234 readers", "Views: 5.2K", "阅读 1234". The count
# moves between two fetches of an unchanged article (and would be an edit on every check), so
# a short line that only gives it never belongs to the text. Only words that name a count of
# readers' actions: "votes", "homes", "deaths" are news.
_COUNTED = (
    r"views?|reads?|readers?|visits?|visitors?|hits|plays|downloads|comments?|shares?|likes?|"
    r"reactions?|replies|vues|lectures|lecteurs|visites|commentaires|partages|aufrufe|leser|"
    r"besuche|kommentare|visitas|lecturas|lectores|comentarios|visualizaciones|"
    r"visualizzazioni|letture|commenti|次阅读|次閱讀|人阅读|人閱讀|次浏览|次瀏覽|人浏览|人瀏覽|"
    r"次播放|条评论|則留言"
)
_COUNT_LABELS = (
    r"views?|reads?|readers?|visits?|visitors?|hits|comments?|shares?|likes?|vues|visites|"
    r"lectures|aufrufe|visitas|阅读量|閱讀量|阅读数|閱讀數|阅读|閱讀|浏览量|瀏覽量|浏览次数|浏览|"
    r"瀏覽|点击量|點擊量|点击|點擊|评论|評論"
)
# A count as templates print it: "1234", "1,234", "1 234", "1.2k", "3 万". Letters in lower
# case only (see `Caseless`).
_COUNT = r"\d(?:[\d.,]| (?=\d))*\s*[km万萬]?"
# Every alternative is anchored at the start, so the pattern is used with `match`; the ones
# that may stand anywhere ("5 minutes ago", "By Jane Doe | 1,234 views") are `_AGO` and
# `_COUNT_TAIL`, searched only in lines with a digit.
VOLATILE_LINE = Caseless(
    r"^\W*(?:" + _WHEN_WORDS + r")\b.{0,60}$|"
    r"^\W*il y a \d+|^\W*vor \d+ (?:sekunden|minuten|stunden|tagen)|^\W*hace \d+|"
    r"^\W*\d+\s*(?:分钟|小时|天)前|"
    r"^\W*" + _COUNT + r"\s*(?:" + _COUNTED + r")\W*$|"
    r"^\W*(?:" + _COUNT_LABELS + r")\s*[:：(]?\s*" + _COUNT + r"\s*(?:次|times)?\W*$|"
    r"^\W*(?:this (?:article|story|post|page) (?:has been|was) )?(?:read|viewed|seen|shared) "
    + _COUNT + r"\s*times\W*$|"
    r"^\W*(?:lu|vu|consulté|partagé|gelesen)\s+" + _COUNT + r"\s*(?:fois|mal)\W*$|"
    r"^\W*(?:\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4})?\W{0,4}(?:\d{1,2}[:h]\d{2}(?::\d{2})?)?"
    r"(?:\s*[ap]\.?m\.?)?(?:\s*(?:utc|gmt|cet|cest|est|edt|pst|pdt))?\W*$",
)
_AGO = Caseless(
    r"\b\d+\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?)\s+ago\b",
)
# A count ending a short line after a spaced separator: a byline or a date line with its
# counters ("Covid-19 shares" is not one).
_COUNT_TAIL = Caseless(
    r"\s[|·•/–—-]\s*" + _COUNT + r"\s*(?:" + _COUNTED + r")\W*$",
)
# Volatile lines are short; a long line mentioning "updated" is prose.
VOLATILE_MAX = 90


def volatile(line: str) -> bool:
    """A short line that only says when, or how often, the page was touched."""
    if len(line) > VOLATILE_MAX:
        return False
    if VOLATILE_LINE.match(line):
        return True
    return not _DIGITS.isdisjoint(line) and (_AGO.search(line) or _COUNT_TAIL.search(line))
