"""The one progress display of mmkg: a rich bar on stderr with counts, rate, elapsed time and ETA.

Every long step (ingest writes, feature extraction, export reads, publish writes, training
epochs) draws its bars with :func:`progress_bar`, so they all look alike and all stay off stdout,
which belongs to the command's result.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text


LOG_WIDTH = 200
"""The width the bars are drawn in when stderr is not a terminal (rich's default there, 80
columns, wrapped a task's rate and info onto lines of their own)."""


class RateColumn(ProgressColumn):
    """``<n> <unit>/s``: the recent rate while a task runs, its average from start to finish once
    it is finished (not to the end of the display, which may hold later tasks);
    nothing for a task added with ``rate=False`` (one that counts percent of a step, not rows)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        if not task.fields.get("rate", True):
            return Text("")
        speed = task.speed
        elapsed = task.finished_time if task.finished else None  # task.elapsed runs on past it
        if elapsed:
            speed = task.completed / elapsed
        digits = 1 if speed and speed < 100 else 0
        label = f"{speed:,.{digits}f} {self.unit}/s" if speed else f"- {self.unit}/s"
        return Text(label, style="progress.data.speed")


def progress_bar(unit: str = "rows", *, info: bool = False, disable: bool = False,
                 transient: bool = False) -> Progress:
    """A rich :class:`~rich.progress.Progress` on stderr: description, bar, ``done/total``,
    rate in ``unit`` per second, elapsed time and ETA (one task per line within 80 columns, but
    for the ``info`` text; when stderr is not a terminal, the final state in :data:`LOG_WIDTH`).

    Args:
        unit: what the tasks count (``rows``, ``tracks``, ``ids``, ``epochs``).
        info: add a free-text column showing each task's ``info`` field
            (``bar.update(task, info="loss 0.31")``; tasks must be added with ``info=""``).
        disable: draw nothing (``--quiet`` / ``progress=False``); tasks still count.
        transient: remove the bars when the display stops.
    """
    columns: list[ProgressColumn] = [
        TextColumn("[bold]{task.description:<20}"), BarColumn(bar_width=12), MofNCompleteColumn(),
        RateColumn(unit), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    ]
    if info:
        columns.append(TextColumn("{task.fields[info]}"))
    console = Console(stderr=True)
    if not console.is_terminal:  # a log file or pipe: its one final line per task, never wrapped
        console = Console(stderr=True, width=LOG_WIDTH)
    return Progress(*columns, console=console, disable=disable, transient=transient)
