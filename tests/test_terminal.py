"""Names from data in what mmkg prints: a track title, an id or a column name is shown as
written, never read as rich markup (an unmatched ``[/x]`` raised) nor acted on by the terminal
(C1 ``CSI``, bidirectional overrides), and a newline cannot break a table's rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmkg.cli.recommend import _emit
from mmkg.ingest.pipeline import IngestSummary
from mmkg.terminal import plain

TITLE = "[/x] [red]Red[/red] \u009b31m\u202eevil"
"""Markup with an unmatched closing tag, a C1 CSI and a right-to-left override."""
SHOWN = "[/x] [red]Red[/red] \\x9b31m\\u202eevil"


def test_plain_escapes_and_keeps_one_line():
    assert plain(TITLE).plain == SHOWN
    assert plain("two\nlines\tand a tab").plain == "two\\nlines\\tand a tab"


@pytest.mark.parametrize("explained", [False, True])
def test_a_recommendation_table_shows_titles_as_written(capsys, explained):
    row = {"rank": 1, "trackId": "t\n1", "title": TITLE, "artist": "[bold]A", "score": 0.5}
    if explained:
        row["reasons"] = ["sounds like " + TITLE]
    _emit([row], as_json=False, title=f"for user {TITLE}", note=f"note {TITLE}")
    out = capsys.readouterr().out
    assert "\u009b" not in out and "\u202e" not in out
    assert out.count("[/x] [red]Red[/red] \\x9b31m\\u202eevil") == 3 + explained
    assert "[bold]A" in out and "t\\n1" in out


def test_the_ingest_summary_shows_data_names_as_written():
    from rich.console import Console

    summary = IngestSummary(Path("/data/[2024] catalog"), "catalog", True, nodes={"Track": 2},
                            columns_left_out={"tracks.csv: '[/x]'": "not a property name"})
    console = Console(width=200, record=True)
    console.print(summary.to_table())
    text = console.export_text()
    assert "catalog /data/[2024] catalog (would write)" in text
    assert "column tracks.csv: '[/x]': not a property name" in text
