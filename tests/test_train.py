"""Training end to end on a synthetic export: learning, determinism, resume, leakage, CLI."""

import json
import logging

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import TrainError
from tests.synthetic_export import make_export
from mmkg.train.model import build_model
from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.fit import fit
from mmkg.train.run_folder import RunFolder
from mmkg.train.sampling import NegativeSampler

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data() -> TrainData:
    return TrainData.from_export(make_export())


def _config(model: str = "mkgcn", **kw) -> TrainConfig:
    """``model``'s config (its defaults file included) with fast settings and ``kw`` over it."""
    return TrainConfig.load(overrides={"model.name": model, "epochs": 8, "lr": 0.01, "batch_size": 32,
                                       "patience": 8, **kw})


@pytest.mark.parametrize("model", ["mkgcn", "mkgcn-paper"])
def test_mkgcn_learns_the_signal(data, tmp_path, model):
    result = fit(data, _config(model, epochs=12, patience=12), tmp_path, progress=False)
    assert result["test"]["auc"] > 0.65
    assert result["test"]["recall@20"] > 0.5                     # 20 of 64 items at random: ~0.31
    assert len(result["history"]) == 12 and result["history"][-1]["loss"] < result["history"][0]["loss"]


def test_same_seed_same_metrics(data, tmp_path):
    a = fit(data, _config(epochs=2, seed=7), tmp_path / "a", progress=False)
    b = fit(data, _config(epochs=2, seed=7), tmp_path / "b", progress=False)
    c = fit(data, _config(epochs=2, seed=8), tmp_path / "c", progress=False)
    assert a["test"] == b["test"] and a["valid"] == b["valid"]
    assert a["test"] != c["test"]


def test_resume_equals_an_uninterrupted_run(data, tmp_path):
    straight = fit(data, _config(epochs=4), tmp_path / "straight", progress=False)
    fit(data, _config(epochs=2), tmp_path / "resumed", progress=False)
    resumed = fit(data, _config(epochs=4), tmp_path / "resumed", resume=True, progress=False)
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in straight["history"]]
    assert resumed["test"] == straight["test"]


def test_resume_refuses_an_export_split_otherwise(tmp_path):
    """The checkpoint records what the export it trained on was (its manifest's split, seed,
    graph): ``--resume`` on an export split otherwise would select and test on listens the
    checkpoint trained on, so it is refused; the same export moved resumes."""
    import shutil

    from mmkg.errors import TrainError

    make_export().save(tmp_path / "export")
    make_export(seed=1).save(tmp_path / "other-split")
    data = TrainData.from_export(make_export())
    fit(data, _config(epochs=2), tmp_path / "run", export_path=tmp_path / "export", progress=False)
    with pytest.raises(TrainError, match=r"--resume: .*other-split is not the export .* started on: "
                                         r"it differs in split .*train into a new --out"):
        fit(TrainData.from_export(make_export(seed=1)), _config(epochs=3), tmp_path / "run",
            export_path=tmp_path / "other-split", resume=True, progress=False)
    shutil.copytree(tmp_path / "export", tmp_path / "moved")
    resumed = fit(data, _config(epochs=3), tmp_path / "run", export_path=tmp_path / "moved",
                  resume=True, progress=False)
    assert resumed["epochs_run"] == 3


