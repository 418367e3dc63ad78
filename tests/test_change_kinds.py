"""The kinds of change (`changes.kinds`): one table per rule, no I/O."""

from __future__ import annotations

import pytest

from crawler.change_kinds import KINDS, is_correction, numbers, quotations
from crawler.change_report import describe_edit
from crawler.textnorm import make_content

TITLE = "Storm hits the coast"
LEAD = "A storm hit the coast on Monday, officials said."
BODY = ("Winds reached 120 km/h in the north. About 3,000 homes lost power.\n\n"
        "The mayor said the town was ready. Schools will stay closed on Tuesday.\n\n"
        "Crews worked through the night to clear the roads.")
OLD = make_content(TITLE, f"{LEAD}\n\n{BODY}")


def kinds_of(title: str = TITLE, lead: str = LEAD, body: str = BODY) -> tuple[str, ...]:
    changes = describe_edit(OLD, make_content(title, f"{lead}\n\n{body}"))
    assert changes.kinds is not None
    return changes.kinds


@pytest.mark.parametrize(("edit", "expected"), [
    ({}, ()),
    ({"title": "Storm batters the coast"}, ("headline",)),
    ({"title": "Storm hits the coast, 2 dead"}, ("headline", "number")),
    ({"lead": "A storm hit the coast on Monday night, officials said."}, ("lead", "addition")),
    ({"lead": "A storm struck the coast on Monday, officials said."}, ("lead",)),
    ({"body": BODY.replace("3,000", "4,000")}, ("number",)),
    ({"body": BODY.replace("120 km/h", "１３０ km/h")}, ("number",)),
    ({"body": BODY.replace("on Tuesday", "on Wednesday")}, ()),
    ({"body": BODY + " More rain is expected."}, ("addition",)),
    ({"body": BODY.replace(" About 3,000 homes lost power.", "")}, ("removal",)),
    ({"body": BODY.replace("ready.", "ready, and calm.")}, ("addition",)),
    ({"body": BODY.replace("the town was ready", "the town was ready, ever")}, ("addition",)),
    ({"body": BODY + "\n\nCorrection: An earlier version of this article misstated the "
      "wind speed."}, ("correction",)),
    ({"body": BODY.replace("The mayor said the town was ready.",
                           'The mayor said: "We are ready for this."')}, ("quote",)),
    ({"body": BODY.replace("Crews worked", "Crews said “we will work all night” and worked")},
     ("quote", "addition")),
    ({"body": "\n\n".join(reversed(BODY.split("\n\n")))}, ()),  # paragraphs moved: no kind
    # a corrected figure and the note saying so
    ({"body": BODY.replace("120 km/h", "150 km/h") + "\n\nCorrection: An earlier version of "
      "this article misstated the wind speed."}, ("correction", "number")),
    # an update line on top: a new lead, and text added
    ({"lead": "Update: two people were hurt. " + LEAD}, ("lead", "addition")),
    ({"title": "Markets rally", "lead": "Shares rose sharply in Asia on Friday.",
      "body": "Investors cheered the news from the central bank. Bonds were mixed."},
     ("headline", "lead", "addition", "removal", "rewrite")),
])
def test_kinds(edit: dict[str, str], expected: tuple[str, ...]) -> None:
    got = kinds_of(**edit)
    assert got == expected
    assert list(got) == [k for k in KINDS if k in got]  # the documented order


@pytest.mark.parametrize(("line", "expected"), [
    ("Correction: An earlier version of this story gave the wrong date.", True),
    ("Clarification: the report was published on Monday.", True),
    ("Editor’s note: this article has been updated.", True),
    ("This article has been corrected to show the right figure.", True),
    ("The story incorrectly stated that the mayor resigned.", True),
    ("Rectificatif : une précédente version de cet article indiquait 300 victimes.", True),
    ("Note de la rédaction : cet article a été modifié.", True),
    ("Contrairement à ce que nous avions écrit, le ministre n'a pas démissionné.", True),
    ("Fe de errores: una versión anterior de esta nota decía martes.", True),
    ("Nota de la redacción: este artículo ha sido corregido.", True),
    ("Korrektur: In einer früheren Version dieses Artikels hieß es, die Messe beginne am 12.", True),
    ("Anmerkung der Redaktion: Der Text wurde korrigiert.", True),
    ("更正：本文此前版本误将会议日期写为1月17日。", True),
    ("编者按：本文已更正。", True),
    ("訂正：記事の日付を修正しました。", True),
    ("The correct answer was given by the minister.", False),
    ("Officials corrected course after the vote.", False),
    ("La version finale du texte sera votée mardi.", False),
    ("Die Messe beginnt am 12. September.", False),
    ("北约已邀请韩国等4个印太伙伴国参加会议。", False),
])
def test_is_correction(line: str, expected: bool) -> None:
    assert is_correction(line) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ('He said "we are ready for this" on Monday.', {"we are ready for this": 1}),
    ("Il a dit « nous sommes prêts » hier.", {"nous sommes prêts": 1}),
    ("Er sagte: „Wir sind bereit dafür“.", {"Wir sind bereit dafür": 1}),
    ("他说：「我们已经做好了准备」。", {"我们已经做好了准备": 1}),
    ("The so-called “jailbreak” is banned.", {}),  # a term, not a quotation
    ("It's the minister's plan, isn't it?", {}),
])
def test_quotations(text: str, expected: dict[str, int]) -> None:
    assert dict(quotations(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Revenue rose 3.5 percent to $27.2 billion.", {"3.5": 1, "27.2": 1}),
    ("About 3,000 homes, 40.000 Besucher.", {"3,000": 1, "40.000": 1}),
    ("会议将于１月１７日举行。", {"1": 1, "17": 1}),
    ("Le 12 mars, puis le 3 avril.", {"12": 1, "mars": 1, "3": 1, "avril": 1}),
    ("No digits here.", {}),
])
def test_numbers(text: str, expected: dict[str, int]) -> None:
    assert dict(numbers(text)) == expected


def test_cjk_date_edit_is_a_number_change() -> None:
    old = make_content("北约会议", "消息指，北约军事委员会参谋长级会议将于1月17日至18日举行。第二天另行举行会议。")
    new = make_content("北约会议", "消息指，北约军事委员会参谋长级会议将于1月18日至19日举行。第二天另行举行会议。")
    changes = describe_edit(old, new)
    assert changes.kinds == ("lead", "number")
    assert changes.sentences == {"added": 0, "deleted": 0, "edited": 1, "moved": 0}
