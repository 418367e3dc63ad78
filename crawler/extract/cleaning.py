"""Removing what is not article text: page furniture before scoring, boilerplate inside the
chosen body after it."""

from __future__ import annotations

from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.dom import detach, ends_sentence, ink, text_length, text_of
from crawler.extract.hints import (
    COMMENTS,
    HIDING,
    NEGATIVE,
    POSITIVE,
    UNLIKELY,
    box_kind,
    class_id,
)
from crawler.extract.scan import hidden_or_furniture

# Inside the body: the headline, bylines, dates and credits.
_META = (
    "time,address,[itemprop~='author' i],[itemprop~='datePublished' i],"
    "[itemprop~='dateModified' i],[rel~='author' i],[class~='sr-only'],"
    "[class~='visually-hidden'],[class~='screen-reader-text']"
)
# Captions and the boxes of pictures and videos: not the text, unless together they are most
# of it (a slideshow or gallery page, whose captions are what the reader reads).
_MEDIA = "[itemprop~='caption' i],[itemtype*='ImageObject' i],[itemtype*='VideoObject' i]"
# A block of links longer than this is read as a list of things to click, not text.
_LINK_DENSE = 0.5
_LINKY_BLOCKS = frozenset({
    "div", "section", "ul", "ol", "dl", "table", "header", "span", "p", "li", "blockquote", "h2",
    "h3", "h4", "h5", "h6", "strong", "b", "em",
})
# A hinted element holding more than this share of the body is the body itself, whatever its
# class says ("post-content has-comments").
_BIG_SHARE = 0.3
# Whatever its class, an element holding most of the body is the body (template frameworks
# call every box a "widget"); only a comment thread is dropped whatever its size.
_HUGE_SHARE = 0.5
_NOSCRIPT_TEXT = 400
# An aside with less ink than this is never the article.
_ASIDE_ARTICLE = 200
# A paragraph that reads as a sentence: some words, then a full stop.
_SENTENCE_MIN = 22
# A caption: a block this close to its image, with at most this much text.
_CAPTION_LEVELS = 3
_CAPTION_TEXT = 250
_CAPTION_BOXES = frozenset({"div", "span", "a", "center", "table", "dl"})
# Mean ink (non-space characters) of a box of the body's own structure: a short paragraph.
_SECTION_TEXT = 150
# Share of link text above which boxes named as boilerplate are teasers, not the body's boxes.
_STRUCTURE_LINKS = 0.2


def preclean(tree: LexborHTMLParser, junk: list[LexborNode], *, asides: bool = True) -> None:
    """Detach `junk` (scripts, styles, embeds, navigation, footers, figures: see scan.py) and
    hidden elements."""
    pictures: list[LexborNode] = []
    for node in junk:
        tag = node.tag
        # Some blog platforms serve the post itself inside <noscript> and draw it with script;
        # a "please enable JavaScript" notice or a tracking pixel is far shorter.
        # The length first: most are empty, and a query costs more than their text.
        if (tag == "noscript" and text_length(node) >= _NOSCRIPT_TEXT
                and node.css_first("p") is not None):
            continue
        if tag in _PICTURES:
            # A table set in a <figure> is a table of the article, not a picture.
            if tag == "figure" and node.css_first("table") is not None:
                continue
            pictures.append(node)
            continue
        detach(node)
    _drop_pictures(tree, pictures)
    hidden, complementary = hidden_or_furniture(tree)
    for node in hidden:
        if not _hidden_panel(node):
            detach(node)
    # The sidebar query finds nothing on a page without <aside> and without such a role.
    if asides or complementary:
        _drop_asides(tree)


def _hidden_panel(node: LexborNode) -> bool:
    """A tab, slide or page of a gallery that script shows later: hidden, but of the same kind
    (class) as a shown sibling. A hidden pop-up or menu has no shown twin."""
    kind = box_kind(node.attributes.get("class") or "")
    parent = node.parent
    if not kind or parent is None:
        return False
    for sibling in parent.iter(include_text=False):
        if sibling.mem_id == node.mem_id:
            continue
        attrs = sibling.attributes
        if box_kind(attrs.get("class") or "") == kind and not _hides(attrs):
            return True
    return False


def _hides(attrs: dict[str, str | None]) -> bool:
    style = (attrs.get("style") or "").replace(" ", "").lower()
    return ("hidden" in attrs or "display:none" in style
            or not HIDING.isdisjoint((attrs.get("class") or "").split()))


_PICTURES = frozenset({"figure", "figcaption"})
_GALLERY_TEXT = 1000


def _drop_pictures(tree: LexborHTMLParser, pictures: list[LexborNode]) -> None:
    """Figures and their captions go, unless they hold most of the page's text: a slideshow
    or gallery page, whose captions are what a reader reads."""
    if not pictures:
        return
    ids = {node.mem_id for node in pictures}
    outer = [node for node in pictures if not _below_any(node, ids, -1)]
    held = sum(ink(text_of(node)) for node in outer)
    body = tree.body
    if held >= _GALLERY_TEXT and body is not None and held > _HUGE_SHARE * ink(text_of(body)):
        return
    for node in pictures:
        detach(node)


