"""``mmkg tune`` on the tiny synthetic export: resume, budget, determinism, best config, no test split."""

import csv
from pathlib import Path

import optuna
import pytest
import torch
from click.testing import CliRunner
from optuna.trial import TrialState

from mmkg.cli import cli
from mmkg.errors import TrainError
from mmkg.train import fit as fit_module
from mmkg.train.config import TrainConfig
from mmkg.train.registry import MODELS
from mmkg.train.data import TrainData
from mmkg.train.tune import BEST_CONFIG, SEARCH_SPACES, STUDY, TRIALS_TABLE, open_study, tune, with_params
from tests.synthetic_export import make_export

torch.set_num_threads(1)
optuna.logging.set_verbosity(optuna.logging.WARNING)
FAST = ["--model", "lightgcn", "--set", "epochs=2", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return make_export().save(tmp_path_factory.mktemp("tune") / "export")


@pytest.fixture(scope="module")
def data(export_dir) -> TrainData:
    from mmkg.export import ExportedGraph

    return TrainData.from_export(ExportedGraph.load(export_dir))


def _base(**kw) -> TrainConfig:
    """The base config of ``FAST`` (``model`` may name another model), ``kw`` over it."""
    return TrainConfig.load(overrides={"model.name": kw.pop("model", "lightgcn"), "epochs": 2, "seed": 0, **kw})


def _finished(out) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="mmkg-tune", storage=f"sqlite:///{out / STUDY}")
    return study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))


def _tune_cli(export_dir, out, *args: str):
    result = CliRunner().invoke(cli, ["tune", "--export", str(export_dir), "--out", str(out), *FAST, *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def straight(export_dir, tmp_path_factory):
    """An uninterrupted study of 3 trials, seed 0."""
    out = tmp_path_factory.mktemp("straight")
    _tune_cli(export_dir, out, "--trials", "3")
    return out


def _summary(trials) -> list[tuple]:
    return [(t.params, t.value, t.state) for t in trials]


def test_resume_runs_only_the_missing_trials(export_dir, straight, tmp_path):
    _tune_cli(export_dir, tmp_path, "--trials", "2")
    first = _finished(tmp_path)
    printed = _tune_cli(export_dir, tmp_path, "--trials", "3").output
    resumed = _finished(tmp_path)
    assert len(first) == 2 and len(resumed) == 3
    assert _summary(resumed[:2]) == _summary(first)
    assert "1 run now" in printed
    # same seed: what an uninterrupted study proposed and scored, trial by trial
    assert _summary(resumed) == _summary(_finished(straight))
    # the budget is spent: a rerun trains nothing
    assert "0 run now" in _tune_cli(export_dir, tmp_path, "--trials", "3").output


def test_another_seed_proposes_other_params(export_dir, straight, tmp_path):
    _tune_cli(export_dir, tmp_path, "--trials", "3", "--seed", "1")
    assert [t.params for t in _finished(tmp_path)] != [t.params for t in _finished(straight)]


def test_best_config_loads_and_equals_the_best_trial(straight):
    finished = _finished(straight)
    best = max((t for t in finished if t.state is TrialState.COMPLETE), key=lambda t: t.value)
    loaded = TrainConfig.load([straight / BEST_CONFIG])
    assert loaded == with_params(_base(), best.params)
    dumped = loaded.model_dump()
    for key, value in best.params.items():                       # dotted config keys
        *sections, last = key.split(".")
        node = dumped
        for section in sections:
            node = node[section]
        assert node[last] == value, key
    with (straight / TRIALS_TABLE).open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["number"]) for r in rows] == [t.number for t in finished]
    assert [float(r["value"]) for r in rows] == [t.value for t in finished]


def test_no_trial_evaluates_the_test_split(data, tmp_path, monkeypatch):
    splits = []

    def spy(model, data, split, *args, **kwargs):
        splits.append(split)
        return evaluate(model, data, split, *args, **kwargs)

    evaluate = fit_module.evaluate
    monkeypatch.setattr(fit_module, "evaluate", spy)
    result = tune(data, _base(), tmp_path, trials=2, progress=False)
    assert splits and set(splits) == {"valid"}
    for trial in _finished(tmp_path):
        assert not any("test" in key for key in trial.user_attrs["valid"])
        assert set(trial.user_attrs["valid"]) == {"auc", "f1", "recall@20", "ndcg@20"}
    header = (tmp_path / TRIALS_TABLE).read_text().splitlines()[0]
    assert "test" not in header and result.complete == 2