def test_an_export_without_validation_listens_is_refused_and_without_test_says_so(tmp_path):
    """No validation listens (``--ratios 8:0:2``, or users too short for a validation share):
    selection had nothing to select on and kept epoch 0, and ``--refit`` then published an
    untrained model; now one line, and no run folder. No test listens: the validation figures,
    and a caption instead of an empty table. A model that does not train needs no validation."""
    empty = np.empty((0, 2), dtype=np.int64)
    for name, parts in (("no-valid", ("valid", "valid_neg")), ("no-test", ("test", "test_neg"))):
        export = make_export()
        export.split = {**export.split, **{part: empty for part in parts}}
        export.save(tmp_path / name)

    def train(export: str, *args: str):
        return CliRunner().invoke(cli, ["train", "--export", str(tmp_path / export), "--out",
                                        str(tmp_path / f"run-{export}-{len(args)}"), "--set",
                                        "epochs=1", "--set", "model.dim=8", "--quiet", *args])

    refused = train("no-valid")
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1, refused.output
    assert "holds no validation listens, and `mmkg train` selects its epoch on them" in refused.output
    assert not (tmp_path / "run-no-valid-0").exists()
    assert train("no-valid", "--model", "pop").exit_code == 0
    untested = train("no-test")
    assert untested.exit_code == 0, untested.output
    assert "no test listens: no test figures" in " ".join(untested.output.split())
    assert "│ recall@20" in untested.output and "│    – │" in untested.output