def _drop_asides(tree: LexborHTMLParser) -> None:
    """Sidebars go, unless one holds most of the page's text: some templates wrap the whole
    article in an <aside> or a `role=complementary` box."""
    asides = tree.css("aside,[role=complementary]")
    if not asides:
        return
    # In ink, the cheapest count: the page's text is the longest text measured here.
    lengths = [ink(text_of(node)) for node in asides]
    body = tree.body
    # The page's length costs a text of the whole document: only when an aside could be the
    # article at all.
    page = ink(text_of(body)) if body is not None and max(lengths) >= _ASIDE_ARTICLE else 0
    for node, length in zip(asides, lengths, strict=True):
        if page == 0 or length <= _HUGE_SHARE * page:
            detach(node)


def clean_body(root: LexborNode, total: int, *, thread: bool = False) -> None:
    """Detach boilerplate inside one chosen body element holding `total` characters of ink
    (`dom.ink`: shares are measured in non-space characters, the cheapest count).
    `thread`: the body is a comment thread, whose posts stay."""
    for node in root.css(_META):
        detach(node)
    _drop_media(root, total)
    # The headline, when the body holds it; further <h1>s are section titles of the body.
    headline = root.css_first("h1")
    if headline is not None:
        detach(headline)
    suspects: list[tuple[LexborNode, bool, bool, int, str]] = []
    kinds = _Kinds(total)
    for node in root.css("[class],[id]"):
        attrs = node.attributes
        hint = class_id(attrs)
        verdict = _verdict(hint)
        if verdict is None:
            continue
        comments, positive = verdict
        if comments and thread:
            continue
        if comments:
            # A comment thread goes whatever its size and kind: neither is measured.
            suspects.append((node, comments, positive, 0, ""))
            continue
        length = ink(text_of(node))
        kind = box_kind(attrs.get("class") or "")
        suspects.append((node, comments, positive, length, kind))
        if kind:
            kinds.add(kind, node, length, linky_name=_unlikely(hint))
    for node, comments, positive, length, kind in suspects:
        if not comments:
            share = length / total if total else 0.0
            if share > _HUGE_SHARE or (share > _BIG_SHARE and positive):
                continue
            if kind and total and kinds.body_structure(kind):
                continue
        detach(node)
    _drop_link_lists(root)
    _drop_captions(root)


def _drop_media(root: LexborNode, total: int) -> None:
    media = root.css(_MEDIA)
    if not media:
        return
    # Nested matches (a caption inside an image box) count once: only the outermost.
    ids = {node.mem_id for node in media}
    outer = [node for node in media if not _below_any(node, ids, root.mem_id)]
    held = sum(ink(text_of(node)) for node in outer)
    if total and held > _HUGE_SHARE * total:
        return
    for node in outer:
        detach(node)


def _below_any(node: LexborNode, ids: set[int], root: int) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != root:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


class _Kinds:
    """Text per kind of box (`box_kind`) among the suspects of one body: a kind whose boxes
    together hold most of the body is the body's own structure ("gallery-paragraph" sections),
    not boilerplate. Only names that are boilerplate now and then ("gallery", "meta") count,
    or boxes whose text is not links (page builders call every box a "widget"); never a
    related, promoted or popular list of teasers."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.plain: dict[str, list[int]] = {}
        # Boxes with names of lists of links, whose link text is measured only when their
        # kind could hold most of the body at all: that measure is a query per box.
        self.linky: dict[str, list[tuple[LexborNode, int]]] = {}
        self.verdicts: dict[str, bool] = {}

    def add(self, kind: str, node: LexborNode, length: int, *, linky_name: bool) -> None:
        if linky_name:
            self.linky.setdefault(kind, []).append((node, length))
        else:
            self.plain.setdefault(kind, []).append(length)

    def body_structure(self, kind: str) -> bool:
        verdict = self.verdicts.get(kind)
        if verdict is None:
            lengths = self.plain.get(kind, [])
            linky = self.linky.get(kind, [])
            if sum(lengths) + sum(length for _, length in linky) <= _HUGE_SHARE * self.total:
                verdict = False
            else:
                lengths = lengths + [length for node, length in linky
                                     if _not_links(node, length)]
                verdict = bool(lengths) and _body_structure(lengths, self.total)
            self.verdicts[kind] = verdict
        return verdict


def _not_links(node: LexborNode, length: int) -> bool:
    """Little of the box's text is link text: not a list of teasers to click."""
    links = ink("".join([text_of(a) for a in node.css("a")]))
    return length > 0 and links < _STRUCTURE_LINKS * length


