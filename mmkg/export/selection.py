"""Which part of the MMKG an export takes: a set of tracks, their users, and the KG around them.

Rules (see :func:`mmkg.export.export_heterograph`):

* **Tracks** — every ``Track`` when no criterion is given; otherwise the tracks meeting *all*
  criteria given: ``genres`` (``HAS_GENRE`` to a ``Genre`` whose ``name`` or ``id`` is listed),
  ``users`` (tracks those users ``LISTENED`` to), ``where`` (a Cypher predicate on ``t``),
  ``listened`` (tracks at least one user ``LISTENED`` to: what ``mmkg train`` exports by default,
  since a track nobody has listened to is only ever drawn as a negative, which buries it; ``mmkg
  publish RUN`` places such tracks from their content and KG facts instead).
* **Users** — every ``User`` for the unrestricted selection; the listed ``users`` (those that exist)
  when given; otherwise the users who listened to at least one selected track.
* **KG** — every node with a label of :data:`mmkg.schema.KG_LABELS` for the unrestricted selection;
  otherwise the non-track KG nodes reachable from the selected tracks within ``hops`` KG
  relationships, never walking through an unselected track (exported tracks are exactly the
  selected ones). Edges: every KG relationship whose two ends are exported.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_HOPS = 6
"""The most KG relationships a selection walks from its tracks."""


class Selection(BaseModel):
    """A subgraph selection; the default selects the whole graph.

    ``where`` is **trusted** Cypher written by the operator (e.g. ``t.year >= 2000``): it is pasted
    into a query that runs inside a *read* transaction, so it can read anything but write nothing.
    Never pass text from untrusted users.
    """

    model_config = ConfigDict(frozen=True)

    genres: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    where: str | None = None
    listened: bool = False
    """Keep only tracks at least one user listened to."""
    hops: int = Field(2, ge=0, le=MAX_HOPS)
    """How many KG relationships away from a selected track KG nodes are still exported."""

    @field_validator("where")
    @classmethod
    def _non_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the Cypher predicate is empty")
        return value

    @property
    def is_all(self) -> bool:
        """True when no criterion restricts the tracks."""
        return not (self.genres or self.users or self.where or self.listened)

    @property
    def every_listened_track(self) -> bool:
        """True when ``listened`` is the only criterion: the tracks are exactly those with a
        listen, so their listeners are exactly the users with a listen."""
        return self.listened and not (self.genres or self.users or self.where)

    def to_manifest(self) -> dict[str, Any]:
        """The selection as plain data (for ``manifest.json``)."""
        return {"all": self.is_all, "genres": list(self.genres), "users": list(self.users),
                "where": self.where, "listened": self.listened, "hops": self.hops}
