"""Hyperparameter search on the validation split with Optuna (``mmkg tune``).

A study lives in one output folder and is resumable::

    OUT/study.db     the Optuna study (SQLite): every trial, its params, its validation curve
    OUT/best.toml    the best trial's full training config (``mmkg train --config OUT/best.toml``)
    OUT/trials.csv   one row per trial: state, validation score, params, validation metrics

Contract:

- **Validation only.** Every trial trains with :func:`mmkg.train.fit.fit` and ``test=False``; its
  score is ``valid[config.monitor]`` of the selected epoch. The test split is never evaluated.
- **Budget.** ``trials=N`` means the study ends with N finished (complete + pruned) trials in
  total, so every model tuned with the same N gets the same budget, and re-running the same
  command after an interruption runs only the missing trials. A trial left running by a killed
  process is marked failed on the next run and does not count. A model with nothing to search
  (``pop``) runs one trial.
- **Determinism.** ``base.seed`` seeds every trial's training, and the sampler of the k-th
  finished trial is a :class:`~optuna.samplers.TPESampler` seeded with ``(seed, k)``, so the same
  seed proposes the same params, and a resumed study proposes what an uninterrupted one would.
- **Pruning.** A :class:`~optuna.pruners.MedianPruner` stops a trial whose validation score after
  an epoch is below the median of earlier trials at that epoch (after
  :data:`PRUNER_STARTUP_TRIALS` trials and :data:`PRUNER_WARMUP_EPOCHS` epochs).
- **Same setup.** The study records the base config and what its export is (its manifest's
  split, seed, graph: :func:`~mmkg.train.run_folder.export_identity`); resuming with another
  config (another model, seed, epochs, ...) or on another export is refused: trials are compared
  by their validation scores, which another split would make incomparable.

Search spaces are a registry, :data:`SEARCH_SPACES`: model name → function of the trial and the
base config returning the dotted config keys it sets. Each is a common part (lr, l2, d), the model's
own part, and the objective's part (the temperature of softmax/BPR losses, the number of shared
negatives), so that a model and its baselines trained with the same objective tune the same
objective settings.
"""

from __future__ import annotations

import csv
import fcntl
import logging
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import tomli_w
from optuna.trial import FrozenTrial, TrialState
from pydantic import ValidationError

from mmkg.errors import TrainError, validation_summary
from mmkg.progress import progress_bar
from mmkg.registry import Registry
from mmkg.train.config import MONITORS, TrainConfig, merge, nested
from mmkg.train.data import TrainData
from mmkg.train.fit import fit
from mmkg.train.run_folder import export_mismatch

log = logging.getLogger(__name__)

STUDY = "study.db"
BEST_CONFIG = "best.toml"
TRIALS_TABLE = "trials.csv"
STUDY_NAME = "mmkg-tune"
STUDY_LOCK = "study.db.lock"
"""The file ``open_study`` locks (``flock``) while it creates or loads the study's storage. The
file stays; the lock goes with the process that held it (Ctrl-C, ``kill -9``), so a file left
behind never holds up a later ``mmkg tune``. It is never removed: a process waiting on the
removed file's lock and one locking a new file of that name would both go on."""
PRUNER_STARTUP_TRIALS = 5
"""Trials that always run to the end before the pruner compares against them."""
PRUNER_WARMUP_EPOCHS = 5
"""Epochs of every trial that are never pruned."""
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
"""Trial states that count toward the budget."""

SearchSpace = Callable[[optuna.Trial, TrainConfig], dict[str, Any]]
"""Suggests the trial's params, each named by the dotted config key it sets, and returns them
(``{"lr": ..., "model.dim": ...}``): a trial's ``params`` are ``--set`` overrides as they stand."""
SEARCH_SPACES: Registry[SearchSpace] = Registry("tunable model")
"""Search space of every tunable model (``pop`` and the untrained cold-start baselines have
nothing to search: one trial)."""


def _common(trial: optuna.Trial, batch_sizes: list[int]) -> dict[str, Any]:
    return {"lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
            "l2": trial.suggest_float("l2", 1e-6, 1e-2, log=True),
            "model.dim": trial.suggest_categorical("model.dim", [32, 64, 128]),
            "batch_size": trial.suggest_categorical("batch_size", batch_sizes)}


