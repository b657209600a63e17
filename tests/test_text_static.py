"""The opt-in static lyrics recipe (``lyrics_static``) and the ``media.features`` setting that
chooses it: its vectors, its word-piece table, and a switch of recipe in Neo4j."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.config import MEDIA, MediaSettings, load_settings
from mmkg.ingest.features import extract
from mmkg.ingest.features import text_static
from mmkg.ingest.features.compute import compute_missing_features
from mmkg.ingest.features.registry import chosen_extractors
from mmkg.registry import UnknownName
from mmkg.sample_catalog import generate_sample_catalog
from tests.conftest import count

STATIC = MediaSettings(features=("lyrics_static", "lyrics_vader", "cover_color", "audio_librosa"))


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    """This machine's word-piece table, built (once) under the test home."""
    path = text_static.table_path()
    stamp = path.stat().st_mtime_ns
    assert text_static.table_path() == path and path.stat().st_mtime_ns == stamp  # not rebuilt
    return np.load(path)


def test_the_table_holds_minilms_output_at_each_pieces_position(table):
    import torch
    from transformers import AutoModel

    from mmkg.ingest.features.text import load_tokenizer, weights_folder

    tokenizer = load_tokenizer()
    assert table.shape == (tokenizer.get_vocab_size(), 384) and table.dtype == np.float32
    model = AutoModel.from_pretrained(str(weights_folder()), local_files_only=True).eval()
    for word in ("love", "rain", "##ing"):
        piece = tokenizer.token_to_id(word)
        ids = torch.tensor([[tokenizer.token_to_id("[CLS]"), piece, tokenizer.token_to_id("[SEP]")]])
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                           token_type_ids=torch.zeros_like(ids)).last_hidden_state[0, 1]
        assert np.allclose(table[piece], hidden.numpy(), atol=1e-4), word


def test_a_lyric_is_the_zipf_weighted_sum_of_its_pieces(table):
    from mmkg.ingest.features.text import load_tokenizer

    tokenizer = load_tokenizer()
    ids = [tokenizer.token_to_id(p) for p in ("[CLS]", "the", "rain", "[SEP]")]
    weights = np.log1p(np.maximum(np.array(ids) - tokenizer.token_to_id("the"), 1))
    expected = weights @ table[ids].astype(np.float64)
    (vector,) = text_static.embed(["The rain"], table=table)
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-6)
    assert weights[1] < weights[2]  # "the" is more frequent than "rain": it weighs less


def test_static_vectors_follow_word_choice_and_read_every_line(table):
    v = text_static.embed([
        "I love you more than words can say, my darling",
        "My darling, words cannot say how much I love you",
        "Quarterly revenue fell because shipping costs went up",
    ], table=table)
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > 0.85  # the same words in another order
    assert v[0] @ v[1] > v[0] @ v[2] + 0.5
    verse = "we walk along the quiet road tonight\n" * 40  # past MiniLM's 256 pieces
    happy, sad = text_static.embed([verse + "joy and sunshine, wonderful love\n" * 20,
                                    verse + "tears and sorrow, broken and lonely\n" * 20], table=table)
    assert float(happy @ sad) < 0.98


def test_the_static_recipe_recovers_the_planted_mood(tmp_path, table):
    """The sample catalog plants mood in the lyrics' words: a track's nearest lyrics share it."""
    generate_sample_catalog(tmp_path, tracks=120, users=5, seed=3, media=True, overwrite=True)
    tracks = pd.read_csv(tmp_path / "tracks.csv").dropna(subset=["lyrics"])
    mood = pd.read_csv(tmp_path / "ground_truth" / "tracks.csv").set_index("track_id")["mood"]
    vectors = text_static.embed([(tmp_path / p).read_text() for p in tracks["lyrics"]], table=table)
    spread = vectors.std(0)  # MiniLM leaves two of its 384 outputs at ~1e-32: no spread
    x = (vectors - vectors.mean(0))[:, spread > 1e-9] / spread[spread > 1e-9]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    labels = mood.loc[tracks["id"]].to_numpy()
    near = np.argsort(-sim, axis=1)[:, :10]
    assert np.mean(labels[near] == labels[:, None]) >= 0.7  # chance: about 0.25


def test_the_features_setting_chooses_the_extractors(tmp_path):
    lyrics = tmp_path / "a.txt"
    lyrics.write_text("joy and sunshine\nwonderful love\n")
    assert [e.spec.name for e in chosen_extractors("lyrics", MEDIA)] == ["lyrics_minilm",
                                                                         "lyrics_vader"]
    sets = extract("lyrics", [lyrics], ["a"], STATIC)
    assert [fs.name for fs in sets] == ["lyrics_static", "lyrics_vader"]
    assert sets[0].version == text_static.SPEC.version
    with pytest.raises(UnknownName, match="^unknown feature 'lyrics_bert'; expected one of "
                                          "lyrics_minilm, lyrics_static, lyrics_vader, "):
        chosen_extractors("lyrics", MediaSettings(features=("lyrics_bert",)))


