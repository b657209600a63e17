"""``mmkg train --init-from RUN``: a run starts from a previous run's weights, rows matched by
id (users, tracks, KG entities, relations), rows of new ids freshly initialised."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import TrainError
from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.fit import fit
from mmkg.train.model import build_model
from mmkg.train.run_folder import RunFolder
from tests.synthetic_export import make_export

torch.set_num_threads(1)


def _config(**kw) -> TrainConfig:
    return TrainConfig.load(overrides={"epochs": 2, "lr": 0.01, "batch_size": 32, "patience": 2, **kw})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Yesterday's export and run (48 users, 64 tracks), and today's export: 52 users and 70
    tracks, its user and track rows in reverse order (so no id keeps its row number)."""
    tmp = tmp_path_factory.mktemp("warm")
    old = make_export().save(tmp / "old")
    fit(TrainData.from_export(make_export()), _config(), tmp / "run-old", export_path=old,
        progress=False)
    new = make_export(n_users=52, n_items=70, seed=1)
    new.id_maps = {**new.id_maps, "User": new.id_maps["User"][::-1], "Track": new.id_maps["Track"][::-1]}
    new.save(tmp / "new")
    return tmp, old, tmp / "new", tmp / "run-old"


def test_rows_come_from_the_previous_run_by_id_and_new_ids_are_fresh(runs):
    tmp, _, new, previous = runs
    data = TrainData.from_export(make_export(n_users=52, n_items=70, seed=1))
    data.user_ids, data.item_ids = data.user_ids[::-1], data.item_ids[::-1]
    config = _config(epochs=0)  # no training: the saved model is the warm-started one
    result = fit(data, config, tmp / "run-new", export_path=new, init_from=previous, progress=False)
    assert result["init_from"]["rows"]["user.weight"] == {"kept": 48, "fresh": 4}
    assert result["init_from"]["rows"]["entity.weight"]["fresh"] == 6  # 6 new tracks
    old = RunFolder(previous).load_model().state_dict
    got = RunFolder(tmp / "run-new").load_model().state_dict
    torch.manual_seed(config.seed)
    fresh = build_model(config.model, data, np.random.default_rng(config.seed)).state_dict()
    for row, user in enumerate(data.user_ids):
        index = int(user[1:])
        expected = old["user.weight"][index] if index < 48 else fresh["user.weight"][row]
        assert torch.equal(got["user.weight"][row], expected), user
    for row, track in enumerate(data.item_ids):  # tracks are the first entities
        index = int(track[1:])
        expected = old["entity.weight"][index] if index < 64 else fresh["entity.weight"][row]
        assert torch.equal(got["entity.weight"][row], expected), track
    assert torch.equal(got["entity.weight"][70:], old["entity.weight"][64:])  # artists, tags, ...
    assert torch.equal(got["relation.weight"], old["relation.weight"])
    others = [k for k in old if k not in ("user.weight", "entity.weight", "relation.weight")]
    assert others and all(torch.equal(got[k], old[k]) for k in others)


def test_a_warm_start_trains_on_from_the_previous_weights(runs):
    tmp, old_export, _, previous = runs
    data = TrainData.from_export(make_export())
    warm = fit(data, _config(epochs=1), tmp / "warm", export_path=old_export, init_from=previous,
               progress=False)
    cold = fit(data, _config(epochs=1), tmp / "cold", export_path=old_export, progress=False)
    assert warm["history"][0]["loss"] < cold["history"][0]["loss"]


def test_another_architecture_or_model_is_one_line(runs):
    tmp, old_export, _, previous = runs
    out = CliRunner().invoke(cli, ["train", "--export", str(old_export), "--out", str(tmp / "d32"),
                                   "--init-from", str(previous), "--set", "model.dim=32", "--set", "epochs=1",
                                   "--quiet"])
    assert out.exit_code == 1 and len(out.output.strip().splitlines()) == 1
    assert "another architecture" in out.output
    with pytest.raises(TrainError, match="holds another model"):
        fit(TrainData.from_export(make_export()), _config(**{"model.name": "bpr"}), tmp / "bpr",
            export_path=old_export, init_from=previous, progress=False)


def test_a_warm_start_defaults_to_a_short_schedule_that_flags_override(runs):
    """``--init-from`` reads ``train/configs/warm_start.toml`` (10 epochs at lr 1e-3) above the
    model's defaults; ``--set`` still wins."""
    tmp, old_export, _, previous = runs
    for name, extra, epochs in (("warm-defaults", [], 10), ("warm-set", ["--set", "epochs=1"], 1)):
        out = CliRunner().invoke(cli, ["train", "--export", str(old_export), "--out", str(tmp / name),
                                       "--init-from", str(previous), "--set", "batch_size=64",
                                       "--set", "patience=1", *extra, "--quiet"])
        assert out.exit_code == 0, out.output
        config = json.loads((tmp / name / "config.json").read_text())
        assert (config["epochs"], config["lr"]) == (epochs, 1e-3)


def test_a_warm_start_counts_the_evaluated_listens_the_previous_run_trained_on(runs, caplog):
    """Today's export splits each user's listens anew: the previous run's training listens that
    are now validation or test listens are counted (``metrics.json`` ``init_from.seen``) and
    named in a warning, as the figures they enter flatter the warm start. On the export the
    previous run was trained on, none."""
    import logging

    tmp, old_export, _, previous = runs
    with caplog.at_level(logging.WARNING, logger="mmkg.train.fit"):
        same = fit(TrainData.from_export(make_export()), _config(epochs=0), tmp / "same",
                   export_path=old_export, init_from=previous, progress=False)
    assert {part["seen"] for part in same["init_from"]["seen"].values()} == {0}
    assert not [r for r in caplog.records if "flatter" in r.getMessage()]

    resplit = make_export()  # the same listens, yesterday's training listens now tested
    resplit.split = {**resplit.split, "train": resplit.split["test"], "test": resplit.split["train"]}
    resplit.save(tmp / "resplit")
    with caplog.at_level(logging.WARNING, logger="mmkg.train.fit"):
        result = fit(TrainData.from_export(resplit), _config(epochs=0), tmp / "resplit-run",
                     export_path=tmp / "resplit", init_from=previous, progress=False)
    trained = len(make_export().split["train"])
    assert result["init_from"]["seen"]["test"] == {"seen": trained, "listens": trained}
    assert result["init_from"]["seen"]["valid"]["seen"] == 0  # the previous run was not refit
    [warning] = [r.getMessage() for r in caplog.records if "flatter" in r.getMessage()]
    assert f"{trained:,} of the {trained + len(resplit.split['valid']):,} validation and test" in warning