def _objective(trial: optuna.Trial, base: TrainConfig) -> dict[str, Any]:
    """What the base config's objective exposes: τ of softmax/BPR (BCE ignores it), and the
    negatives per positive of the ``shared`` sampler (``ratio`` keeps the base's, e.g. the
    paper's 1:1; ``in-batch`` has none)."""
    params: dict[str, Any] = {}
    if base.loss in ("softmax", "bpr"):
        params["temperature"] = trial.suggest_float("temperature", 0.05, 1.0, log=True)
    if base.negatives == "shared":
        params["neg_ratio"] = trial.suggest_categorical("neg_ratio", [64, 256, 1024])
    return params


@SEARCH_SPACES.register("mkgcn")
def _mkgcn(trial: optuna.Trial, base: TrainConfig) -> dict[str, Any]:
    return {**_common(trial, [128, 256, 512]),
            "model.layers": trial.suggest_int("model.layers", 1, 4),
            "model.kg.hops": trial.suggest_int("model.kg.hops", 0, 2),
            **_objective(trial, base)}


@SEARCH_SPACES.register("lightgcn")
def _lightgcn(trial: optuna.Trial, base: TrainConfig) -> dict[str, Any]:
    return {**_common(trial, [128, 256, 512]), "model.layers": trial.suggest_int("model.layers", 1, 4),
            **_objective(trial, base)}


@SEARCH_SPACES.register("bpr")
def _bpr(trial: optuna.Trial, base: TrainConfig) -> dict[str, Any]:
    return {**_common(trial, [128, 256, 512]), **_objective(trial, base)}


@SEARCH_SPACES.register("mkgcn-paper")
@SEARCH_SPACES.register("kgcn")
def _kgcn_tree(trial: optuna.Trial, base: TrainConfig) -> dict[str, Any]:
    return {**_common(trial, [64, 128, 256]),
            "model.kg.neighbours": trial.suggest_categorical("model.kg.neighbours", [4, 8, 16]),
            "model.kg.hops": trial.suggest_int("model.kg.hops", 1, 2),
            **_objective(trial, base)}


# fastrp's knobs belong to `mmkg export --fastrp` (bench/fastrp.py); the others are untrained
for _name in ("pop", "fastrp", "random", "kg-pop", "kg-knn", "content-knn"):
    SEARCH_SPACES.add(_name, lambda trial, base: {})


@dataclass(frozen=True)
class TuneResult:
    """A study's outcome after one :func:`tune` call."""

    best: FrozenTrial
    """The complete trial with the highest validation score."""
    config: TrainConfig
    """The best trial's full config (what ``best.toml`` holds)."""
    complete: int
    pruned: int
    ran: int
    """Trials run by this call (0 when the budget was already spent)."""
    config_path: Path
    table_path: Path
    nothing_to_search: bool = False
    """The model has no hyperparameters in its space: its one trial is the whole study, whatever
    the budget."""


def tune(data: TrainData, base: TrainConfig, out: Path, *, trials: int, timeout: float | None = None,
         progress: bool = True, pruner: optuna.pruners.BasePruner | None = None,
         export: dict[str, Any] | None = None) -> TuneResult:
    """Search ``base.model``'s space until the study in ``out`` has ``trials`` finished trials,
    or ``timeout`` seconds have passed (checked between trials), then write ``best.toml`` and
    ``trials.csv`` (module docstring).

    Args:
        data: the training data; only its train and validation splits are used.
        base: the config every trial starts from; the search space overrides some of its fields.
        out: the study folder (created; a study already there is resumed).
        trials: the budget: finished (complete + pruned) trials in the study, ≥ 1.
        timeout: stop starting trials after this many seconds (None: no limit).
        progress: draw a progress bar and one line per finished trial on stderr.
        pruner: replaces the default :class:`~optuna.pruners.MedianPruner`.
        export: :func:`~mmkg.train.run_folder.export_identity` of the export ``data`` comes
            from: a resumed study must have been started on the same (its trials' validation
            scores are compared with each other).

    Raises:
        UnknownName: no search space for the model.
        TrainError: a study of another setup or export in ``out``, a
            sampled config that does not validate, or no complete trial at the end.
        Exception: whatever stopped a trial other than pruning (the trial is marked failed
            and does not count; ``KeyboardInterrupt`` included).
    """
    SEARCH_SPACES.get(base.model.name)  # UnknownName before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    study = open_study(out, base, pruner, export=export)
    started, ran = time.monotonic(), 0
    with progress_bar("trials", info=True, disable=not progress) as bar:
        task = bar.add_task(f"tune {base.model.name}", total=trials, completed=_count(study), info="")
        while _count(study) < trials and not _space_is_empty(study):
            if timeout is not None and time.monotonic() - started >= timeout:
                log.info("timeout: %d of %d trials finished", _count(study), trials)
                break
            trial = _run_trial(study, data, base)
            ran += 1
            best = _best_so_far(study)
            line = f"trial {_count(study)}/{trials} (#{trial.number})  {_outcome(trial)}  {best}"
            bar.update(task, completed=_count(study), info=best)
            if progress:
                bar.console.print(line)
            log.debug("%s", line)
    return _finish(study, base, out, ran)


