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


class RateColumn(ProgressColumn):
    """``<n> <unit>/s``: the recent rate while a task runs, its average once it is finished."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.speed
        if task.finished and task.elapsed:
            speed = task.completed / task.elapsed
        digits = 1 if speed and speed < 100 else 0
        label = f"{speed:,.{digits}f} {self.unit}/s" if speed else f"- {self.unit}/s"
        return Text(label, style="progress.data.speed")


def progress_bar(unit: str = "rows", *, info: bool = False, disable: bool = False,
                 transient: bool = False) -> Progress:
    """A rich :class:`~rich.progress.Progress` on stderr: description, bar, ``done/total``,
    rate in ``unit`` per second, elapsed time and ETA (one task per line within 80 columns).

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
    return Progress(*columns, console=Console(stderr=True), disable=disable, transient=transient)
