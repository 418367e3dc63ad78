"""Noise immunity and edit sensitivity of extraction + hashing.

The same article is rendered from the page templates in tests/data/pages/ the way real sites
serve it at different times: rotating ads, "most read" and related lists (also inside the body),
relative and absolute "updated" times, counters, growing comment threads, nonces and CSRF
tokens, cache-busting query strings, lazy-image attributes, shuffled attribute order and
re-indented markup. Noise alone must never change the content hash; every real edit must.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template

import pytest

from crawler.extract import extract_article
from crawler.textnorm import make_content, normalize_text

PAGES = Path(__file__).parent / "data" / "pages"
STYLES = ("rfi", "wire", "blog", "feed-entry")
NOISE_VARIANTS = 12
_WORD = re.compile(r"\w+")

HEADLINES = (
    "Floods force thousands from their homes in the river valley, officials say",
    "Le gouvernement présente un nouveau plan pour les transports publics régionaux",
    "Central bank leaves interest rates unchanged as inflation slowly eases again",
    "Une grève paralyse les ports du nord du pays pendant toute la semaine",
    "Scientists find traces of water vapour above the surface of a distant moon",
    "Le prix du blé atteint son plus haut niveau depuis dix ans sur les marchés",
    "Elections: the opposition leader promises a referendum on the new constitution",
    "Des milliers de manifestants rassemblés dans la capitale contre la réforme",
    "The football club confirms the appointment of its new head coach for next season",
    "Un séisme de magnitude 6,1 frappe la côte sans faire de victimes selon les autorités",
)
COMMENTS = (
    "Great article, thanks for sharing this with all of us, I learned a lot today.",
    "I completely disagree with the conclusion, the numbers tell a different story here.",
    "Does anyone know where the original report can be downloaded from, please?",
    "This is exactly what happened in our town last year, nobody listened back then.",
)


@dataclass(frozen=True, slots=True)
class Story:
    title: str
    lead: str
    paragraphs: tuple[str, ...]


BASE = {
    "rfi": Story(
        title="L'Otan invite quatre partenaires de l'Indo-Pacifique à Bruxelles",
        lead="L'Otan a invité la Corée du Sud, le Japon, l'Australie et la Nouvelle-Zélande à "
        "la première réunion de l'année de son comité militaire, selon l'agence Yonhap.",
        paragraphs=(
            "La réunion des chefs d'état-major se tiendra les 17 et 18 janvier au siège de "
            "l'Otan à Bruxelles, et une session séparée réunira le lendemain les quatre pays.",
            "Les participants examineront la situation sécuritaire dans la région, les défis "
            "régionaux et leurs conséquences sur la sécurité mondiale, a précisé l'Alliance.",
            "Séoul sera représenté par le vice-président du comité des chefs d'état-major, "
            "qui remplace le président retenu par les risques de provocation du Nord.",
            "La Corée du Sud a ouvert en novembre 2022 une représentation auprès de l'Otan à "
            "Bruxelles, posant les bases d'une coopération militaire désormais régulière.",
        ),
    ),
    "wire": Story(
        title="NATO invites four Indo-Pacific partners to military talks",
        lead="NATO has invited South Korea, Japan, Australia and New Zealand to the first "
        "meeting of its military committee this year, Yonhap news agency reported on Thursday.",
        paragraphs=(
            "The chiefs of defence will meet on January 17 and 18 at the alliance headquarters "
            "in Brussels, with a separate session for the four partners on the second day.",
            "They are expected to discuss the security situation in the region, regional "
            "challenges and their impact on global security, officials said in a statement.",
            "Seoul will send the vice chairman of its joint chiefs of staff, after the chairman "
            "decided to stay at home because of possible provocations from the North.",
            "South Korea opened a mission to NATO in Brussels in November 2022, laying the "
            "ground for closer military cooperation that has grown steadily since then.",
        ),
    ),
    "blog": Story(
        title="Three weeks on the river with a wooden boat",
        lead="We left the harbour on a grey Monday morning with too much luggage, two paddles "
        "and a map that turned out to be twenty years old.",
        paragraphs=(
            "The first days were slow, because the current was stronger than we had expected "
            "and the boat leaked a little every time we loaded it in the evening.",
            "By the second week we had found a rhythm: breakfast at six, paddling until noon, "
            "a long lunch in the shade and another four hours before looking for a camp.",
            "The villages along the banks were friendly, and more than once a farmer offered "
            "us bread, cheese and a place to dry our clothes in the barn overnight.",
            "We arrived at the coast after 21 days and 412 kilometres, tired, sunburnt and "
            "already planning the next trip on a river further to the north.",
        ),
    ),
    "feed-entry": Story(
        title="北约已邀请4个印太伙伴国出席新年首次军事委员会参谋长级会议",
        lead="据韩联社援引北约方面消息报导，北约已邀请韩国等4个印太伙伴国参加新年首次军事委员会参谋长级会议。",
        paragraphs=(
            "消息指，北约军事委员会参谋长级会议将于1月17日至18日在比利时布鲁塞尔的北约总部举行，"
            "第二天另行举行由韩国、日本、澳大利亚、新西兰四国参与的会议。",
            "会上，北约成员国参谋长同印太伙伴4国将探讨印太地区战略安全局势、地区性挑战以及其对全球安全局势的影响。",
            "据悉，韩国联合参谋本部次长黄裕圣将出席会议。北约原本邀请联参议长金明秀出席，"
            "但考虑到朝鲜年初可能发起挑衅等情况，韩方决定由联参次长参会。",
            "此前，韩方于2022年11月在布鲁塞尔设立了新的代表处，奠定了合作基础。",
        ),
    ),
}


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _most_read(rng: random.Random, item: str) -> str:
    return "".join(
        item.format(href=f"/news/{rng.randrange(10**6)}?utm={_hex(rng, 6)}", text=h)
        for h in rng.sample(HEADLINES, rng.randint(3, 6))
    )


def _body(style: str, story: Story, rng: random.Random) -> str:
    parts: list[str] = []
    for i, para in enumerate(story.paragraphs):
        if style == "blog":
            parts.append(f"{para}<br><br>\n")
            continue
        parts.append(f"<p>{para}</p>")
        if style == "rfi" and i == 0:
            parts.append(
                '<div class="m-interstitial"><span class="m-interstitial__label">À lire aussi'
                f'</span><a href="/fr/{rng.randrange(10**6)}">{rng.choice(HEADLINES)}</a></div>'
            )
        if style == "rfi" and i == 1:
            parts.append(
                '<div class="m-newsletter-promo"><p>Recevez toute l\'actualité internationale '
                "directement dans votre boite mail</p><a href=\"/newsletters\">Je m'abonne</a>"
                f'<input type="hidden" name="csrf" value="{_hex(rng, 32)}"></div>'
            )
            parts.append(
                f'<p><img data-src="/img/{_hex(rng, 8)}.jpg?w=640" loading="lazy" '
                f'src="data:image/gif;base64,R0lGOD{_hex(rng, 4)}" alt=""></p>'
            )
        if style == "rfi" and i == 2:
            parts.append(
                '<div class="m-most-read-inline"><h2>Les plus lus</h2><ul>'
                + _most_read(rng, '<li><a href="{href}">{text}</a></li>')
                + "</ul></div>"
            )
        if style == "wire" and i < len(story.paragraphs) - 1:
            parts.append(
                f'<div id="ad-slot-{_hex(rng, 8)}" class="ad-slot" data-ad-unit="/123/'
                f'{_hex(rng, 4)}"><span>Advertisement</span></div>'
            )
    return "\n".join(parts)


def _shuffle_attributes(html: str, rng: random.Random) -> str:
    tag = re.compile(r'<([a-zA-Z][\w-]*)((?:\s+[\w:.-]+(?:="[^"]*")?){2,})\s*>')
    attr = re.compile(r'[\w:.-]+(?:="[^"]*")?')

    def shuffle(match: re.Match[str]) -> str:
        attrs = attr.findall(match.group(2))
        rng.shuffle(attrs)
        return f"<{match.group(1)} {' '.join(attrs)}>"

    return tag.sub(shuffle, html)


def _reindent(html: str, rng: random.Random) -> str:
    """White space between block-level tags only: between inline tags it would be text."""
    block = re.compile(
        r">\s*(?=</?(?:div|p|section|ul|ol|li|h\d|article|header|footer|nav|main|aside|script"
        r"|meta|link|form|figure|head|body|title)\b)"
    )
    return block.sub(lambda _m: ">" + rng.choice(("", "\n", "\n    ", "  \n\t")), html)


def render(style: str, story: Story, seed: int) -> str:
    """One fetch of the article: the story in the page template, with this fetch's noise."""
    rng = random.Random(seed)
    minutes = rng.randint(1, 59)
    updated_iso = f"2024-01-{rng.randint(4, 28):02d}T{rng.randint(0, 23):02d}:{minutes:02d}:00Z"
    ld_body = "\n\n".join((story.lead, *story.paragraphs))
    n_comments = rng.randint(0, 8)
    values = {
        "title": story.title,
        "title_json": json.dumps(story.title)[1:-1],
        "lead": story.lead,
        "body": _body(style, story, rng),
        "ld_body": json.dumps(ld_body)[1:-1],
        "nonce": _hex(rng, 24),
        "cachebust": str(rng.randrange(10**9)),
        "views": str(rng.randrange(10**5)),
        "comments": str(n_comments),
        "adid": _hex(rng, 10),
        "storyid": "8842",
        "updated_iso": updated_iso,
        "updated_fr": f"{rng.randint(4, 28):02d}/01/2024 - {rng.randint(0, 23):02d}:{minutes:02d}",
        "updated_en": f"January {rng.randint(4, 28)}, 2024 at {rng.randint(1, 12)}:{minutes:02d} pm",
        "updated_rel": f"{minutes} minutes ago",
        "date_line": f"{rng.randint(4, 28):02d}/01/2024 - {rng.randint(0, 23):02d}:{minutes:02d}",
        "img": f'src="/img/main.jpg?v={rng.randrange(999)}" loading="lazy" width="1280"',
        "most_read": _most_read(rng, '<li><a href="{href}">{text}</a></li>'),
        "recent": _most_read(rng, '<a href="{href}">{text}</a><br>'),
        "comment_list": "".join(
            f'<div class="comment" id="comment-{1000 + i}"><div class="comment-author">reader{i}'
            f'</div><p>{COMMENTS[i % len(COMMENTS)]}</p></div>'
            for i in range(n_comments)
        ),
    }
    template = Template((PAGES / f"{style}.html").read_text(encoding="utf-8"))
    html = template.substitute(values)
    return _reindent(_shuffle_attributes(html, rng), rng)