def test_no_validation_or_test_pair_reaches_training(data, tmp_path):
    train = {tuple(p) for p in data.split["train"]}
    held_out = {tuple(p) for k in ("valid", "test") for p in data.split[k]}
    paper = build_model(_config(model="mkgcn-paper").model, data, np.random.default_rng(0))
    # the paper model's user histories: training pairs only
    hist, mask = paper.history, paper.history_mask
    pairs = {(u, int(i)) for u in range(data.n_users) for i in hist[u][mask[u]]}
    assert pairs <= train and not pairs & held_out
    # the ranking model's user–item graph: exactly the training pairs
    ranking = build_model(_config().model, data, np.random.default_rng(0))
    rows, cols = ranking.adj.to_sparse_coo().indices()
    edges = {(int(r), int(c) - data.n_users) for r, c in zip(rows, cols) if r < data.n_users}
    assert edges == train
    # the KG the neighbour tables come from has no user and no interaction
    assert data.kg[:, [0, 2]].max() < data.n_entities and data.n_entities == 64 + 8 + 4 + 2
    # popularity for negative sampling counts training interactions only
    assert np.array_equal(data.popularity(), np.bincount(data.split["train"][:, 1], minlength=64))
    # and training itself never reads valid/test: scramble them, the trained weights are identical
    scrambled = TrainData(**{**data.__dict__, "split": {
        **data.split, **{k: np.roll(data.split[k], 3, axis=0)[:, ::-1].copy() % [48, 64]
                         for k in ("valid", "test", "valid_neg", "test_neg")}}})
    fit(data, _config(epochs=2), tmp_path / "a", progress=False)
    fit(scrambled, _config(epochs=2), tmp_path / "b", progress=False)
    a = RunFolder(tmp_path / "a").load_checkpoint()["model"]
    b = RunFolder(tmp_path / "b").load_checkpoint()["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_negatives_exclude_training_positives_of_the_export(data):
    sampler = NegativeSampler(data.train, data.n_items, ratio=2)
    neg = sampler.sample(np.random.default_rng(0))
    train = {tuple(p) for p in data.train}
    assert not any((u, i) in train for u, row in zip(data.train[:, 0], neg) for i in row)


def test_popularity_ranks_by_training_counts(data, tmp_path):
    from mmkg.train import metrics

    result = fit(data, _config(model="pop"), tmp_path, progress=False)
    counts = np.bincount(data.train[:, 1], minlength=data.n_items)
    pairs = np.concatenate([data.split["test"], data.split["test_neg"]])
    labels = np.r_[np.ones(len(data.split["test"])), np.zeros(len(data.split["test_neg"]))]
    assert result["test"]["auc"] == pytest.approx(metrics.auc(labels, counts[pairs[:, 1]]))


@pytest.mark.parametrize("name", ["bpr", "lightgcn", "kgcn"])
def test_learned_baselines_beat_popularity(data, tmp_path, name):
    """Popularity: test AUC 0.56, Recall@20 0.37 on this export (random Recall@20 ≈ 0.31)."""
    pop = fit(data, _config(model="pop"), tmp_path / "pop", progress=False)["test"]
    result = fit(data, _config(model=name), tmp_path / name, progress=False)["test"]
    assert result["recall@20"] > pop["recall@20"] + 0.15
    assert result["auc"] > pop["auc"] + 0.08
    assert {"auc", "f1", "recall@20", "ndcg@20"} <= set(result)


def test_config_layers_model_defaults_then_files_then_overrides(tmp_path):
    (tmp_path / "a.toml").write_text('epochs = 3\n[model]\nname = "mkgcn-paper"\ndim = 32\n[model.kg]\nhops = 2\n')
    (tmp_path / "b.toml").write_text('lr = 0.01\n[model.kg]\nneighbours = 4\n')
    c = TrainConfig.load([tmp_path / "a.toml", tmp_path / "b.toml"], {"epochs": 4, "model.user.heads": 4})
    # mkgcn-paper.toml gives loss, negatives, fusion; a.toml the model and hops; b.toml merges its
    # [model.kg] into a's; the overrides come last
    assert (c.loss, c.negatives, c.model.fusion, c.model.name, c.model.dim, c.model.kg.hops,
            c.model.kg.neighbours, c.lr, c.epochs, c.model.user.heads) == \
        ("bce", "ratio", "residual", "mkgcn-paper", 32, 2, 4, 0.01, 4, 4)
    plain = TrainConfig.load()
    assert (plain.model.name, plain.loss, plain.model.fusion) == ("mkgcn", "softmax", "add")
    with pytest.raises(TrainError, match=r"^invalid training config: model.name: unknown model 'nope'; "
                                         r"expected one of .*mkgcn-paper"):
        TrainConfig.load(overrides={"model.name": "nope"})
    with pytest.raises(TrainError, match=r"^invalid training config: lr: .*greater than 0"):
        TrainConfig.load(overrides={"lr": -1.0})
    with pytest.raises(TrainError, match=r"^cannot set model.dim.x: model.dim is a value, not a section$"):
        TrainConfig.load(overrides={"model.dim": 8, "model.dim.x": 1})
    with pytest.raises(TrainError, match=r"^invalid training config: model.kg.hop: unknown key"):
        TrainConfig.load(overrides={"model.kg.hop": 2})
    with pytest.raises(TrainError, match=r"^invalid training config: model: Input should be a valid dictionary"):
        TrainConfig.load(overrides={"model": "lightgcn"})                 # the flat form of old configs


def test_a_run_saved_before_a_setting_existed_reloads_with_the_value_it_was_trained_with(tmp_path):
    """``model.kg.gate`` and ``model.kg.hop_mean_if_empty`` came after runs that were trained
    without them (gate 0, the gated mix); mkgcn's defaults file now sets 1 and True. Refit, resume
    and eval rebuild such a run with 0 and False, not today's defaults."""
    from mmkg.train.runner import resolve_config

    assert TrainConfig.load().model.kg.gate == 1.0                      # mkgcn.toml's default
    assert TrainConfig.load().model.kg.hop_mean_if_empty
    saved = TrainConfig.load().model_dump()
    del saved["model"]["kg"]["gate"], saved["model"]["kg"]["hop_mean_if_empty"]   # a config.json of before
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(saved))
    assert TrainConfig.of_run(out / "config.json").model.kg.gate == 0.0
    assert not TrainConfig.of_run(out / "config.json").model.kg.hop_mean_if_empty
    assert TrainConfig.of_run(out / "config.json", {"epochs": 3}).epochs == 3
    assert resolve_config(out, resume=True).model.kg.gate == 0.0
    assert resolve_config(out, resume=True, overrides={"model.kg.gate": 2}).model.kg.gate == 2.0
    assert resolve_config(out).model.kg.gate == 1.0                    # a new run: today's defaults


def test_every_registered_model_has_its_defaults_file():
    from mmkg.train.config import MODELS_DIR
    from mmkg.train.registry import MODELS

    assert sorted(p.stem for p in MODELS_DIR.glob("*.toml")) == sorted(MODELS.names())