class _PruneAllButTheFirst(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return trial.number > 0


def test_pruned_trials_count_toward_the_budget(data, tmp_path):
    result = tune(data, _base(epochs=3), tmp_path, trials=3, progress=False, pruner=_PruneAllButTheFirst())
    finished = _finished(tmp_path)
    assert [t.state for t in finished] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED]
    assert [t.user_attrs["epochs_run"] for t in finished] == [3, 1, 1]
    assert (result.complete, result.pruned, result.best.number) == (1, 2, 0)


def test_an_interrupted_trial_is_run_again(export_dir, data, straight, tmp_path, monkeypatch):
    fit = fit_module.fit
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fit(*args, **kwargs)

    monkeypatch.setattr("mmkg.train.tune.fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune(data, _base(), tmp_path, trials=3, progress=False)
    monkeypatch.undo()
    tune(data, _base(), tmp_path, trials=3, progress=False)
    study = open_study(tmp_path, _base())
    assert [t.state for t in study.trials].count(TrialState.FAIL) == 1
    assert _summary(_finished(tmp_path)) == _summary(_finished(straight))


def test_another_setup_in_the_folder_is_refused(data, tmp_path):
    tune(data, _base(), tmp_path, trials=1, progress=False)
    with pytest.raises(TrainError, match="seed: 0 → 1"):
        tune(data, _base(seed=1), tmp_path, trials=2, progress=False)


def test_a_study_resumed_on_another_export_is_refused(export_dir, tmp_path):
    """Trials are compared by their validation scores: a study started on one export and
    resumed on an export split otherwise would pick its best across two validation sets."""
    from tests.synthetic_export import make_export

    _tune_cli(export_dir, tmp_path / "study", "--trials", "1")
    make_export(seed=1).save(tmp_path / "other-split")
    result = CliRunner().invoke(cli, ["tune", "--export", str(tmp_path / "other-split"), "--out",
                                      str(tmp_path / "study"), *FAST, "--trials", "2"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert "is a study of another export (it differs in split" in result.output
    assert "resume it on the export it started on" in result.output
    _tune_cli(export_dir, tmp_path / "study", "--trials", "2")  # the same export resumes


def test_a_model_with_nothing_to_search_runs_one_trial(data, tmp_path):
    result = tune(data, _base(model="pop"), tmp_path, trials=5, progress=False)
    assert (result.complete, result.pruned, result.best.params) == (1, 0, {})
    assert result.nothing_to_search
    assert TrainConfig.load([tmp_path / BEST_CONFIG]).model.name == "pop"


def test_cli_says_why_a_model_with_nothing_to_search_ran_one_trial_of_several(export_dir, tmp_path):
    """``--trials 3`` of ``pop`` runs one trial: the output says so, instead of a bare "of 1"."""
    printed = _tune_cli(export_dir, tmp_path / "pop", "--model", "pop", "--trials", "3").output
    assert "best trial #0 of 1" in printed
    assert "pop has no hyperparameters to search: its one trial is the whole study" in printed
    searched = _tune_cli(export_dir, tmp_path / "lightgcn", "--trials", "1").output
    assert "no hyperparameters" not in searched


def test_every_model_has_a_search_space_and_the_objective_decides_its_part():
    assert set(SEARCH_SPACES.names()) == set(MODELS.names())
    study = optuna.create_study()
    softmax = SEARCH_SPACES.get("lightgcn")(study.ask(), _base())
    bce = SEARCH_SPACES.get("lightgcn")(study.ask(), _base(loss="bce", negatives="ratio", neg_ratio=1))
    assert {"temperature", "neg_ratio"} <= set(softmax)
    assert set(softmax) - set(bce) == {"temperature", "neg_ratio"}
    paper = SEARCH_SPACES.get("mkgcn-paper")(optuna.create_study().ask(), _base(model="mkgcn-paper"))
    assert set(paper) == {"lr", "l2", "model.dim", "model.kg.neighbours", "model.kg.hops", "batch_size"}


def test_cli_unknown_model_is_one_line(export_dir, tmp_path):
    result = CliRunner().invoke(cli, ["tune", "--export", str(export_dir), "--out", str(tmp_path),
                                      "--model", "nope"])
    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert "'nope' is not one of 'mkgcn', 'lightgcn'" in line, line


def test_refit_is_refused_before_any_trial(export_dir, tmp_path):
    """`tune --set refit=true` was accepted, and the setting ended in best.toml."""
    result = CliRunner().invoke(cli, ["tune", "--export", str(export_dir), "--out", str(tmp_path / "t"),
                                      "--set", "refit=true"])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "refit is not searched: tune selects on validation" in line, line
    assert not (tmp_path / "t").exists()


def test_cli_missing_export_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["tune", "--export", str(tmp_path / "none"), "--out", str(tmp_path)])
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1


def _open_study_after(barrier, out: str) -> str:
    """In a worker process: wait for the others, then open the study in ``out``."""
    barrier.wait()
    try:
        open_study(Path(out), TrainConfig())
    except Exception as e:  # what the test reports: any failure at all
        return f"{type(e).__name__}: {e}"
    return "ok"


def test_tunes_starting_at_once_on_a_new_out_share_one_study(tmp_path):
    """Issue 21, finding 10: two `mmkg tune` at once on a new --out both created Optuna's SQLite
    tables and one died with a traceback (`alembic_version` / `table studies already exists`,
    in about 4 of 10 tries of 3 processes): 10 rounds of 3 processes opening a new study in
    step (a barrier)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    outcomes = []
    for round_ in range(10):
        out = tmp_path / f"tune-{round_}"
        out.mkdir()
        with context.Manager() as manager, context.Pool(3) as pool:
            barrier = manager.Barrier(3)
            outcomes += pool.starmap(_open_study_after, [(barrier, str(out))] * 3)
    assert [o for o in outcomes if o != "ok"] == []


def test_ctrl_c_says_the_study_keeps_its_trials_and_leaves_no_lock_held(export_dir, tmp_path):
    """A real SIGINT to `mmkg tune`: it printed a bare `Aborted!` beside a study.db.lock. Now one
    line says what is kept and how to go on, and the lock file holds no lock (flock goes with
    its process)."""
    import fcntl
    import signal
    import subprocess
    import sys
    import time

    from mmkg.train.tune import STUDY_LOCK, STUDY_NAME

    out = tmp_path / "study"
    tune_cmd = subprocess.Popen(
        [sys.executable, "-m", "mmkg", "tune", "--export", str(export_dir), "--out", str(out),
         "--model", "bpr", "--trials", "3", "--set", "epochs=500", "--set", "patience=500", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120

    def running() -> bool:
        if not (out / STUDY).exists():
            return False
        try:
            study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{out / STUDY}")
        except KeyError:  # the file is there, the study not yet
            return False
        return bool(study.get_trials(states=(TrialState.RUNNING,)))

    while not running():
        assert time.monotonic() < deadline and tune_cmd.poll() is None, tune_cmd.communicate()
        time.sleep(0.2)
    tune_cmd.send_signal(signal.SIGINT)
    _, err = tune_cmd.communicate(timeout=120)
    # 130 as a shell reports it, an exit(130) or a death by SIGINT: in about one run of four the
    # process, its line printed, still ends by SIGINT on its way out (cause not found yet)
    assert tune_cmd.returncode in (130, -signal.SIGINT), (tune_cmd.returncode, err)
    assert "Traceback" not in err and "Aborted!" not in err, err
    assert err.strip().splitlines()[-1] == (f"Error: interrupted: {out / STUDY} keeps every finished "
                                            "trial, and re-running the same command resumes the study")
    with open(out / STUDY_LOCK) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free at once
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{out / STUDY}")
    # FAIL; RUNNING when the signal came inside Optuna's ask, which the next run marks failed
    assert [t.state for t in study.trials] in ([TrialState.FAIL], [TrialState.RUNNING])
