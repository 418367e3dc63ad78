"""`crawler.error_pages`: error and placeholder pages served with 200, table-tested."""

from __future__ import annotations

import time

import pytest

from crawler.error_pages import error_page_reason, kept_share, text_fingerprint
from crawler.textnorm import make_content

OUTAGE = ("The website of the tax office was temporarily unavailable on Monday after a power "
          "cut at its data centre, officials said, and taxpayers were told to try again later.")


@pytest.mark.parametrize(("title", "text", "expected"), [
    # tiny: no article fits in so little
    ("Storm hits coast", "Error", "tiny"),
    ("Storm hits coast", "Loading…", "tiny"),
    ("", "", "tiny"),
    ("风暴", "加载中", "tiny"),
    # an error message as the headline of a short page, in several languages
    ("Service unavailable", "Sorry, we are having a problem. Come back soon.", "error_wording"),
    ("503 Service Temporarily Unavailable", "nginx/1.25.3 could not serve this request today",
     "error_wording"),
    ("Page not found", "The page you asked for has moved or never was here at all.",
     "error_wording"),
    ("Service indisponible", "Le site revient dans un instant, merci de votre patience.",
     "error_wording"),
    ("Erreur", "Nous sommes désolés, revenez dans quelques instants sur notre site.",
     "error_wording"),
    ("系统繁忙", "服务暂时不可用，请稍后再试。", "error_wording"),
    ("Error", "Lo sentimos, se ha producido un error. Inténtelo de nuevo más tarde.",
     "error_wording"),
    ("Fehler", "Der Dienst ist vorübergehend nicht verfügbar, bitte haben Sie etwas Geduld.",
     "error_wording"),
    # ... or the text is mostly such messages
    ("Local Gazette", "Something went wrong on our side. Please try again later.",
     "error_wording"),
    ("Local Gazette", "Une erreur est survenue. Veuillez réessayer.", "error_wording"),
    ("新闻", "页面不存在。请稍后再试。", "error_wording"),
    ("Local Gazette", "Error 500: Internal Server Error", "error_wording"),
    # articles, short ones and ones about outages included
    ("Council meeting postponed", "The council meeting planned for Thursday is postponed to "
     "Friday, the mayor's office said.", None),
    ("Tax office site down", OUTAGE, None),
    ("Bank app temporarily unavailable for two hours", OUTAGE, None),
    ("Oops! Something went wrong", "We are looking into it. Come back in a moment.",
     "error_wording"),
    ("Error 404 - Page not found", "The link you followed may be broken, or the page moved.",
     "error_wording"),
    ("Page not found: the art of 404s", "Designers compete for the best error page. " * 20,
     None),
    ("暴风雨袭击海岸", "周二晚间，一场暴风雨袭击了北部海岸，当地政府表示有十二栋房屋受损。", None),
])
def test_error_page_reason(title: str, text: str, expected: str | None) -> None:
    assert error_page_reason(make_content(title, text)) == expected


@pytest.mark.parametrize(("previous", "current", "share"), [
    ("a storm hit the coast", "a storm hit the coast today", 1.0),
    ("a storm hit the coast", "Service unavailable, try again", 0.0),
    ("the the storm", "the storm", 2 / 3),  # repetitions count
    ("周二晚间暴风雨", "周二晚间", 4 / 7),  # characters in Chinese
    ("", "anything", 1.0),
])
def test_kept_share(previous: str, current: str, share: float) -> None:
    assert kept_share(previous, current) == pytest.approx(share)


def test_kept_share_of_long_texts_reads_their_beginnings() -> None:
    page = "The storm hit the coast on Monday and twelve homes were damaged. " * 80_000
    started = time.perf_counter()
    assert kept_share(page, "Live: " + "a new entry on top. " * 500 + page) > 0.99
    assert kept_share(page, "Another story entirely. " * 200_000) == 0.0
    assert time.perf_counter() - started < 1.0  # 5 MB pages: well under, even on a busy box


def test_the_fingerprint_is_the_text_alone() -> None:
    assert text_fingerprint("We value your privacy.") == text_fingerprint(
        make_content("Another headline", "We value your privacy.").text)
    assert text_fingerprint("a") != text_fingerprint("b")
