"""Builds `edits.jsonl`: pairs of versions of real articles, each with what a reader would call
the edit (`changes.kinds`) and how many sentences it added, deleted, edited or moved.

    .venv/bin/python tests/data/build_edits.py     # rewrites tests/data/edits.jsonl

One JSON object a line: `name`, `language`, `op`, `old` and `new` (`title`, `text`), the
expected `kinds` and `sentences` (`{"added", "deleted", "edited", "moved"}`, null when not
counted), `kinds_include` (kinds that must be among those reported) and `noise` (true when the
pair differs only by what normalization removes).

The texts are the extracted headline and first paragraphs of real pages: the extraction
benchmark's (`../shared/extraction-bench/html`, English, German, Japanese), trafilatura's
evaluation set beside it (French, Spanish) and the captured RFI Chinese feed entry
(`tests/data/feedx-rfi-entry.txt`). Each edit is made the way editors make them, at a place
chosen by a plain rule that does not use the crawler's own sentence splitter or kind rules:

- number: one digit of a number in a later paragraph changed (a paragraph without quotation
  marks); headline+number: the same with the headline reworded too;
- headline: one word of the headline replaced by another word of the article;
- lead: one word of the first paragraph (before any quotation mark) replaced likewise;
- quote: one word inside a quotation of a later paragraph replaced likewise;
- addition / removal: a one-sentence paragraph (one final stop, no other one, no quotation
  mark) inserted from further down the same article, or deleted; sentence-addition /
  sentence-removal: the same inside a paragraph of plainly two sentences (`two_sentences`);
- move: such a paragraph moved to the end;
- correction: a correction or editor's note paragraph in the article's language appended;
- rewrite: the body replaced by another article in the same language (only "rewrite" is
  required there, and sentences are not counted);
- noise: white space, invisible characters, line endings and Unicode composition changed,
  which must give the same content and no kind at all.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawler.extract import extract_article  # noqa: E402
from crawler.pages import read_page  # noqa: E402
from crawler.textnorm import paragraphs  # noqa: E402

BENCH = ROOT.parent / "shared" / "extraction-bench"
OUT = Path(__file__).with_name("edits.jsonl")
EXCERPT = 8  # paragraphs of each article in a pair, at most
EXCERPT_CHARS = 2500  # and no more characters than this (some paragraphs are long)

SOURCES: list[tuple[str, str, str]] = [  # (name, language, where)
    ("bbc-assange", "en", "bench:c7e39ac4"), ("reuters-oil", "en", "bench:57d46c9d"),
    ("aljazeera-crash", "en", "bench:7916ecca"), ("guardian-hk", "en", "bench:5fa3154e"),
    ("dw-berlin", "en", "traf:0006"), ("nbc-hitler-house", "en", "bench:5a822960"),
    ("comwrap-dmexco", "de", "bench:ba07d1e6"), ("comwrap-epa", "de", "bench:57b4dafd"),
    ("fr-macronie", "fr", "traf:0092"), ("fr-prymula", "fr", "traf:0222"),
    ("fr-parite", "fr", "traf:0278"),
    ("es-nicaragua", "es", "traf:0000"), ("es-pleno", "es", "traf:0004"),
    ("es-fiscal", "es", "traf:0020"),
    ("ja-trademark", "ja", "bench:85439e26"), ("ja-kindle", "ja", "bench:f105de6e"),
    ("zh-rfi-nato", "zh", "rfi"),
]

CORRECTIONS = {
    "en": ["Correction: An earlier version of this article gave the wrong date for the "
           "announcement.",
           "Editor's note: This story has been corrected to show the right name of the "
           "official."],
    "fr": ["Rectificatif : une précédente version de cet article comportait une erreur sur "
           "la date.",
           "Note de la rédaction : cet article a été corrigé, le chiffre cité était erroné."],
    "es": ["Fe de errores: una versión anterior de este artículo indicaba una fecha "
           "equivocada.",
           "Nota de la redacción: este artículo ha sido corregido para precisar el cargo."],
    "de": ["Korrektur: In einer früheren Version dieses Artikels war das Datum falsch "
           "angegeben.",
           "Anmerkung der Redaktion: Der Text wurde korrigiert, der Name war falsch."],
    "zh": ["更正：本文此前版本误写了会议日期，现已更正。", "编者按：本文已更正部分人名的译法。"],
    "ja": ["訂正：記事の日付に誤りがありましたので訂正しました。"],
}
_MONTH_NAMES = """january february march april may june july august september october november
december janvier février mars avril mai juin juillet août septembre octobre novembre décembre
enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
januar jänner februar märz juni juli oktober dezember"""
_MONTHS = set(_MONTH_NAMES.split())
_QUOTE_MARKS = "\"“”«»„「」『』‘’"
_STOPS = ".!?。！？"
_HAN = re.compile("[\u4e00-\u9fff]{2,}")
_WORD = re.compile(r"\b[^\W\d_]{5,}\b")
_QUOTATION = re.compile(r"“([^”]+)”|«([^»]+)»|„([^“]+)“|\"([^\"]+)\"|「([^」]+)」")


@dataclass
class Source:
    name: str
    lang: str
    title: str
    paragraphs: list[str]
    spare: list[str]
    """Paragraphs further down the article (not in the excerpt)."""

    @property
    def cjk(self) -> bool:
        return self.lang in ("zh", "ja")


def load(name: str, lang: str, where: str) -> Source:
    if where == "rfi":
        raw = (ROOT / "tests" / "data" / "feedx-rfi-entry.txt").read_text(encoding="utf-8")
        head, _, html = raw.partition("------")
        title = re.search(r"\[([^\]]+)\]", head).group(1)  # type: ignore[union-attr]
        text = extract_article(html, "https://www.rfi.fr/cn/").text
    else:
        kind, _, key = where.partition(":")
        if kind == "bench":
            [path] = (BENCH / "html").glob(f"{key}*.html.gz")
        else:
            path = BENCH / "trafilatura-eval" / "html" / f"{key}.html.gz"
        _, content = read_page(gzip.decompress(path.read_bytes()), None,
                               f"https://example.org/{key}", None)
        title, text = content.title, content.text
    paras = [p for p in paragraphs(text) if len(p) >= 25]
    keep, total = 0, 0
    while keep < min(EXCERPT, len(paras)) and (keep < 4 or total + len(paras[keep]) <= EXCERPT_CHARS):
        total += len(paras[keep])
        keep += 1
    return Source(name, lang, title, paras[:keep], paras[keep:])


def simple(paragraph: str, cjk: bool) -> bool:
    """One sentence, plainly: a final stop and no other, no quotation mark."""
    body = paragraph.rstrip()
    if not body or body[-1] not in _STOPS or any(m in body for m in _QUOTE_MARKS):
        return False
    if any(c in _STOPS for c in body[:-1]):
        return False
    return 10 <= len(body) <= 300 if cjk else 40 <= len(body) <= 300


def two_sentences(paragraph: str, cjk: bool) -> tuple[str, str] | None:
    """A paragraph of plainly two sentences: for CJK text two full stops, the last at the
    end; else one ". " after a word of four letters at least and before a capital, a final
    full stop, and no other stop or quotation mark."""
    if any(m in paragraph for m in _QUOTE_MARKS) or not paragraph.endswith(("." ,"。")):
        return None
    if cjk:
        first, sep, rest = paragraph.partition("。")
        if sep and rest.count("。") == 1 and rest.endswith("。") and not any(
                c in "!?！？." for c in paragraph):
            return first + "。", rest
        return None
    inner = paragraph[:-1]
    if any(c in "!?…;" for c in inner) or inner.count(".") != 1:
        return None
    found = re.fullmatch(r"(.*\b[a-zà-ÿ]{4,}\.) ([A-ZÀ-Ý][^.]*\.)", paragraph)
    return (found.group(1), found.group(2)) if found else None


def other_word(source: Source, avoid: str) -> str:
    for paragraph in [*source.paragraphs[::-1], *source.spare]:
        for word in _WORD.findall(paragraph):
            if word.lower() != avoid.lower() and word.lower() not in _MONTHS:
                return str(word)
    return "Something"


def reword(text: str, source: Source, limit: int | None = None) -> str | None:
    """`text` with one word (two Han characters in CJK text) replaced, before `limit`."""
    region = text[:limit] if limit is not None else text
    if source.cjk:
        found = _HAN.search(region, 2)
        if found is None:
            return None
        start = found.start()
        replacement = "有关" if text[start:start + 2] != "有关" else "相关"
        return text[:start] + replacement + text[start + 2:]
    for found in _WORD.finditer(region):
        if found.group().lower() not in _MONTHS:
            word = other_word(source, found.group())
            return text[:found.start()] + word + text[found.end():]
    return None


def change_digit(text: str) -> str | None:
    found = re.search(r"[0-9０-９]", text)
    if found is None:
        return None
    digit = unicodedata.digit(found.group())
    new = str((digit + 1) % 10)
    if found.group() > "9":  # full-width stays full-width
        new = chr(ord("０") + int(new))
    return text[:found.start()] + new + text[found.end():]


def later(source: Source, test: Callable[[str], bool]) -> int | None:
    return next((k for k in range(1, len(source.paragraphs))
                 if test(source.paragraphs[k])), None)


def case(source: Source, op: str, new_title: str, new_paras: list[str], kinds: list[str],
         sentences: dict[str, int] | None, **extra: Any) -> dict[str, Any]:
    return {"name": f"{source.name}/{op}", "language": source.lang, "op": op,
            "old": {"title": source.title, "text": "\n\n".join(source.paragraphs)},
            "new": {"title": new_title, "text": "\n\n".join(new_paras)},
            "kinds": kinds, "sentences": sentences, **extra}


def counts(added: int = 0, deleted: int = 0, edited: int = 0, moved: int = 0) -> dict[str, int]:
    return {"added": added, "deleted": deleted, "edited": edited, "moved": moved}


def edits(source: Source, others: list[Source]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    paras, title = source.paragraphs, source.title

    def replaced(k: int, text: str) -> list[str]:
        return [*paras[:k], text, *paras[k + 1:]]

    k = later(source, lambda p: change_digit(p) is not None
              and not any(m in p for m in _QUOTE_MARKS))
    if k is not None:
        changed = change_digit(paras[k])
        assert changed is not None
        out.append(case(source, "number", title, replaced(k, changed), ["number"],
                        counts(edited=1)))
        new_title = reword(title, source)
        if new_title is not None and new_title != title:
            out.append(case(source, "headline+number", new_title, replaced(k, changed),
                            ["headline", "number"], counts(edited=1)))
    new_title = reword(title, source)
    if new_title is not None and new_title != title:
        out.append(case(source, "headline", new_title, paras, ["headline"], counts()))
    marks = [i for i, c in enumerate(paras[0]) if c in _QUOTE_MARKS]
    lead = reword(paras[0], source, limit=marks[0] if marks else None)
    if lead is not None and lead != paras[0]:
        out.append(case(source, "lead", title, replaced(0, lead), ["lead"], counts(edited=1)))
    for k in range(1, len(paras)):
        quoted = next((m for m in _QUOTATION.finditer(paras[k])
                       if len(next(g for g in m.groups() if g).split()) >= 4
                       or (source.cjk and len(next(g for g in m.groups() if g)) >= 8)), None)
        if quoted is None:
            continue
        inside = reword(paras[k][quoted.start():quoted.end()], source)
        if inside is None or inside == paras[k][quoted.start():quoted.end()]:
            continue
        text = paras[k][:quoted.start()] + inside + paras[k][quoted.end():]
        out.append(case(source, "quote", title, replaced(k, text), ["quote"], counts(edited=1)))
        break
    spare = [p for p in source.spare if simple(p, source.cjk)]
    spare += [p for o in others if o.lang == source.lang and o is not source
              for p in o.spare if simple(p, o.cjk)]
    if spare:
        k = len(paras) // 2
        out.append(case(source, "addition", title, [*paras[:k], spare[0], *paras[k:]],
                        ["addition"], counts(added=1)))
    k = later(source, lambda p: two_sentences(p, source.cjk) is not None)
    if k is not None:
        first, second = two_sentences(paras[k], source.cjk) or ("", "")
        out.append(case(source, "sentence-removal", title, replaced(k, first), ["removal"],
                        counts(deleted=1)))
        if spare:
            joined = first + ("" if source.cjk else " ") + spare[-1] + (
                "" if source.cjk else " ") + second
            out.append(case(source, "sentence-addition", title, replaced(k, joined),
                            ["addition"], counts(added=1)))
    k = later(source, lambda p: simple(p, source.cjk))
    if k is not None:
        out.append(case(source, "removal", title, [*paras[:k], *paras[k + 1:]], ["removal"],
                        counts(deleted=1)))
        if k < len(paras) - 2:
            moved = [*paras[:k], *paras[k + 1:], paras[k]]
            out.append(case(source, "move", title, moved, [], counts(moved=1)))
    for n, note in enumerate(CORRECTIONS[source.lang]):
        if n and len(paras) < 6:
            break
        out.append(case(source, f"correction{n + 1}", title, [*paras, note], ["correction"],
                        counts(added=1)))
    other = next((o for o in others if o.lang == source.lang and o is not source), None)
    if other is not None:
        out.append(case(source, "rewrite", title, other.paragraphs, [], None,
                        kinds_include=["rewrite"]))
    out.extend(noise(source))
    return out


def noise(source: Source) -> list[dict[str, Any]]:
    text = "\n\n".join(source.paragraphs)
    spaced = text.replace(" ", "\u00a0", 3).replace(". ", ".  ")
    invisible = "\u200b".join(text[i:i + 40] for i in range(0, len(text), 40))
    crlf = unicodedata.normalize("NFD", text).replace("\n\n", "  \r\n\r\n")
    return [
        {**case(source, f"noise{n + 1}", f" {source.title} ", [variant], [], counts()),
         "noise": True}
        for n, variant in enumerate((spaced, invisible, crlf))
    ]


def main() -> None:
    sources = [load(*spec) for spec in SOURCES]
    pairs = [pair for source in sources for pair in edits(source, sources)]
    OUT.write_text("".join(json.dumps(pair, ensure_ascii=False) + "\n" for pair in pairs),
                   encoding="utf-8")
    ops: dict[str, int] = {}
    for pair in pairs:
        ops[pair["op"].rstrip("0123456789")] = ops.get(pair["op"].rstrip("0123456789"), 0) + 1
    langs = sorted({p["language"] for p in pairs})
    print(f"{len(pairs)} pairs in {len(langs)} languages ({', '.join(langs)}): {ops}")


if __name__ == "__main__":
    main()
