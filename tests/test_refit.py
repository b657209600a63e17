"""``mmkg train --refit``: the published top-K excludes every listen; the evaluated run's metrics stay."""

import json

import numpy as np
import pytest
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


def test_an_interrupted_refit_is_refused_by_publish_until_the_named_command_completes_it(
        tmp_path, monkeypatch):
    """Ctrl-C during the refit left the evaluated run's embeddings.pt (its top-K lists hold
    held-out listens), which publish wrote without a word, after a bare `Aborted!`. Now train
    says how to complete it, the run folder records that the refit is due (config.json's
    refit, no metrics.json refit), publish refuses it naming that command, and the command
    completes the refit."""
    import shlex

    from mmkg.errors import RunFolderError
    from mmkg.publish.writer import read_run
    from mmkg.train import fit

    export = make_export()
    export.save(tmp_path / "my export")
    run = tmp_path / "run rel"
    real_refit = fit.refit

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("mmkg.train.runner.refit", interrupted)
    result = CliRunner().invoke(cli, ["train", "--export", str(tmp_path / "my export"), "--out", str(run),
                                      "--seed", "3", "--set", "epochs=2", "--set", "model.dim=16",
                                      "--quiet", "--refit"])
    assert result.exit_code == 130, result.output
    last = result.output.strip().splitlines()[-1]
    again = shlex.join(["mmkg", "train", "--resume", "--out", str(run), "--export", str(tmp_path / "my export")])
    assert last == f"Error: interrupted during the refit: `{again}` completes it"
    assert RunFolder(run).load_config()["refit"] is True and "refit" not in RunFolder(run).load_metrics()
    with pytest.raises(RunFolderError) as refused:
        read_run(run)
    assert str(refused.value) == (f"{run}: trained with --refit, and its refit has not finished (its "
                                  f"top-K lists would hold tracks users listened to); `{again}` completes it")

    monkeypatch.setattr("mmkg.train.runner.refit", real_refit)
    result = CliRunner().invoke(cli, shlex.split(again)[1:] + ["--quiet"])
    assert result.exit_code == 0, result.output
    assert "refit on all" in result.output
    published = read_run(run).embeddings
    listens = {tuple(p) for k in ("train", "valid", "test") for p in export.split[k].tolist()}
    listed = {(u, int(i)) for u in range(len(published.user_ids)) for i in published.topk_items[u] if i >= 0}
    assert not listed & listens
