"""``python -m mmkg`` is the ``mmkg`` command."""

from mmkg.cli import cli

cli(prog_name="mmkg")
