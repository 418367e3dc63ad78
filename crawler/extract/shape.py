"""How deep and how big a page's markup is, read from its tags before any parser sees it, and
a flattened copy for pages nested past what a parser can take. Pure.

lexbor (like every HTML5 tree builder) checks the stack of open elements on each tag, so its
time grows with elements x depth: 20,000 nested `<div>`s parse in 0.7 s, 250,000 in over two
minutes, all inside one C call that no timer can interrupt. Browsers cap the depth of the tree
they build (Blink at 512) and put deeper elements beside their parent; `flatten` does the same
with the tags themselves: beyond `max_depth` tags are dropped and their text kept, so the
parser sees a shallow tree and the text a reader would see survives.

The depth counted here is an estimate that errs high on broken markup and never low on
nesting: void elements and elements whose end tag may be left out (`<p>`, `<li>`, `<td>` ...)
are not counted, and the contents of `<script>`, `<style>` and comments are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Blink's cap. Well above any real page: the deepest page of the extraction corpora
# is 49 deep by this count.
MAX_DEPTH = 512

# Possessive quantifiers: no alternative of a tag can match in two ways, so nothing is ever
# given back, and the scan runs some four times faster than with backtracking. Case is ignored
# only where it matters (the raw-text names and their end tags), which is a little cheaper than
# a pattern-wide IGNORECASE; the tag-name classes spell out what IGNORECASE would add to them
# ("İ", "ı", "ſ" and the Kelvin sign), so the matches are the same.
_FOLDED = "\u0130\u0131\u017f\u212a"
_TAG = re.compile(
    r"<(?:!--(?:[^-]++|-(?!->))*+(?:-->)?"                     # a comment (maybe unterminated)
    r"|((?i:script|style|textarea|title|xmp))\b[^>]*+>"          # raw text, to its end tag
    r"(?:[^<]++|<(?!(?i:/\1)\s*>))*+(?:(?i:</\1)\s*>)?"
    r"|(/?)([a-zA-Z" + _FOLDED + r"][a-zA-Z0-9:" + _FOLDED + r"-]*+)"
    r"((?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)>)",
)
# No end tag (void) or one that may be left out: they never make a page deeper on their own.
_FLAT = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr", "param", "keygen", "basefont", "bgsound", "frame", "image",
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rb", "rt", "rtc", "rp", "html", "head", "body",
})


@dataclass(frozen=True, slots=True)
class Shape:
    depth: int
    """The deepest nesting of elements with end tags (an estimate, see the module)."""
    elements: int
    """Start tags of any kind."""

    def too_deep(self, max_depth: int = MAX_DEPTH) -> bool:
        return self.depth > max_depth


def shape(html: str) -> Shape:
    """The depth and size of `html`'s markup, in one linear pass."""
    depth = deepest = elements = 0
    # Whether each tag name, as spelled, is flat: a page repeats a few dozen spellings.
    flat_names: dict[str, bool] = {}
    # `findall` builds the groups in C: no match object per tag.
    for raw, closing, name, attributes in _TAG.findall(html):
        if not name:
            if raw:
                elements += 1
            continue
        flat = flat_names.get(name)
        if flat is None:
            flat = flat_names[name] = name.lower() in _FLAT
        if closing:
            if not flat and depth:
                depth -= 1
            continue
        elements += 1
        if flat or attributes.rstrip().endswith("/"):
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
    return Shape(deepest, elements)


def flatten(html: str, max_depth: int = MAX_DEPTH) -> str:
    """`html` with every tag nested deeper than `max_depth` removed (its text kept), counted
    as `shape` counts. A page within the depth comes back unchanged."""
    out: list[str] = []
    kept = 0
    depth = 0
    for match in _TAG.finditer(html):
        name = match.group(3)
        if name is None:
            continue
        lowered = name.lower()
        closing = bool(match.group(2))
        nests = lowered not in _FLAT and not match.group(4).rstrip().endswith("/")
        if closing:
            inside = depth <= max_depth
            if lowered not in _FLAT and depth:
                depth -= 1
        else:
            if nests:
                depth += 1
            inside = depth <= max_depth
        if not inside:
            out.append(html[kept:match.start()])
            kept = match.end()
    if not out:
        return html
    out.append(html[kept:])
    return "".join(out)
