"""``mmkg train --refit``: the published top-K excludes every listen; the evaluated run's metrics stay."""

import json

import numpy as np
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.train.data import TrainData
from mmkg.train.fit import all_listens
from mmkg.train.run_folder import RunFolder
from tests.synthetic_export import make_export

torch.set_num_threads(1)


def test_all_listens_is_train_valid_and_test_once_each():
    data = TrainData.from_export(make_export())
    everything = all_listens(data)
    expected = {tuple(p) for k in ("train", "valid", "test") for p in data.split[k]}
    assert {tuple(p) for p in everything.train} == expected and len(everything.train) == len(expected)
    assert len(everything.split["valid"]) == len(everything.split["test"]) == 0


def test_cli_refit_excludes_every_listen_and_keeps_the_metrics(tmp_path):
    export = make_export()
    export.save(tmp_path / "export")
    args = ["train", "--export", str(tmp_path / "export"), "--seed", "3", "--set", "epochs=3", "--set", "model.dim=16",
            "--set", "lr=0.01", "--quiet"]
    runner = CliRunner()
    plain, refit = tmp_path / "plain", tmp_path / "refit"
    assert runner.invoke(cli, [*args, "--out", str(plain)]).exit_code == 0
    result = runner.invoke(cli, [*args, "--out", str(refit), "--refit"])
    assert result.exit_code == 0, result.output
    assert "refit on all" in result.output

    before, after = (json.loads((run / RunFolder.METRICS).read_text()) for run in (plain, refit))
    assert after["valid"] == before["valid"] and after["test"] == before["test"]
    assert after["refit"]["epochs"] == before["best_epoch"]
    listens = np.concatenate([export.split[k] for k in ("train", "valid", "test")])
    assert after["refit"]["listens"] == len(listens)

    held_out = np.concatenate([export.split["valid"], export.split["test"]])
    for run, leaks in ((plain, True), (refit, False)):
        emb = RunFolder(run).load_embeddings()
        listed = {(u, int(i)) for u in range(len(emb.user_ids)) for i in emb.topk_items[u] if i >= 0}
        assert bool(listed & {tuple(p) for p in held_out.tolist()}) == leaks
        assert not listed & {tuple(p) for p in listens.tolist()} or leaks
