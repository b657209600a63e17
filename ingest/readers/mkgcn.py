"""Read and validate the ``mkgcn`` format (``docs/contracts.md`` §2).

Files (tab-separated): ``userID2itemID4ratings.tsv`` (``user item rating``),
``itemID2entityID.txt`` (``item entity``) and ``kg.txt`` (``head relation tail``) — each with or
without a header row (a first line with no numeric field is a header) —, and
optional ``modals/modal_0.tsv`` … ``modal_6.tsv`` (``item_id f1 … fD``, header optional).

A rating ``>= rating_threshold`` becomes ``LISTENED {rating}``; lower ratings are dropped.
Modalities: ``modal_k`` is a feature set named ``modal_k`` whose kind comes from
``modals/features.toml`` (``[modal_2] kind = "Audio"``) or else from :data:`MODAL_KINDS`
(Text, Image, Audio, Sentiment, then again Text, Image, Audio).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from mmkg.ingest.featureset import FeatureSet
from mmkg.ingest.graphdata import GraphData
from mmkg.ingest.readers.feature_kinds import feature_kinds
from mmkg.ingest.readers.item_kg import ITEM_COLUMNS, KG_COLUMNS, build_graph, load
from mmkg.ingest.readers.registry import register_format
from mmkg.ingest.readers.table import read_table
from mmkg.ingest.validate import Validator
from mmkg.schema import Modality, Prop

RATINGS = "userID2itemID4ratings.tsv"
ITEMS = "itemID2entityID.txt"
KG = "kg.txt"
MODALS = "modals"
RATING_COLUMNS = ["user", "item", "rating"]
DEFAULT_RATING_THRESHOLD = 4.0
#: Default modality of ``modal_k`` (overridden by ``modals/features.toml``).
MODAL_KINDS: tuple[Modality, ...] = (
    Modality.TEXT, Modality.IMAGE, Modality.AUDIO, Modality.SENTIMENT,
    Modality.TEXT, Modality.IMAGE, Modality.AUDIO,
)
_MODAL_FILE = re.compile(r"modal_([0-6])\.tsv")


@register_format("mkgcn", options=("rating_threshold",))
def read_mkgcn(root: Path, validator: Validator, *,
               rating_threshold: float = DEFAULT_RATING_THRESHOLD) -> GraphData:
    """Validate an MKGCN dataset folder; return what its valid rows add to the graph.

    Raises:
        ValueError: ``rating_threshold`` is NaN or infinite.
    """
    if not math.isfinite(rating_threshold):
        raise ValueError(f"rating_threshold must be a finite number, not {rating_threshold}")
    root = Path(root)
    ratings = load(root, RATINGS, validator, header="auto", names=RATING_COLUMNS)
    items = load(root, ITEMS, validator, header="auto", names=ITEM_COLUMNS)
    kg = load(root, KG, validator, header="auto", names=KG_COLUMNS)
    modals = _load_modals(root, validator)
    if validator.fatal:
        return GraphData()
    validator.not_empty(ratings, "user", "a user id")
    validator.not_empty(ratings, "item", "an item id")
    rating = validator.floats(ratings, "rating", required=True)
    rating = validator.unique(ratings, ["user", "item"], "(user, item)", values={"rating": rating},
                              policy=True)["rating"]
    data = build_graph(validator, items, kg, ratings, user="user", item="item",
                       props={Prop.RATING.value: rating}, keep=(rating >= rating_threshold).fillna(False))
    tracks = data.nodes[0].frame["id"]
    for name, (table, kind) in modals.items():
        validator.references(table, "item_id", items, target_name=ITEMS, target_column="item")
        validator.unique(table, ["item_id"], "item_id")
        vectors = validator.vectors(table, [c for c in table.frame.columns if c != "item_id"])
        keep = validator.kept(table) & table.frame["item_id"].isin(tracks).to_numpy()
        data.features.append(FeatureSet(
            name=name, kind=kind, extractor="precomputed", version="1", source=table.name,
            track_ids=table.frame["item_id"][keep].tolist(), vectors=vectors[keep]))
    return data


def _load_modals(root: Path, validator: Validator) -> dict:
    folder = root / MODALS
    if not folder.is_dir():
        return {}
    kinds = feature_kinds(folder / "features.toml", f"{MODALS}/features.toml", validator)
    modals = {}
    for path in sorted(folder.iterdir()):
        m = _MODAL_FILE.fullmatch(path.name)
        if not m:
            continue
        name = f"modal_{m.group(1)}"
        table = read_table(path, f"{MODALS}/{path.name}", validator, sep="\t", header="auto")
        if table is None:
            continue
        width = len(table.frame.columns)
        if width < 2:
            validator.file_problem(table.name, f"expected columns item_id, f1..fD (D >= 1), "
                                   f"found {width} column(s)")
            continue
        table.frame.columns = ["item_id"] + [f"f{i}" for i in range(1, width)]
        modals[name] = (table, kinds.get(name, MODAL_KINDS[int(m.group(1))]))
    return modals
