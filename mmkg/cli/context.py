"""The object every command receives: settings, and a lazily created driver (created once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from mmkg.config import Settings

if TYPE_CHECKING:  # the driver package takes ~1 s to import: keep `mmkg --help` instant
    from neo4j import Driver


@dataclass
class AppContext:
    settings: Settings
    _driver: "Driver | None" = field(default=None, repr=False)

    @property
    def database(self) -> str:
        return self.settings.neo4j.database

    def driver(self) -> "Driver":
        """The process's one driver, connected and verified on first use."""
        if self._driver is None:
            from mmkg.graph import connect

            self._driver = connect(self.settings)
        return self._driver

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None


pass_app = click.make_pass_decorator(AppContext)
