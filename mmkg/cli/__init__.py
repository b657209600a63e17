"""The ``mmkg`` command line (click). Each command group lives in its own module."""

from mmkg.cli.main import cli

__all__ = ["cli"]
