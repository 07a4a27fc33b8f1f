"""Strings from a gallery or a profile shown literally on a terminal.

File names, EXIF fields, taxonomy labels and error reasons come from the data, not from galprof: they
must neither reach the terminal as escape sequences (clear screen, window titles, hyperlinks) nor be
read as rich markup. `safe_text` makes any value printable; `data_text` wraps it in a rich Text so
brackets are never parsed as markup.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

# C0 controls (ESC included), DEL, C1 controls, and the invisible direction marks and overrides
# that reorder what is shown (U+061C, U+200E-F, U+202A-E, U+2066-9), plus the line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: Any) -> str:
    """`value` as a string with every control or direction character written as `\\x1b`, `\\u202e`..."""
    return _UNSAFE.sub(_escape, "" if value is None else str(value))


def data_text(value: Any, style: str = "") -> Text:
    """A rich Text of `value` shown literally: escaped controls, no markup."""
    from rich.text import Text  # here, not at the top: a JSON scan never loads rich
    return Text(safe_text(value), style=style)