@pytest.mark.parametrize("text, expected", [("model.kg.hops=2", ("model.kg.hops", 2)),
                                            ("lr=1e-3", ("lr", 1e-3)),
                                            ("model.name=lightgcn", ("model.name", "lightgcn")),
                                            ('model.name="kgcn"', ("model.name", "kgcn")),
                                            ("model.modality_names=['a', 'b']", ("model.modality_names", ["a", "b"])),
                                            ("valid_topk=false", ("valid_topk", False))])
def test_set_values_are_toml(text, expected):
    from mmkg.train.config import parse_set

    assert parse_set(text) == expected


def test_cli_train_then_eval(tmp_path):
    make_export().save(tmp_path / "export")
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(cli, ["train", "--out", str(out), "--seed", "3", "--export", str(tmp_path / "export"),
                                 "--set", "epochs=2", "--set", "lr=0.01", "--set", "model.fusion=mean",
                                 "--set", "model.dim=16", "--quiet"])
    assert result.exit_code == 0, result.output
    for name in (RunFolder.CONFIG, RunFolder.METRICS, RunFolder.MODEL, RunFolder.CURVES,
                 RunFolder.EMBEDDINGS, RunFolder.CHECKPOINT):
        assert (out / name).exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"auc", "f1", "recall@20", "ndcg@20"} <= set(metrics["test"])
    assert json.loads((out / "config.json").read_text())["model"]["fusion"] == "mean"

    emb = RunFolder(out).load_embeddings()
    assert emb.track.shape == (64, 16) and emb.user.shape == (48, 16)
    assert len(emb.track_ids) == 64 and emb.topk_items.shape == (48, 64)  # K capped at n_items
    train = make_export().split["train"]
    n_train = np.bincount(train[:, 0], minlength=48)
    for u in range(48):                                 # training tracks are padding (-1), never listed
        listed = emb.topk_items[u][emb.topk_items[u] >= 0]
        assert len(listed) == 64 - n_train[u] and not set(listed.tolist()) & set(train[train[:, 0] == u, 1])

    result = runner.invoke(cli, ["eval", "--run", str(out), "--json"])
    assert result.exit_code == 0, result.output
    again = json.loads(result.output[result.output.index("{"):])
    assert again["test"] == pytest.approx(metrics["test"])


def test_cli_train_names_the_modalities_once(tmp_path, caplog, data):
    """One INFO line names the modalities a training reads; the refit's second read of the same
    export (and a publish's, for new tracks) says nothing more at INFO."""
    make_export().save(tmp_path / "export")
    with caplog.at_level(logging.INFO):
        result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "run"), "--export",
                                          str(tmp_path / "export"), "--set", "epochs=1",
                                          "--set", "model.dim=8", "--refit", "--quiet"])
    assert result.exit_code == 0, result.output
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert [m for m in lines if "modalit" in m] == [data.modalities_line()]
    assert data.modalities_line().startswith("modalities: ") and "-d on " in data.modalities_line()


def test_eval_takes_the_export_moved_and_refuses_another_split_or_graph(tmp_path):
    """``mmkg eval --export``: a copy of the export the run was trained on evaluates as the
    original does; an export split otherwise (its test listens may be training listens of the
    model) or of another graph is one clear line, not metrics or a traceback."""
    import shutil

    make_export().save(tmp_path / "export")
    make_export(seed=1).save(tmp_path / "other-split")
    make_export(n_users=40).save(tmp_path / "other-graph")
    run = tmp_path / "run"
    trained = CliRunner().invoke(cli, ["train", "--out", str(run), "--export", str(tmp_path / "export"),
                                       "--set", "epochs=1", "--set", "model.dim=8", "--quiet"])
    assert trained.exit_code == 0, trained.output

    def evaluate(export: str):
        return CliRunner().invoke(cli, ["eval", "--run", str(run), "--export", str(tmp_path / export), "--json"])

    original = CliRunner().invoke(cli, ["eval", "--run", str(run), "--json"])
    shutil.copytree(tmp_path / "export", tmp_path / "moved")
    moved = evaluate("moved")
    assert moved.exit_code == 0 and original.exit_code == 0, moved.output + original.output
    assert json.loads(moved.output) == json.loads(original.output)

    split = evaluate("other-split")
    assert split.exit_code == 1 and len(split.output.strip().splitlines()) == 1, split.output
    assert "differs in split" in split.output and "listens may be ones the model trained on" in split.output
    graph = evaluate("other-graph")
    assert graph.exit_code == 1 and len(graph.output.strip().splitlines()) == 1, graph.output
    assert "is not the graph" in graph.output and "(40 users, 64 tracks;" in graph.output
    shutil.rmtree(tmp_path / "export")  # the recorded export gone: a moved copy still evaluates
    assert json.loads(evaluate("moved").output) == json.loads(original.output)


