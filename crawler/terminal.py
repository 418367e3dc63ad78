"""Text from the web made safe to print. Pure.

Stored headlines and texts are whatever a page said: an ESC sequence in them, printed as is,
would drive the reader's terminal (move the cursor, rewrite the title bar, hide lines). Rich
strips only a few control codes itself (bell, backspace, carriage return...), not ESC, and plain
`print` strips none, so every reading command passes web text through here first.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls except tab and newline, DEL, and the C1 controls (U+009B is a one-character CSI
# on some terminals).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile("[\x80-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    """`text` with every control character but tab and newline shown as `\\xNN`, so it can be
    read on a terminal and cannot act on it."""
    return _CONTROL.sub(_escape, text)


def printable_line(text: str) -> str:
    """`printable`, newlines and tabs escaped too: for one cell or one line of output."""
    return printable(text).replace("\t", "\\t").replace("\n", "\\n")


def json_line(value: Any) -> str:
    """One line of JSON, UTF-8 kept readable. `json.dumps` escapes C0 controls itself; the C1
    ones it leaves as they are, so they are escaped here (they occur only inside strings)."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))