def _drop_captions(root: LexborNode) -> None:
    """An image's box with a line or two of text beside the image is its caption or credit
    (figures without <figure>): a block holding an <img> and little text, no paragraph."""
    root_id = root.mem_id
    # The images of a gallery or a long article share their larger boxes: each box found too
    # long to be a caption is remembered, rather than measured again for every image in it
    # (hundreds of images in one block made this quadratic). Detaching a caption shortens its
    # ancestors, which are forgotten then and measured again.
    too_long: set[int] = set()
    for image in root.css("img"):
        box = image.parent
        for _ in range(_CAPTION_LEVELS):
            if box is None or box.mem_id == root_id:
                break
            if box.tag in _CAPTION_BOXES:
                if box.mem_id in too_long:
                    break
                length = text_length(box)
                if 0 < length <= _CAPTION_TEXT and box.css_first("p") is None:
                    _forget_ancestors(box, too_long, root_id)
                    detach(box)
                    break
                if length > _CAPTION_TEXT:
                    too_long.add(box.mem_id)
                    break
            box = box.parent


def _forget_ancestors(node: LexborNode, known: set[int], root_id: int) -> None:
    parent = node.parent
    while parent is not None and known and parent.mem_id != root_id:
        known.discard(parent.mem_id)
        parent = parent.parent


def _is_sentence(text: str) -> bool:
    return len(text.strip()) >= _SENTENCE_MIN and ends_sentence(text)


def _body_structure(lengths: list[int], total: int) -> bool:
    """Boxes of one class that hold most of the body, each a paragraph or more (captions and
    teasers are shorter)."""
    held = sum(lengths)
    return held > _HUGE_SHARE * total and held >= _SECTION_TEXT * len(lengths)


@lru_cache(maxsize=8192)
def _unlikely(hint: str) -> bool:
    return UNLIKELY.search(hint) is not None


@lru_cache(maxsize=8192)
def _verdict(hint: str) -> tuple[bool, bool] | None:
    """None when the class/id `hint` names no boilerplate; else whether it names a comment
    thread and whether it also sounds like the body. Cached: a page repeats its class names,
    and NEGATIVE, a long alternation, is the slowest of the hint regexes."""
    if not hint or not NEGATIVE.search(hint):
        return None
    return bool(COMMENTS.search(hint)), bool(POSITIVE.search(hint))


def _drop_link_lists(root: LexborNode) -> None:
    anchors = root.css("a")
    if not anchors:
        return
    # Link ink per element, summed up from every anchor once instead of one query per block;
    # the blocks worth weighing are the ones met on the way up from an anchor (a query for all
    # the block tags costs more than the rest of this function).
    # Each anchor's walk up stops at the first element already met: its ink is put on its
    # parent, and the sums are carried up afterwards. Elements first met later lie below those
    # met before (a walk only stops at a known element), so carrying the later walks first,
    # each from the bottom, adds every element's sum to its parent's before that one is carried.
    linked: dict[int, int] = {}
    parent_of: dict[int, int] = {}
    blocks: dict[int, LexborNode | None] = {}
    walks: list[list[int]] = []
    root_id = root.mem_id
    for anchor in anchors:
        amount = ink(text_of(anchor))
        if amount == 0 or anchor.mem_id == root_id:
            continue
        node = anchor.parent
        walk: list[int] = []
        while node is not None:
            key = node.mem_id
            if key == root_id:
                break
            if walk:
                parent_of[walk[-1]] = key
            else:
                linked[key] = linked.get(key, 0) + amount
            if key in blocks:
                break
            blocks[key] = node if node.tag in _LINKY_BLOCKS else None
            walk.append(key)
            node = node.parent
        walks.append(walk)
    for walk in reversed(walks):
        for key in walk:
            above = parent_of.get(key)
            if above is not None:
                linked[above] = linked.get(above, 0) + linked.get(key, 0)
    # Each block is judged on its text before any of them goes, as in document order (where a
    # block comes before everything inside it); detaching in another order leaves the same tree.
    judged = [(node, linked[key], text_of(node))
              for key, node in blocks.items() if node is not None]
    for node, links, text in judged:
        length = ink(text)
        density = links / length if length else 1.0
        # Long paragraphs with many links are still prose; short linked blocks are promos.
        if density > _LINK_DENSE and (length < 600 or density > 0.8):
            if node.tag == "p" and density < 1.0 and _is_sentence(text):
                continue  # a sentence whose words are mostly linked is still a sentence
            detach(node)


def clean_ruled(root: LexborHTMLParser | LexborNode, ignore: tuple[str, ...]) -> None:
    """The operator's ignore selectors, then bylines and dates; an invalid selector is skipped."""
    for selector in ignore:
        try:
            found = root.css(selector)
        except Exception:  # noqa: S112 - one bad selector must not void the others
            continue
        for node in found:
            detach(node)
    if isinstance(root, LexborNode):
        for node in root.css(f"h1,{_META},{_MEDIA}"):
            detach(node)
