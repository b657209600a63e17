"""Text from data made safe for a terminal: names, titles and ids that a catalog or a user wrote
are shown as they are, never acted on.

A terminal acts on control characters (a cursor move, a window title, OSC 52 writing the
clipboard) and rich on its markup (``[red]``; an unmatched ``[/x]`` raises): messages pass
through :func:`printable`, and a table cell or title built from data is a :func:`plain` text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is only needed to draw a table
    from rich.text import Text

UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal acts on instead of showing (C0 but tab and newline, DEL, C1, and the
bidirectional overrides that reorder what follows)."""


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: every :data:`UNPRINTABLE` character escaped as
    Python writes it (``ESC`` → ``\\x1b``), so that names from data cannot move the cursor,
    retitle the window or write the clipboard (OSC 52)."""
    return UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


def plain(value: object, style: str = "") -> "Text":
    """``value`` as one line of rich text that no markup is read in: :func:`printable`, with a
    newline or tab shown as ``\\n`` / ``\\t`` so that it cannot break a table's rows."""
    from rich.text import Text

    return Text(printable(str(value)).replace("\n", "\\n").replace("\t", "\\t"), style=style)
