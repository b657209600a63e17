"""Every label, relationship type and property spelled in ``cypher/*.cypher`` comes from mmkg.schema."""

from __future__ import annotations

import re

import pytest

from mmkg.graph.queries import CYPHER_DIR
from mmkg.schema import Label, Modality, Prop, RelType

#: Placeholders that writers replace with a validated, quoted schema name.
TEMPLATE = re.compile(r"^__[A-Z]+__$")
#: Variables that hold maps or namespaces rather than graph entities.
NOT_ENTITIES = {"db", "gds", "row", "vector", "item", "props", "params", "rec"}

FILES = sorted(CYPHER_DIR.rglob("*.cypher"))


def _code(path) -> str:
    text = "\n".join(line.split("//")[0] for line in path.read_text().splitlines())
    return re.sub(r"'[^']*'|\"[^\"]*\"", "''", text)  # string literals are data, not names


def _names(code: str) -> tuple[set[str], set[str], set[str]]:
    labels, rels, props = set(), set(), set()
    for m in re.finditer(r"\(\s*\w*\s*:\s*([A-Za-z_|:`]+)", code):
        labels.update(x.strip("`") for x in re.split(r"[|:]", m.group(1)) if x)
    for m in re.finditer(r"\b\w+\s*:\s*([A-Z][A-Za-z_]*)\b", code):  # SET n:Label / WHERE n:Label
        if m.group(1)[0].isupper() and not m.group(1).isupper():
            labels.add(m.group(1))
    for m in re.finditer(r"\[\s*\w*\s*:\s*([A-Za-z_|`.]+)", code):
        rels.update(x.strip("`") for x in m.group(1).split("|") if x)
    for m in re.finditer(r"\b([a-z]\w*)\.([a-z_]\w*)\b(?!\s*\()", code):
        if m.group(1) not in NOT_ENTITIES:
            props.add(m.group(2))
    for m in re.finditer(r"\(\s*\w*\s*:[^){]*\{([^}]*)\}", code):  # (n:Label {key: ...})
        props.update(re.findall(r"([a-z_]\w*)\s*:", m.group(1)))
    return labels, rels, props


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_cypher_file_uses_schema_names(path):
    labels, rels, props = _names(_code(path))
    known_labels = {x.value for x in Label} | {x.value for x in Modality}
    assert {x for x in labels if not TEMPLATE.match(x)} <= known_labels
    assert {x for x in rels if not TEMPLATE.match(x)} <= {x.value for x in RelType}
    props = {x for x in props if not TEMPLATE.match(x)}
    assert props <= {x.value for x in Prop}, f"{path.name}: {props - {x.value for x in Prop}}"


def test_there_are_query_files():
    assert {"schema", "recommend", "similar_tracks", "cold_start", "explain"} <= {p.stem for p in FILES}


def test_render_quotes_identifiers_and_refuses_bad_slots():
    from mmkg.graph import TrustedCypher, load_query, render

    query = render("upsert_nodes", label=Label.TRACK)
    assert "(n:`Track` {id: row.id})" in query and "__" not in query
    assert "`a``b`" in render("schema_drop_index", name="a`b")  # cannot end its slot early
    where = render("export_tracks_where", predicate=TrustedCypher("t.year > 2000"))
    assert "WHERE (t.year > 2000)" in where
    with pytest.raises(ValueError, match="unfilled slot"):
        render("merge_relationships", src=Label.TRACK, dst=Label.ARTIST)
    with pytest.raises(ValueError, match="no slot __LABEL__"):
        render("recommend", label=Label.TRACK)
    assert "//" not in load_query("recommend")  # comments stripped