def open_study(out: Path, base: TrainConfig, pruner: optuna.pruners.BasePruner | None = None, *,
               export: dict[str, Any] | None = None) -> optuna.Study:
    """The study in ``out/study.db``, created or loaded; trials left running by a killed process
    are marked failed. Created under an exclusive lock of ``out/study.db.lock``: two ``mmkg
    tune`` starting at once on a new ``--out`` would both create Optuna's tables (SQLite's
    ``alembic_version`` race) and one would fail with a traceback.

    Raises:
        TrainError: the study there was made with another base config, or on another export
            (``export``: its :func:`~mmkg.train.run_folder.export_identity`, recorded by the
            study's first call that gives one).
    """
    pruner = pruner or optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS,
                                                  n_warmup_steps=PRUNER_WARMUP_EPOCHS)
    with open(out / STUDY_LOCK, "a") as lock:  # two tunes creating one storage: one at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        study = optuna.create_study(storage=f"sqlite:///{(out / STUDY).resolve()}",
                                    study_name=STUDY_NAME, direction="maximize",
                                    sampler=_sampler(base.seed, 0), pruner=pruner,
                                    load_if_exists=True)
    setup = base.model_dump(mode="json")
    recorded = study.user_attrs.get("base")
    if recorded is None:
        study.set_user_attr("base", setup)
    elif recorded != setup:
        raise TrainError(f"{out / STUDY} is a study of another setup (differs in "
                         f"{', '.join(_differences(recorded, setup))}); rerun with the same "
                         "flags to resume it, or use another --out")
    if export is not None:
        recorded_export = study.user_attrs.get("export")
        why = export_mismatch(recorded_export, export) if recorded_export is not None else None
        if why:
            raise TrainError(f"{out / STUDY} is a study of another export ({why}); resume it on the "
                             "export it started on, or use another --out")
        if recorded_export is None:
            study.set_user_attr("export", export)
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        log.info("trial %d was interrupted: marked failed, it will be run again", stale.number)
        study.tell(stale.number, state=TrialState.FAIL)
    return study


def _sampler(seed: int, k: int) -> optuna.samplers.TPESampler:
    """The sampler of the ``k``-th finished trial: seeded by ``(seed, k)`` only."""
    return optuna.samplers.TPESampler(seed=int(np.random.SeedSequence([seed, k]).generate_state(1)[0]))