def test_cli_model_paper_trains_the_paper_model_with_its_defaults(tmp_path):
    make_export().save(tmp_path / "export")
    (tmp_path / "c.toml").write_text("epochs = 5\n[model]\ndim = 8\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--model", "mkgcn-paper", "--config", str(tmp_path / "c.toml"),
                                      "--out", str(out), "--export", str(tmp_path / "export"),
                                      "--set", "epochs=1", "--set", "model.kg.aggregator=concat", "--quiet"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert (config["model"]["name"], config["loss"], config["negatives"], config["neg_ratio"], config["epochs"],
            config["model"]["dim"], config["model"]["kg"]["aggregator"]) == \
        ("mkgcn-paper", "bce", "ratio", 1, 1, 8, "concat")


def test_resume_with_another_architecture_is_one_line_and_touches_nothing(tmp_path):
    make_export().save(tmp_path / "export")
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--seed", "3", "--export", str(tmp_path / "export"),
            "--set", "epochs=2", "--set", "lr=0.01", "--set", "model.dim=16", "--quiet"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = {name: (out / name).read_bytes() for name in (RunFolder.CONFIG, RunFolder.CHECKPOINT)}
    changed = CliRunner().invoke(cli, [*args[:-7], "--set", "model.dim=32", "--set", "epochs=4", "--resume",
                                       "--quiet"])
    assert changed.exit_code == 1
    assert changed.output.strip().splitlines() == [
        f"Error: --resume: {out} was trained with another architecture (entity.weight [78, 16] "
        "there, [78, 32] now); resume with the run's own settings (no architecture overrides), or "
        "train into a new --out"]
    assert {name: (out / name).read_bytes() for name in before} == before
    resumed = CliRunner().invoke(cli, [*args[:-7], "--set", "epochs=3", "--resume", "--quiet"])
    assert resumed.exit_code == 0, resumed.output                        # still resumable


def test_non_finite_settings_are_refused_in_one_line(tmp_path):
    make_export().save(tmp_path / "export")
    for key, value in (("lr", "inf"), ("lr", "nan"), ("l2", "inf"), ("temperature", "-inf")):
        result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "run"), "--export",
                                          str(tmp_path / "export"), "--set", f"{key}={value}", "--quiet"])
        assert result.exit_code == 1, (key, value, result.output)
        [line] = result.output.strip().splitlines()
        assert line.startswith("Error: invalid training config: ") and "finite number" in line, line


def test_a_diverging_training_stops_in_one_line_and_writes_no_model(data, tmp_path):
    with pytest.raises(TrainError, match=r"^training diverged in epoch 1 \(loss (nan|inf)\): "
                                         r"lower lr \(now 1e\+30: --set lr=...\)"):
        fit(data, _config(lr=1e30, epochs=3), tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / RunFolder.EMBEDDINGS).exists()
    assert not (tmp_path / "run" / RunFolder.METRICS).exists()


