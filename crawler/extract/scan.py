"""One walk over the whole document collecting every element the later steps need.

A CSS query over a whole page costs about as much as one Python walk over it, and the
extraction needs a dozen of them; walking once keeps a page around a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Never text a reader reads as the article, wherever they are.
JUNK_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "nav", "button", "select", "textarea", "input", "option", "dialog", "menu",
    "footer", "figcaption", "figure", "picture", "video", "audio", "map", "head",
})
# Blocks whose whole text is a paragraph.
PARAGRAPH_TAGS = frozenset({"p", "pre", "td", "h2", "h3"})
# Containers that may hold text typed straight into them ("div soup").
CONTAINER_TAGS = frozenset({
    "div", "section", "article", "main", "td", "font", "center", "blockquote",
})
# Hidden or page-furniture by attribute; checked in Python on the few elements that have them.
ATTRIBUTE_QUERY = "[hidden],[aria-hidden],[style],[role]"
# "complementary" is left to the scoring, as <aside> is: templates wrap whole articles in it.
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "dialog"})


@dataclass(slots=True)
class Scan:
    """Element lists, in document order. Mutable only while the walk fills it."""

    metas: list[LexborNode] = field(default_factory=list)
    links: list[LexborNode] = field(default_factory=list)
    scripts: list[LexborNode] = field(default_factory=list)
    titles: list[LexborNode] = field(default_factory=list)
    h1s: list[LexborNode] = field(default_factory=list)
    junk: list[LexborNode] = field(default_factory=list)
    paragraphs: list[LexborNode] = field(default_factory=list)
    containers: list[LexborNode] = field(default_factory=list)
    asides: list[LexborNode] = field(default_factory=list)
    h1_at: list[int] = field(default_factory=list)
    """For each of `h1s`, how many `paragraphs` came before it."""


# Indexes into `_lists(found)`.
_JUNK, _SCRIPT, _META, _LINK, _TITLE, _H1, _PARAGRAPH, _CONTAINER, _ASIDE = range(9)


def _roles() -> dict[str | None, tuple[int, ...]]:
    roles: dict[str | None, tuple[int, ...]] = {}
    for tag in JUNK_TAGS:
        roles[tag] = (_JUNK, _SCRIPT) if tag == "script" else (_JUNK,)
    for tag, role in (("meta", _META), ("link", _LINK), ("title", _TITLE), ("h1", _H1),
                      ("aside", _ASIDE)):
        roles[tag] = (role,)
    for tags, role in ((PARAGRAPH_TAGS, _PARAGRAPH), (CONTAINER_TAGS, _CONTAINER)):
        for tag in tags:
            roles[tag] = (*roles.get(tag, ()), role)
    return roles


# Which lists each collected tag goes to: one dict lookup per element instead of a chain of set
# and string tests, which was most of the walk's Python time.
_ROLES = _roles()
# The same by lexbor's tag id, filled as tags are met: reading a node's id costs no string, its
# name does. Known HTML tags have fixed ids; a custom element's id may differ from document to
# document, but never equals a known tag's, and custom elements have no role.
_ROLES_BY_ID: dict[int, tuple[int, ...] | None] = {}
_UNSEEN: tuple[int, ...] = (-1,)  # not looked up yet


def _lists(found: Scan) -> tuple[list[LexborNode], ...]:
    return (found.junk, found.scripts, found.metas, found.links, found.titles, found.h1s,
            found.paragraphs, found.containers, found.asides)


def scan(tree: LexborHTMLParser) -> Scan:
    found = Scan()
    root = tree.root
    if root is None:
        return found
    # Bound once: an attribute lookup per collected element is a tenth of the walk.
    appends = tuple(found_list.append for found_list in _lists(found))
    paragraphs, h1_at = found.paragraphs, found.h1_at.append
    by_id = _ROLES_BY_ID
    for node in root.traverse(include_text=False):
        tag_id = node.tag_id
        where = by_id.get(tag_id, _UNSEEN)
        if where is _UNSEEN:
            where = by_id[tag_id] = _ROLES.get(node.tag)
        if where is not None:
            for index in where:
                appends[index](node)
            if index == _H1:
                h1_at(len(paragraphs))
    # <head> went to junk for the body's sake; its children were collected above already.
    return found


def hidden_or_furniture(tree: LexborHTMLParser) -> tuple[list[LexborNode], bool]:
    """Elements hidden from readers, and landmarks that are navigation, sidebars or footers;
    and whether any element's role may be "complementary" (the sidebars, weighed later)."""
    out: list[LexborNode] = []
    complementary = False
    for node in tree.css(ATTRIBUTE_QUERY):
        attrs = node.attributes
        if not complementary and "complementary" in (attrs.get("role") or "").lower():
            complementary = True
        if "hidden" in attrs:
            out.append(node)
            continue
        if (attrs.get("aria-hidden") or "").strip().lower() == "true":
            out.append(node)
            continue
        style = (attrs.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style:
            out.append(node)
            continue
        if (attrs.get("role") or "").strip().lower() in _FURNITURE_ROLES:
            out.append(node)
    return out, complementary