def _run_trial(study: optuna.Study, data: TrainData, base: TrainConfig) -> FrozenTrial:
    """Ask for a trial, train it on a temporary run folder, tell the study how it ended."""
    study.sampler = _sampler(base.seed, _count(study))
    trial = study.ask()
    started = time.perf_counter()

    def on_epoch(epoch: int, valid: dict[str, float]) -> None:
        score = valid.get(base.monitor, math.nan)
        trial.set_user_attr("valid", _scores(valid))
        trial.set_user_attr("epochs_run", epoch)
        if not math.isfinite(score):
            raise optuna.TrialPruned(f"validation {base.monitor} is {score} at epoch {epoch}")
        trial.report(score, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    try:
        config = with_params(base, SEARCH_SPACES.get(base.model.name)(trial, base))
        with tempfile.TemporaryDirectory(prefix="mmkg-tune-") as run:
            result = fit(data, config, Path(run), progress=False, test=False, on_epoch=on_epoch)
    except optuna.TrialPruned:
        trial.set_user_attr("seconds", time.perf_counter() - started)
        return study.tell(trial, state=TrialState.PRUNED)
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    value = result["valid"].get(base.monitor, math.nan)
    for key, attr in (("valid", _scores(result["valid"])), ("epochs_run", result["epochs_run"]),
                      ("best_epoch", result["best_epoch"]), ("seconds", time.perf_counter() - started)):
        trial.set_user_attr(key, attr)
    if not math.isfinite(value):
        return study.tell(trial, state=TrialState.PRUNED)
    return study.tell(trial, value)


def with_params(base: TrainConfig, params: dict[str, Any]) -> TrainConfig:
    """``base`` with ``params`` (dotted config keys) set, validated.

    Raises:
        TrainError: the resulting config is invalid.
    """
    try:
        return TrainConfig.model_validate(merge(base.model_dump(), nested(params)))
    except ValidationError as e:
        raise TrainError(f"invalid trial config {params}: {validation_summary(e)}") from None


def _scores(valid: dict[str, float]) -> dict[str, float]:
    return {k: float(valid[k]) for k in MONITORS if k in valid}


def _count(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def _space_is_empty(study: optuna.Study) -> bool:
    """A finished trial had nothing to suggest: every further trial would be the same."""
    return any(not t.params for t in study.get_trials(deepcopy=False, states=FINISHED))


def _outcome(trial: FrozenTrial) -> str:
    return f"{trial.value:.4f}" if trial.state is TrialState.COMPLETE else trial.state.name.lower()


def _best_so_far(study: optuna.Study) -> str:
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return "best -"
    return f"best {study.best_value:.4f} (#{study.best_trial.number})"


def _finish(study: optuna.Study, base: TrainConfig, out: Path, ran: int) -> TuneResult:
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    complete = [t for t in finished if t.state is TrialState.COMPLETE]
    if not complete:
        raise TrainError(f"no trial completed in {out / STUDY} ({len(finished)} pruned); "
                         "raise --trials or --timeout")
    best = study.best_trial
    config = with_params(base, best.params)
    header = (f"mmkg tune: trial #{best.number}, the best of {len(finished)} on validation "
              f"{base.monitor} = {best.value:.4f} ({out / STUDY})")
    write_config_toml(config, out / BEST_CONFIG, header)
    write_trials_table(study.get_trials(deepcopy=False), out / TRIALS_TABLE)
    return TuneResult(best=best, config=config, complete=len(complete), pruned=len(finished) - len(complete),
                      ran=ran, config_path=out / BEST_CONFIG, table_path=out / TRIALS_TABLE,
                      nothing_to_search=_space_is_empty(study))


def write_config_toml(config: TrainConfig, path: Path, header: str) -> None:
    """``config`` as a TOML file that :meth:`TrainConfig.load` reads back equal (``None`` fields
    are left out: they are the defaults)."""
    path.write_text(f"# {header}\n" + tomli_w.dumps(config.model_dump(exclude_none=True)))


def write_trials_table(trials: list[FrozenTrial], path: Path) -> None:
    """One CSV row per trial: number, state, value (validation score; a pruned trial's last
    one), epochs run, selected epoch, seconds, every param, and the validation metrics."""
    params = list(dict.fromkeys(name for t in trials for name in t.params))
    fields = ["number", "state", "value", "epochs_run", "best_epoch", "seconds",
              *params, *(f"valid_{m}" for m in MONITORS)]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for t in trials:
            value = t.value if t.value is not None else (
                t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)
            valid = t.user_attrs.get("valid", {})
            writer.writerow({"number": t.number, "state": t.state.name, "value": value,
                             **{k: t.user_attrs.get(k) for k in ("epochs_run", "best_epoch", "seconds")},
                             **t.params, **{f"valid_{m}": valid.get(m) for m in MONITORS}})


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out = []
    for key in keys:
        if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
            out += _differences(a[key], b[key], f"{prefix}{key}.")
        elif a.get(key) != b.get(key):
            out.append(f"{prefix}{key}: {a.get(key)!r} → {b.get(key)!r}")
    return out