def test_a_run_stopped_part_way_leaves_nothing_of_the_run_it_replaces(data, tmp_path):
    """A fresh run into a folder that holds a finished one removes its files first: publish
    never pairs the earlier ``embeddings.pt`` with this run's export or ``model.pt``."""
    from mmkg.errors import RunFolderError

    run = tmp_path / "run"
    fit(data, _config(epochs=2), run, progress=False)
    RunFolder(run).save_model({}, config={}, export=None, epoch=1, name=RunFolder.REFIT_MODEL)
    with pytest.raises(TrainError, match="training diverged"):
        fit(data, _config(lr=1e30, epochs=3), run, progress=False)
    left = sorted(p.name for p in run.iterdir())
    assert left == [RunFolder.CONFIG], left
    with pytest.raises(RunFolderError, match=r"no embeddings\.pt: its training has not finished "
                                             r"\(`mmkg train --resume --out .*` goes on with it\)"):
        RunFolder(run).load_embeddings()


def test_an_unfinished_run_names_the_resume_line_with_the_export_it_trains_on(data, tmp_path):
    """A run stopped after its first epoch on an export outside its folder: the command that
    refuses it names `--export` too (a bare `--resume` would export the database into
    RUN/export, another split that the resume then refuses)."""
    from mmkg.errors import RunFolderError

    run, export = tmp_path / "run", tmp_path / "elsewhere" / "export"

    def stop(epoch, valid):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(data, _config(epochs=3), run, export_path=export, progress=False, on_epoch=stop)
    with pytest.raises(RunFolderError, match=r"its training has not finished \(`mmkg train --resume "
                                             rf"--out {run} --export {export}` goes on with it\)"):
        RunFolder(run).load_embeddings()


def test_a_run_on_another_export_removes_the_export_of_the_run_it_replaces(tmp_path):
    """`mmkg train --export E --out RUN` over a run that exported into RUN/export left that
    export beside the new run ("replaced whole", README); a run on RUN/export itself keeps it."""
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    make_export().save(run / "export")
    make_export(seed=1).save(elsewhere)
    args = ["--set", "epochs=1", "--set", "model.dim=8", "--quiet"]
    kept = CliRunner().invoke(cli, ["train", "--export", str(run / "export"), "--out", str(run), *args])
    assert kept.exit_code == 0, kept.output
    assert (run / "export" / "manifest.json").is_file()
    replaced = CliRunner().invoke(cli, ["train", "--export", str(elsewhere), "--out", str(run), *args])
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in run.iterdir()) == sorted(
        [RunFolder.CONFIG, RunFolder.METRICS, RunFolder.MODEL, RunFolder.CHECKPOINT,
         RunFolder.EMBEDDINGS, RunFolder.CURVES])
    assert RunFolder(run).load_model().export == elsewhere.resolve()


def test_init_from_its_own_out_folder_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path), "--init-from", str(tmp_path)])
    assert result.exit_code == 2
    assert "--init-from and --out are one folder" in result.output


def test_an_export_without_training_listens_and_a_huge_dim_are_one_line(tmp_path):
    export = make_export()
    export.split["train"] = export.split["train"][:0]
    export.save(tmp_path / "empty")
    make_export().save(tmp_path / "export")
    for folder, extra, expected in (
            ("empty", [], "Error: the export has no training listens (its split put none in "
                          "train): ingest listens, then export again"),
            ("export", ["--set", "model.dim=2000000000"], "Error: invalid training config: model.dim: Input "
                                                "should be less than or equal to 4096 (got 2000000000)")):
        result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / f"run-{folder}"),
                                          "--export", str(tmp_path / folder), *extra, "--quiet"])
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [expected]