@pytest.mark.parametrize("written, features", [
    ("lyrics_static, lyrics_vader,cover_color", ("lyrics_static", "lyrics_vader", "cover_color")),
    ('["lyrics_static", "audio_librosa"]', ("lyrics_static", "audio_librosa")),
    ("", None),       # an empty variable is the default, not "compute nothing, remove everything"
    (" , ", None),
    ("[]", ()),       # said as a list, it is meant
])
def test_the_features_setting_reads_a_comma_separated_list(monkeypatch, written, features):
    monkeypatch.setenv("MMKG_MEDIA_FEATURES", written)
    assert load_settings().media.features == features


@pytest.mark.usefixtures("empty_db")
def test_switching_recipe_replaces_the_other_recipes_vectors(driver, database, tmp_path, caplog,
                                                             monkeypatch):
    catalog = tmp_path / "catalog"
    generate_sample_catalog(catalog, tracks=12, users=3, seed=5, media=True, overwrite=True)
    result = CliRunner().invoke(cli, ["ingest", "--format", "catalog", "--no-features", str(catalog)])
    assert result.exit_code == 0, result.output
    with_lyrics = count(driver, database, "MATCH (t:Track) WHERE t.lyrics IS NOT NULL "
                                          "RETURN count(t) AS n")
    names = "MATCH (f:Feature) RETURN count(f.name = $name OR null) AS n"

    first = compute_missing_features(driver, database, only=["lyrics"], progress=False)
    assert first == {"lyrics_minilm": with_lyrics, "lyrics_vader": with_lyrics}
    with caplog.at_level(logging.WARNING):
        switched = compute_missing_features(driver, database, only=["lyrics"], progress=False,
                                            settings=STATIC)
    # a track with a lyrics feature due gets all of them again (VADER's are the same values)
    assert switched == {"lyrics_static": with_lyrics, "lyrics_vader": with_lyrics}
    assert count(driver, database, names, name="lyrics_minilm") == 0
    assert count(driver, database, names, name="lyrics_static") == with_lyrics
    assert f"removed {with_lyrics} feature vector(s) of lyrics_minilm" in caplog.text
    assert compute_missing_features(driver, database, only=["lyrics"], progress=False,
                                    settings=STATIC) == {"lyrics_static": 0, "lyrics_vader": 0}

    lyrics_only = MediaSettings(features=("lyrics_static", "lyrics_vader"))
    assert compute_missing_features(driver, database, only=["cover"], progress=False,
                                    settings=lyrics_only) == {}  # no cover feature chosen
    assert count(driver, database, "MATCH (f:Feature:Image) RETURN count(f) AS n") == 0

    monkeypatch.setenv("MMKG_MEDIA_FEATURES", '["lyrics_bert"]')
    bad = CliRunner().invoke(cli, ["features", "--no-progress"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "unknown feature 'lyrics_bert'" in bad.output
    assert len(bad.output.strip().splitlines()) == 1, bad.output
    monkeypatch.delenv("MMKG_MEDIA_FEATURES")
    back = CliRunner().invoke(cli, ["features", "--only", "lyrics", "--no-progress"])
    assert back.exit_code == 0, back.output
    assert count(driver, database, names, name="lyrics_static") == 0
    assert count(driver, database, names, name="lyrics_minilm") == with_lyrics


def test_features_list_shows_what_is_computed_and_held(empty_db, database, tmp_path, monkeypatch):
    driver = empty_db
    catalog = tmp_path / "catalog"
    generate_sample_catalog(catalog, tracks=10, users=2, seed=6, media=True, overwrite=True)
    assert CliRunner().invoke(cli, ["ingest", "--format", "catalog", "--no-features", str(catalog)]).exit_code == 0
    compute_missing_features(driver, database, only=["lyrics"], progress=False)
    held = count(driver, database, "MATCH (f:Feature {name: 'lyrics_minilm'}) RETURN count(f) AS n")
    assert held > 1
    with driver.session(database=database) as session:  # one vector of an older recipe, one foreign feature
        session.run("MATCH (f:Feature {name: 'lyrics_minilm'}) WITH f LIMIT 1 SET f.version = 'old'").consume()
        session.run("MATCH (t:Track) WITH t LIMIT 1 CREATE (t)-[:HAS_FEATURE]->"
                    "(:Feature:Text {id: 'x', name: 'lyrics_bert', version: '1'})").consume()

    monkeypatch.setenv("MMKG_MEDIA_FEATURES", '["lyrics_static", "lyrics_vader"]')
    listed = CliRunner().invoke(cli, ["features", "--list"])
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[0]: line.split() for line in listed.output.splitlines()[1:]}
    assert list(lines) == ["lyrics_minilm", "lyrics_static", "lyrics_vader", "cover_color", "audio_librosa",
                           "lyrics_bert"]
    assert lines["lyrics_minilm"][4:7] == ["no", str(held - 1), "1"]
    assert lines["lyrics_static"][4:8] == ["yes", "(opt-in)", "0", "0"]
    assert lines["lyrics_vader"][4:7] == ["yes", str(held), "0"]
    assert lines["cover_color"][4:7] == ["no", "0", "0"]
    assert lines["lyrics_bert"][1:] == ["-", "-", "-", "not", "registered", "1", "-", "-"]
    assert count(driver, database, "MATCH (f:Feature {name: 'lyrics_static'}) RETURN count(f) AS n") == 0  # computes nothing
