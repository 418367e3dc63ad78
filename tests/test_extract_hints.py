"""The class/id word lists compiled as tries (`hints._alternation`) match exactly what the plain
alternations they replace match: the same words, under the same boundary conditions."""

from __future__ import annotations

import re

import pytest

from crawler.extract import hints
from crawler.extract.hints import LEAD, NEGATIVE, OFF_BODY, UNLIKELY

# The plain forms, as readable as the word lists: what the tries must agree with.
_PLAIN = {
    "NEGATIVE": re.compile(
        r"(?:^|[^a-z0-9])(?:" + "|".join(map(re.escape, hints._NEGATIVE_STEMS))
        + r")|(?:^|[^a-z0-9])(?:" + "|".join(map(re.escape, hints._NEGATIVE_WORDS))
        + r")(?:$|[^a-z])|(?:^|\s)(?:" + "|".join(map(re.escape, hints._HIDING)) + r")(?:\s|$)"
    ),
    "LEAD": re.compile(
        r"(?:^|[^a-z])(?:lead|lede|chapo|chapeau|standfirst|stand-first|dek|sapo|subhead|"
        r"subheadline|sub-headline|teaser|intro|summary|excerpt|abstract)(?:$|[^a-z])"
    ),
    "OFF_BODY": re.compile(
        r"sidebar|comment|cookie|consent|gdpr|footer|(?:^|[^a-z])author|modal|popup|pop-up|"
        r"newsletter|related|navigation|navbar|(?:^|[^a-z])nav(?:$|[^a-z])|(?:^|[^a-z])menu|"
        r"breadcrumb|share|social|promo(?!ted)|banner|disclaimer|copyright"
    ),
    "UNLIKELY": re.compile(
        r"comment|disqus|sidebar|footer|menu|nav(?:bar|igation)?\b|related|recommend|popular|"
        r"trending|social|share|sponsor|promo|advert|newsletter|breadcrumb|cookie|widget|"
        r"masthead|skyscraper|outbrain|taboola|pager|pagination|remark|shoutbox|supplemental"
    ),
}
_TRIES = {"NEGATIVE": NEGATIVE, "LEAD": LEAD, "OFF_BODY": OFF_BODY, "UNLIKELY": UNLIKELY}

# (pattern, hint, matches): word starts, word ends, prefixes of longer words, lookbehinds at
# the start of the string, white space other than a space around hiding classes.
CASES = [
    ("NEGATIVE", "share-buttons", True),
    ("NEGATIVE", "post-sharing", True),          # a stem followed by more letters
    ("NEGATIVE", "reshare", False),              # a stem inside a word
    ("NEGATIVE", "header", False),               # "ad" only as a word
    ("NEGATIVE", "ad", True),
    ("NEGATIVE", "ads-top", True),
    ("NEGATIVE", "adv9", True),                  # a word may end before a digit
    ("NEGATIVE", "adverts", True),               # the stem "advert"
    ("NEGATIVE", "x9ad", False),                 # a digit before a word is part of it
    ("NEGATIVE", "éad", True),                   # a non-ASCII letter is a separator
    ("NEGATIVE", "hidden-xs", False),            # hiding classes only whole
    ("NEGATIVE", "col is-hidden", True),
    ("NEGATIVE", "d-none\xa0x", True),           # any white space around them
    ("NEGATIVE", "post-content", False),
    ("LEAD", "article-lead", True),
    ("LEAD", "leader", False),
    ("LEAD", "sub-headline", True),
    ("LEAD", "subheadlines", False),
    ("LEAD", "intro_text", True),                # itemprop values keep their "_"
    ("OFF_BODY", "main-nav", True),
    ("OFF_BODY", "canvas", False),
    ("OFF_BODY", "navbar-top", True),
    ("OFF_BODY", "promoted-story", False),
    ("OFF_BODY", "promo-box", True),
    ("OFF_BODY", "coauthor", False),             # "author" after a letter
    ("OFF_BODY", "post-author", True),
    ("OFF_BODY", "submenu", False),
    ("OFF_BODY", "menu", True),
    ("UNLIKELY", "nav", True),
    ("UNLIKELY", "navigation-bar", True),
    ("UNLIKELY", "navigational", False),         # "nav..." must end a word
    ("UNLIKELY", "navé", False),                 # a word boundary in the Unicode sense
    ("UNLIKELY", "site-widget", True),
]


@pytest.mark.parametrize(("name", "hint", "matches"), CASES)
def test_trie_patterns(name: str, hint: str, matches: bool) -> None:
    assert bool(_TRIES[name].search(hint)) is matches
    assert bool(_PLAIN[name].search(hint)) is matches


