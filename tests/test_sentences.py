"""Sentence splitting and sentence matching across versions (table tests, no I/O)."""

from __future__ import annotations

import pytest

from crawler.sentence_match import SentenceCounts, match_sentences
from crawler.sentences import split_sentences


@pytest.mark.parametrize(("text", "expected"), [
    ("One. Two! Three? Four…", ["One.", "Two!", "Three?", "Four…"]),
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    ("J. R. Smith left. U.S. troops stayed.", ["J. R. Smith left.", "U.S. troops stayed."]),
    ("It rose 3.5 percent to $27.2 billion. Shares fell.",
     ["It rose 3.5 percent to $27.2 billion.", "Shares fell."]),
    ('He said: "We left." Then he went.', ['He said: "We left."', "Then he went."]),
    ('"Why?" he asked. Nobody knew.', ['"Why?" he asked.', "Nobody knew."]),
    ("Il a dit « Non. » Puis il est parti.", ["Il a dit « Non. »", "Puis il est parti."]),
    ("M. Macron et Mme. Dupont arrivent. Ils parlent.",
     ["M. Macron et Mme. Dupont arrivent.", "Ils parlent."]),
    ("¿Qué pasó? ¡Nadie lo sabe! La Sra. Pérez habló.",
     ["¿Qué pasó?", "¡Nadie lo sabe!", "La Sra. Pérez habló."]),
    ("Am 12. September startet die Messe. Das ist z. B. gut, vgl. oben.",
     ["Am 12. September startet die Messe.", "Das ist z. B. gut, vgl. oben."]),
    ("See example.org now. Done.", ["See example.org now.", "Done."]),
    ("The answer was no. Then he left.", ["The answer was no.", "Then he left."]),
    ("See No. 5 and p. 12 today. Fig. 3 shows it.", ["See No. 5 and p. 12 today.",
                                                     "Fig. 3 shows it."]),
    ("Cayó al mar. Luego se fue.", ["Cayó al mar.", "Luego se fue."]),
    ("It opened on Mar. 3 in Paris. Äpfel, Birnen usw. Das war alles.",
     ["It opened on Mar. 3 in Paris.", "Äpfel, Birnen usw.", "Das war alles."]),
    ("He told me. Me Dupont a plaidé.", ["He told me.", "Me Dupont a plaidé."]),
    ("消息指，会议将于1月17日至18日举行。第二天另行举行会议！然后呢？",
     ["消息指，会议将于1月17日至18日举行。", "第二天另行举行会议！", "然后呢？"]),
    ("他说：“我们走了。”然后离开。", ["他说：“我们走了。”", "然后离开。"]),
    ("「脱獄」とは何か。Apple社は認めていません。", ["「脱獄」とは何か。", "Apple社は認めていません。"]),
    ("First paragraph\n\nSecond one. Two", ["First paragraph", "Second one.", "Two"]),
    ("", []),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


A = ["Alpha rises today.", "Beta falls sharply.", "Gamma holds steady.", "Delta is last."]


@pytest.mark.parametrize(("old", "new", "expected"), [
    (A, A, SentenceCounts()),
    (A, [*A, "Epsilon is new."], SentenceCounts(added=1)),
    (A, A[:1] + A[2:], SentenceCounts(deleted=1)),
    (A, [A[0], "Beta falls very sharply.", *A[2:]], SentenceCounts(edited=1)),
    (A, [A[0], A[2], A[1], A[3]], SentenceCounts(moved=1)),
    (A, [A[0], A[2], A[3], "Beta falls very sharply."], SentenceCounts(moved=1)),
    (A, ["Something else entirely.", *A[1:]], SentenceCounts(added=1, deleted=1)),
    (A, [], SentenceCounts(deleted=4)),
    ([], A, SentenceCounts(added=4)),
    # repeated sentences pair in order, one to one
    (["Same.", "Same.", "Other one here."], ["Same.", "Other one here."],
     SentenceCounts(deleted=1)),
    (["会议将于1月17日至18日举行。"], ["会议将于1月18日至19日举行。"], SentenceCounts(edited=1)),
])
def test_match_sentences(old: list[str], new: list[str], expected: SentenceCounts) -> None:
    assert match_sentences(old, new).counts() == expected


def test_each_sentence_gets_one_label() -> None:
    old = [f"Sentence number {i} says {i * 7} things." for i in range(50)]
    new = old[:10] + old[30:40] + old[10:30] + ["A new one."] + old[41:]
    new[5] = "Sentence number 5 says 36 things."
    matching = match_sentences(old, new)
    counts = matching.counts()
    unchanged = sum(1 for p in matching.pairs if not p.edited and not p.moved)
    assert unchanged + counts.edited + counts.moved + counts.deleted == len(old)
    assert unchanged + counts.edited + counts.moved + counts.added == len(new)
    assert counts == SentenceCounts(added=1, deleted=1, edited=1, moved=10)