def url_for(style: str) -> str:
    return f"https://{style}.example.org/2024/01/04/article"


def extract(style: str, story: Story, seed: int) -> tuple[str, str, str]:
    article = extract_article(render(style, story, seed), url_for(style))
    content = make_content(article.title, article.text)
    # The daemon hashes the extractor's text as it comes: it must be normalized already.
    assert make_content(article.title, article.text, normalized=True) == content
    return content.content_hash, content.title, content.text


def expected_text(story: Story) -> str:
    return normalize_text("\n\n".join((story.lead, *story.paragraphs)))


# --- noise only: equal hashes, and exactly the article ------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_extracts_exactly_the_article(style: str) -> None:
    story = BASE[style]
    _, title, text = extract(style, story, seed=1)
    if style != "feed-entry":  # a feed entry carries no headline of its own
        assert title == story.title
    assert text == expected_text(story)


@pytest.mark.parametrize("style", STYLES)
def test_noise_never_changes_the_hash(style: str) -> None:
    story = BASE[style]
    hashes = {extract(style, story, seed)[0] for seed in range(NOISE_VARIANTS)}
    assert len(hashes) == 1


@pytest.mark.parametrize("style", STYLES)
def test_noise_variants_really_differ(style: str) -> None:
    """Guards the corpus itself: the variants are different bytes."""
    pages = {render(style, BASE[style], seed) for seed in range(NOISE_VARIANTS)}
    assert len(pages) == NOISE_VARIANTS