def test_a_model_s_own_options_are_checked_by_its_options_class():
    """``[model.options]`` belong to the model: its ``Options`` class gives their defaults and
    refuses an unknown or bad one (a child process: the probe model stays out of this one's registry)."""
    code = """
from pydantic import BaseModel, Field
from mmkg.train.config import TrainConfig
from mmkg.train.registry import MODELS

@MODELS.register("probe")
class Probe:
    class Options(BaseModel):
        shrink: float = Field(10.0, ge=0)

print(TrainConfig.load(overrides={"model.name": "probe"}).model.options)
print(TrainConfig.load(overrides={"model.name": "probe", "model.options.shrink": 2}).model.options)
for bad in ({"model.options.shrnk": 1}, {"model.options.shrink": -1}, {"model.name": "mkgcn", "model.options.x": 1}):
    try:
        TrainConfig.load(overrides={"model.name": "probe", **bad})
    except Exception as e:
        print(e)
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "{'shrink': 10.0}", "{'shrink': 2.0}",
        "invalid training config: model probe has no model.options shrnk",
        "invalid training config: model.options: shrink: Input should be greater than or equal to 0 (got -1)",
        "invalid training config: model mkgcn has no model.options x"]


def test_a_refused_train_removes_the_out_folders_it_created_and_keeps_an_existing_one(tmp_path):
    """Issue 21, finding 10: `mmkg train` left an empty --out folder behind when it refused."""
    export = make_export()
    export.split["train"] = export.split["train"][:0]
    export.save(tmp_path / "empty")
    (tmp_path / "existing").mkdir()
    for out in (tmp_path / "new" / "run", tmp_path / "existing"):
        result = CliRunner().invoke(cli, ["train", "--out", str(out), "--export",
                                          str(tmp_path / "empty"), "--quiet"])
        assert result.exit_code == 1, result.output
        assert "Error: the export has no training listens" in result.output
    assert not (tmp_path / "new").exists()
    assert (tmp_path / "existing").is_dir()


def test_ctrl_c_says_where_training_stopped_and_the_command_that_goes_on(tmp_path):
    """A real SIGINT to `mmkg train`: it printed a bare `Aborted!`. Now one line says after which
    epoch it stopped and the resume command, paths shell-quoted; that command goes on."""
    import shlex
    import signal
    import subprocess
    import sys
    import time

    export, run = make_export().save(tmp_path / "an export"), tmp_path / "run rel"
    # SIGINT at its default in the child, so Python turns it into KeyboardInterrupt even when
    # this run inherited it ignored (a background job of a non-interactive shell)
    train = subprocess.Popen(
        [sys.executable, "-m", "mmkg", "train", "--export", str(export), "--out", str(run),
         "--set", "epochs=500", "--set", "patience=500", "--set", "model.dim=8", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (run / RunFolder.CHECKPOINT).exists():
        assert time.monotonic() < deadline and train.poll() is None, train.communicate()
        time.sleep(0.1)
    train.send_signal(signal.SIGINT)
    _, err = train.communicate(timeout=120)
    assert train.returncode == 130 and "Traceback" not in err and "Aborted!" not in err, err
    epoch = RunFolder(run).load_checkpoint()["state"]["epoch"]
    again = shlex.join(["mmkg", "train", "--resume", "--out", str(run), "--export", str(export)])
    assert err.strip().splitlines()[-1] == f"Error: interrupted after epoch {epoch}: `{again}` continues it"

    resumed = CliRunner().invoke(cli, [*shlex.split(again)[1:], "--set", f"epochs={epoch + 1}", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert RunFolder(run).load_metrics()["epochs_run"] == epoch + 1


def test_progress_bars_written_to_a_file_keep_each_task_on_one_line(tmp_path):
    """With stderr not a terminal, rich drew the bars 80 columns wide: the refit's rate
    ("refit/s") and the epochs' counts landed on lines of their own."""
    export = make_export().save(tmp_path / "export")
    result = CliRunner().invoke(cli, ["train", "--export", str(export), "--out", str(tmp_path / "run"),
                                      "--set", "epochs=2", "--set", "model.dim=8", "--refit"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert [line.split()[:3] for line in lines if "/s " in line] == [
        ["mkgcn", "━" * 12, "2/2"], ["mkgcn", "━" * 12, "2/2"]], lines
    assert [line for line in lines if "epochs/s" in line][0].endswith("s/epoch")
    assert "refit/s" in [line for line in lines if "loss" in line][-1]
