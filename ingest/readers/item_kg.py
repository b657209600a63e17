"""The files the ``kgcn`` and ``mkgcn`` formats share, and the graph built from them.

An item map (``item entity``) and KG triples (``head relation tail``), both tab-separated, plus
the format's interactions table: items become ``Track {id: item, entity_id}``; a KG entity that
stands for an item resolves to that Track, any other becomes ``Entity {id}``; interactions whose
item has no entity are dropped and counted, as KGCN's preprocessing does.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmkg.ingest.graphdata import GraphData, NodeSet, RelSet, property_frame
from mmkg.ingest.readers.table import Header, Table, read_table
from mmkg.ingest.validate import Validator
from mmkg.schema import Label, Prop, RelType

ITEM_COLUMNS = ["item", "entity"]
KG_COLUMNS = ["head", "relation", "tail"]
DROPPED_NO_ENTITY = "interactions whose item has no KG entity"
DROPPED_BELOW_THRESHOLD = "interactions rated below the threshold"


def load(root: Path, name: str, validator: Validator, *, header: Header,
         names: list[str] | None = None) -> Table | None:
    """Read one tab-separated file of the dataset, or record that it is missing."""
    path = root / name
    if not path.exists():
        validator.file_problem(name, f"missing: expected the file {name} in {root}")
        return None
    return read_table(path, name, validator, sep="\t", header=header, names=names)


def check_items_and_kg(validator: Validator, items: Table, kg: Table) -> None:
    """Item map: non-empty, each item and each entity once. KG: valid relation names, no repeats."""
    for column in ITEM_COLUMNS:
        validator.not_empty(items, column, f"an {column} id")
        validator.id_length(items, column)
        validator.unique(items, [column], column)
    for column in ("head", "tail"):
        validator.not_empty(kg, column, "an entity id")
        validator.id_length(kg, column)
    validator.not_empty(kg, "relation", "a relation name")
    validator.relation_names(kg, "relation")
    validator.unique(kg, KG_COLUMNS, "triple")


def build_graph(validator: Validator, items: Table, kg: Table, interactions: Table, *,
                user: str, item: str, props: dict[str, pd.Series],
                keep: pd.Series | None = None) -> GraphData:
    """Check the item map and KG, then build Tracks, Users, Entities, LISTENED and KG relations.

    ``keep`` (a mask over ``interactions``) selects the rows that become LISTENED (MKGCN's
    rating threshold); rows whose item has no entity are dropped and counted.
    """
    check_items_and_kg(validator, items, kg)
    validator.id_length(interactions, user)
    valid_items = validator.valid(items)
    entity_of_item = pd.Series(valid_items["entity"].to_numpy(), index=valid_items["item"].to_numpy())

    # interactions: unknown item -> dropped (KGCN); item row rejected -> cascaded
    known = interactions.frame[item].isin(items.frame["item"])
    rejected_items = known & ~interactions.frame[item].isin(entity_of_item.index)
    validator.add_rows(interactions, rejected_items, item, [
        f"{item} {v!r} refers to a rejected row of {items.name}"
        for v in interactions.frame[item][rejected_items]
    ], cascaded=True)
    # KG: an entity of a rejected item row would silently become an Entity node -> cascaded
    bad_entities = items.frame["entity"][validator.rejected(items)]
    bad_entities = bad_entities[~bad_entities.isin(valid_items["entity"])]
    for side in ("head", "tail"):
        hit = kg.frame[side].isin(bad_entities)
        validator.add_rows(kg, hit, side, [
            f"entity {v!r} belongs to a rejected row of {items.name}" for v in kg.frame[side][hit]
        ], cascaded=True)

    data = GraphData()
    data.nodes.append(NodeSet(Label.TRACK, property_frame(
        {"id": valid_items["item"], Prop.ENTITY_ID.value: valid_items["entity"]})))
    rows = validator.valid(interactions)
    if keep is not None:
        kept = keep.loc[rows.index].to_numpy()
        if not kept.all():
            data.dropped[DROPPED_BELOW_THRESHOLD] = int((~kept).sum())
        rows = rows[kept]
    dropped = ~rows[item].isin(entity_of_item.index)
    if dropped.any():
        data.dropped[DROPPED_NO_ENTITY] = int(dropped.sum())
    rows = rows[~dropped]

    triples = validator.valid(kg)
    item_of_entity = pd.Series(entity_of_item.index.to_numpy(), index=entity_of_item.to_numpy())
    ends = {}
    for side in ("head", "tail"):
        is_item = triples[side].isin(item_of_entity.index)
        ends[side] = (is_item, triples[side].map(item_of_entity).where(is_item, triples[side]))
    entities = pd.concat([triples["head"][~ends["head"][0]], triples["tail"][~ends["tail"][0]]])
    data.nodes.append(NodeSet(Label.USER, property_frame({"id": rows[user].unique()})))
    if len(entities):
        data.nodes.append(NodeSet(Label.ENTITY, property_frame({"id": entities.unique()})))

    if len(rows):
        columns = {"src": rows[user], "dst": rows[item]}
        columns.update({k: v.loc[rows.index] for k, v in props.items()})
        data.relationships.append(RelSet(RelType.LISTENED, Label.USER, Label.TRACK,
                                         property_frame(columns)))
    frame = pd.DataFrame({
        "src": ends["head"][1], "dst": ends["tail"][1], "relation": triples["relation"],
        "src_label": ends["head"][0].map({True: Label.TRACK, False: Label.ENTITY}),
        "dst_label": ends["tail"][0].map({True: Label.TRACK, False: Label.ENTITY}),
    })
    for (relation, src, dst), group in frame.groupby(["relation", "src_label", "dst_label"], sort=True):
        data.relationships.append(RelSet(relation, Label(src), Label(dst),
                                         property_frame({"src": group["src"], "dst": group["dst"]})))
    return data