def test_tries_agree_with_the_plain_alternations_on_word_mixtures() -> None:
    # Every word of the lists glued to its neighbours and to separators, in pairs: each
    # boundary condition is met and missed on both sides of every word.
    words = [*hints._NEGATIVE_STEMS, *hints._NEGATIVE_WORDS, *hints._HIDING, "author", "nav",
             "menu", "promo", "ted", "lead", "intro", "navbar", "navigation"]
    glue = ["", "-", " ", "x", "9", "é", "\xa0"]
    hints_ = [f"{a}{g}{b}" for a in words for g in glue for b in ("", *words[::7], "s")]
    for name, pattern in _TRIES.items():
        plain = _PLAIN[name]
        assert [h for h in hints_ if bool(pattern.search(h)) != bool(plain.search(h))] == []


@pytest.mark.parametrize("name", ["READ_ALSO", "CREDIT_TAIL", "COMMENT_PROMPT", "VOLATILE_LINE",
                                  "_AGO"])
@pytest.mark.parametrize("line", [
    "Read also: the budget", "READ MORE:", "» Lire aussi la suite", "Photo: REUTERS",
    "Jane Doe/Getty Images", "Jane Doe / AFP", "Write a Comment", "12 Comments", "Kommentare",
    "Réactions", "Updated 5 Minutes Ago", "Mis à jour le 3 mai", "1.2K views", "10:45 PM EST",
    "Published", "3 hours ago", "vor 3 Stunden", "The budget was passed on Monday.",
    "Tags: economy", "Share", "ſhare", "Kelvin: 3 \u212aviews", "İmage: x", "",
])
def test_caseless_patterns_match_as_ignorecase_does(name: str, line: str) -> None:
    pattern = getattr(hints, name)
    reference = re.compile(pattern.ignorecase.pattern, re.IGNORECASE)
    assert pattern.match(line) == (reference.match(line) is not None)
    assert pattern.search(line) == (reference.search(line) is not None)
    # The ASCII path is taken whenever it can be: its answer must equal the reference too.
    upper = line.upper()
    if upper.isascii():
        assert pattern.search(upper) == (reference.search(upper) is not None)


@pytest.mark.parametrize(("line", "expected"), [
    # Counts of what readers do, alone on their line or ending a byline: they move between
    # two fetches of an unchanged article.
    ("1,234 readers", True), ("5.2K views", True), ("Views: 5,210", True),
    ("Comments (12)", True), ("阅读 1234", True), ("阅读量：3万", True), ("1234次阅读", True),
    ("Read 1,234 times", True), ("This story has been viewed 87 times.", True),
    ("Lu 1 234 fois", True), ("1.234 Leser", True),
    ("By Jane Doe | 1,234 views", True), ("12 May 2024 · 3 comments", True),
    ("Updated 5 minutes ago", True), ("10:45 PM EST", True),
    # News, even when short and counted.
    ("12 homes were damaged.", False), ("Votes: 12,345", False), ("Deaths: 15", False),
    ("Covid-19 shares", False), ("1.5 million downloads", False),
    # A number alone may be a count beside an icon, but as often a price or a table's row.
    ("19,90 €", False), ("98%", False), ("4,35 4,58 4,86", False), ("1,204", False),
    ("Twelve readers wrote to us about this story.", False),
    ("Top 10 hits of the year and what they tell us about pop music", False),
])
def test_volatile_lines_are_times_and_counters_never_news(line: str, expected: bool) -> None:
    assert bool(hints.volatile(line)) is expected


@pytest.mark.parametrize("line", [
    "Write a comment", "NO COMMENTS", "3 Kommentare", "Réactions (4)", "RÉACTIONS",
    "Join the dİscussion", "Join the dıscussion", "Diſkussion", "Diskutieren Sie mit",
    "débat", "DÉBAT", "Reaktionen", "komentarze", "Sign up", "Comentários", "a moment",
    "Kommentar schreiben: \u212aommentare", "Überschrift", "",
])
def test_the_comment_prompt_shortcut_agrees_with_the_search(line: str) -> None:
    from crawler.extract.hints import COMMENT_PROMPT, comment_prompt

    assert comment_prompt(line) == COMMENT_PROMPT.search(line)


@pytest.mark.parametrize(("line", "credit"), [
    ("Jane Doe/Getty Images", True), ("© Reuters", True), ("AFP", True),
    ("Photo | AP Photo", True), ("Reuters reported on Monday", False),
    ("Getty Images", True), ("Jane Doe, Getty Images", False), ("", False),
])
def test_a_credit_is_found_at_the_start_or_after_a_separator(line: str, credit: bool) -> None:
    from crawler.extract import _credit
    from crawler.extract.hints import CREDIT_TAIL

    assert _credit(line) == CREDIT_TAIL.search(line) == credit
