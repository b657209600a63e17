"""Read and validate the ``kgcn`` format (``docs/contracts.md`` §2), e.g. KGCN's Last.FM release.

Files (tab-separated): ``user_artists.dat`` (header ``userID artistID weight``),
``item_index2entity_id.txt`` (``item entity``, no header) and ``kg.txt`` (``head relation tail``,
no header; problems name these columns). Items become ``Track {id: item, entity_id}``; a KG
entity that stands for an item resolves to that Track, any other becomes ``Entity {id}``;
``(user, item)`` rows whose item has no entity are dropped, as KGCN's preprocessing does.
"""

from __future__ import annotations

from pathlib import Path

from mmkg.ingest.graphdata import GraphData
from mmkg.ingest.readers.item_kg import ITEM_COLUMNS, KG_COLUMNS, build_graph, load
from mmkg.ingest.readers.registry import register_format
from mmkg.ingest.validate import Validator
from mmkg.schema import Prop

INTERACTIONS = "user_artists.dat"
ITEMS = "item_index2entity_id.txt"
KG = "kg.txt"


@register_format("kgcn")
def read_kgcn(root: Path, validator: Validator) -> GraphData:
    """Validate a KGCN dataset folder; return what its valid rows add to the graph."""
    root = Path(root)
    ratings = load(root, INTERACTIONS, validator, header=True)
    items = load(root, ITEMS, validator, header=False, names=ITEM_COLUMNS)
    kg = load(root, KG, validator, header=False, names=KG_COLUMNS)
    if ratings is not None:
        validator.require_columns(ratings, ["userID", "artistID", "weight"])
    if validator.fatal:
        return GraphData()
    validator.integers(ratings, "userID", required=True, ids=True)
    validator.integers(ratings, "artistID", required=True, ids=True)
    plays = validator.integers(ratings, "weight", minimum=0, required=True)
    plays = validator.unique(ratings, ["userID", "artistID"], "(userID, artistID)",
                             values={"weight": plays}, policy=True, summed="weight")["weight"]
    return build_graph(validator, items, kg, ratings, user="userID", item="artistID",
                       props={Prop.PLAYS.value: plays})
