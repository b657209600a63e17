"""Ctrl-C as one line: what the interruption left and the command that goes on from there."""

from __future__ import annotations

import click

INTERRUPTED_STATUS = 130
"""The exit status of a command stopped by Ctrl-C (128 + SIGINT), as a shell reports it."""


class Interrupted(click.ClickException):
    """A command stopped by Ctrl-C (``KeyboardInterrupt``); its message says what state is left
    and what to run next. Exit status :data:`INTERRUPTED_STATUS`."""

    exit_code = INTERRUPTED_STATUS