# --- real edits: hash differs, changed words are where they belong --------------------------


def _swap_word(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _edit_paragraph(story: Story, index: int, old: str, new: str) -> Story:
    paras = list(story.paragraphs)
    paras[index] = _swap_word(paras[index], old, new)
    return replace(story, paragraphs=tuple(paras))


# Per style: (paragraph 1 word, new word), (paragraph 3 number, new number), (lead word, new).
TARGETS = {
    "rfi": (("examineront", "analyseront"), ("2022", "2021"), ("invité", "convié")),
    "wire": (("expected", "likely"), ("2022", "2021"), ("invited", "asked")),
    "blog": (("rhythm", "routine"), ("412", "413"), ("grey", "rainy")),
    "feed-entry": (("探讨", "讨论"), ("2022", "2021"), ("韩联社", "法新社")),
}
_STYLE_OF = {id(story): style for style, story in BASE.items()}


def _targets(story: Story) -> tuple[tuple[str, str], ...]:
    return TARGETS[_STYLE_OF[id(story)]]


EDITS: dict[str, Callable[[Story], Story]] = {
    "one word": lambda s: _edit_paragraph(s, 1, *_targets(s)[0]),
    "one number": lambda s: _edit_paragraph(s, 3, *_targets(s)[1]),
    "headline": lambda s: replace(s, title=s.title + " (corrected)"),
    "lead": lambda s: replace(s, lead=_swap_word(s.lead, *_targets(s)[2])),
    "paragraph added": lambda s: replace(
        s, paragraphs=(*s.paragraphs[:2], "An added paragraph mentions Mauritius twice, "
                       "Mauritius.", *s.paragraphs[2:])),
    "paragraph added at end": lambda s: replace(
        s, paragraphs=(*s.paragraphs, "Update: the ministry later denied the report.")),
    "paragraph removed": lambda s: replace(s, paragraphs=s.paragraphs[:2] + s.paragraphs[3:]),
    "paragraph rewritten": lambda s: replace(
        s, paragraphs=(s.paragraphs[0], "Officials gave no further details on Wednesday "
                       "evening, citing security concerns around the meeting.",
                       *s.paragraphs[2:])),
    "paragraphs moved": lambda s: replace(
        s, paragraphs=(s.paragraphs[0], s.paragraphs[2], s.paragraphs[1], s.paragraphs[3])),
}


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text))


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_real_edit_changes_the_hash(style: str, edit: str) -> None:
    if style == "feed-entry" and edit == "headline":
        pytest.skip("a feed entry's headline comes from the feed, not from its HTML")
    old_story = BASE[style]
    new_story = EDITS[edit](old_story)
    # Different noise on the two fetches, as in real life.
    old_hash, old_title, old_text = extract(style, old_story, seed=3)
    new_hash, new_title, new_text = extract(style, new_story, seed=4)
    assert old_hash != new_hash
    old_all = _words(f"{old_story.title} {old_story.lead} {' '.join(old_story.paragraphs)}")
    new_all = _words(f"{new_story.title} {new_story.lead} {' '.join(new_story.paragraphs)}")
    old_seen = _words(f"{old_title} {old_text}")
    new_seen = _words(f"{new_title} {new_text}")
    for word in new_all - old_all:
        assert word in new_seen and word not in old_seen, word
    for word in old_all - new_all:
        assert word in old_seen and word not in new_seen, word
    if edit == "paragraphs moved":
        assert old_text.split("\n\n") != new_text.split("\n\n")
        assert sorted(old_text.split("\n\n")) == sorted(new_text.split("\n\n"))
