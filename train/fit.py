"""The training loop: epochs of sampled-negative steps under the configured objective, validation, early stopping,
checkpoints (``--resume``), and the run folder (``docs/contracts.md`` section 4).

Randomness: ``torch.manual_seed(seed)`` once per run (weights); every epoch's negatives, batch
order and ID-dropout masks come from generators seeded with ``(seed, epoch)``, so a resumed run is identical to
an uninterrupted one and two runs with the same seed give identical metrics.

Data-parallel (``group``, :mod:`mmkg.train.distributed`): every worker follows the same
seeded permutation and negatives, trains on its slice of each global batch of
``W × batch_size`` under DDP, and only rank 0 evaluates and writes; deterministic for a fixed
worker count.
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmkg.errors import TrainError
from mmkg.progress import progress_bar
from mmkg.train.allocator import keep_freed_memory
from mmkg.train import metrics
from mmkg.train.config import MONITORS, TOPK, USERS_PER_CHUNK, TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.evaluate import ctr_metrics, evaluate, valid_sample
from mmkg.train.model import Recommender, build_model
from mmkg.train.model.base import tie_order, top_k
from mmkg.train.run_folder import Embeddings, RunFolder, export_identity, export_mismatch
from mmkg.train.registry import NEGATIVES
from mmkg.train.warm_start import warm_start
from mmkg.train.worker_group import SINGLE, WorkerGroup

log = logging.getLogger(__name__)

PUBLISH_K = 100
"""Exact top-K written per user into ``embeddings.pt``."""


@dataclass
class FitState:
    """Everything that survives an interruption."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_score: float = float("-inf")
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs: int = 0


def epoch_generators(seed: int, epoch: int) -> tuple[np.random.Generator, torch.Generator]:
    """The numpy and torch generators of one epoch, derived from ``(seed, epoch)`` only."""
    rng = np.random.default_rng([seed, epoch])
    return rng, torch.Generator().manual_seed(int(rng.integers(2 ** 62)))


def make_sampler(data: TrainData, config: TrainConfig):
    """The configured negative sampler (:data:`mmkg.train.registry.NEGATIVES`) over the training
    pairs, drawing warm items only, and with ``neg_unheard=False`` only those with a training
    listen."""
    drawable = data.warm_items if config.neg_unheard else data.warm_items & (data.popularity() > 0)
    return NEGATIVES.get(config.negatives)(data.train, data.n_items, config.neg_ratio, config.neg_alpha,
                                       config.neg_correction, drawable)


def train_one_epoch(model: Recommender, optimizer: torch.optim.Optimizer, data: TrainData,
                    sampler, config: TrainConfig, epoch: int, group: WorkerGroup = SINGLE,
                    step: torch.nn.Module | None = None) -> float:
    """One pass over the training positives in shuffled batches, each with freshly drawn
    negatives, minimising ``config.loss``; returns the mean loss (over all workers).

    With ``group.world = W > 1`` a global batch holds ``W · batch_size`` positives, of which
    this worker trains on its slice (``group.shard``) through ``step`` (the DDP-wrapped loss,
    :meth:`WorkerGroup.wrap`); a final global batch with fewer than ``W`` rows is skipped by all.
    """
    rng, gen = epoch_generators(config.seed, epoch)
    sampler.start_epoch(rng)
    model.step_generator = gen
    train = torch.as_tensor(data.train)
    step = step if step is not None else group.wrap(model)
    model.train()
    total, n = 0.0, 0
    for rows in torch.randperm(len(train), generator=gen).split(config.batch_size * group.world):
        if len(rows) < group.world:
            continue
        local = group.shard(rows)
        users, pos = train[local, 0], train[local, 1]
        negatives = sampler.draw(local, users, pos, gen)
        loss = step(users, pos, negatives, config.loss, config.l2, config.temperature)
        optimizer.zero_grad()
        (loss * group.loss_weight(len(local), len(rows))).backward()
        optimizer.step()
        total += loss.item() * len(local)
        n += len(local)
    total, n = group.sum(total, n)
    return total / max(n, 1)


def check_finite(loss: float, epoch: int, config: TrainConfig) -> None:
    """Stop a training whose loss left the finite numbers (every worker sees the same global
    loss, so all stop together); the checkpoint and run folder keep the last finite epoch.

    Raises:
        TrainError: one line with the epoch, the loss and what to change.
    """
    if not math.isfinite(loss):
        raise TrainError(f"training diverged in epoch {epoch} (loss {loss}): lower lr (now "
                         f"{config.lr:g}: --set lr=...) or raise l2; nothing of this epoch was kept")


def check_resumable(model: Recommender, saved: dict[str, torch.Tensor], folder: Path) -> None:
    """Refuse to resume ``model`` from the parameters ``saved`` in the run ``folder`` when they do
    not fit it (another model or architecture: ``model.dim``, ``model.layers``, ``model.kg.hops`` changed).

    Raises:
        TrainError: one line naming the first parameter that differs.
    """
    current = model.state_dict()
    way_out = ("resume with the run's own settings (no architecture overrides), or train into a new "
               "--out")
    for name in sorted(set(current) | set(saved)):
        if name not in current or name not in saved:
            where = "the checkpoint" if name in saved else "this model"
            raise TrainError(f"--resume: {folder} holds another model (only {where} has "
                             f"{name}); {way_out}")
        if current[name].shape != saved[name].shape:
            raise TrainError(f"--resume: {folder} was trained with another architecture ({name} "
                             f"{list(saved[name].shape)} there, {list(current[name].shape)} now); "
                             f"{way_out}")


EpochHook = Callable[[int, dict[str, float]], None]
"""Called after every epoch with (epoch, validation metrics); may raise to stop training
(``mmkg tune`` prunes trials this way)."""


def fit(data: TrainData, config: TrainConfig, out: Path, *, export_path: Path | None = None,
        resume: bool = False, progress: bool = True, test: bool = True,
        on_epoch: EpochHook | None = None, group: WorkerGroup = SINGLE,
        init_from: Path | None = None) -> dict[str, Any]:
    """Train ``config.model`` on ``data``, select the epoch by validation ``config.monitor``
    (top-K on :func:`~mmkg.train.evaluate.valid_sample`'s ``config.valid_users`` users), evaluate
    the selected model once on test (unless ``test=False``: tuning never looks at it), and
    write the run folder ``out``. Every user is scored against every track once at the end, for
    the test top-K and the published top-K together (:func:`final_scoring`).

    ``init_from``: a previous run folder whose weights the model starts from, rows matched by
    id (:func:`mmkg.train.warm_start.warm_start`; needs ``export_path``); ignored when resuming
    from a checkpoint. ``metrics.json`` then records ``init_from``: the run and, per id table,
    the rows kept and the fresh ones.

    Under a :class:`~mmkg.train.worker_group.WorkerGroup` of several workers only rank 0
    evaluates and writes; the others return ``{}`` after the last epoch.

    Returns the ``metrics.json`` content (``test`` is ``{}`` when not evaluated).

    Raises:
        TrainError: ``config.monitor`` is a ``cold_*`` metric and ``data`` holds no new tracks;
            or the model trains and ``data`` holds no validation listens to select its epoch on.
    """
    if config.monitor.startswith("cold_") and not data.cold_items.size:
        raise TrainError(f"monitor {config.monitor} selects on new tracks, and this export holds none out: "
                         "export with `mmkg export --split cold-items`, or monitor recall@20")
    run = RunFolder(out)
    torch.manual_seed(config.seed)
    model = build_model(config.model, data, np.random.default_rng(config.seed))
    selects_on = "valid_cold" if config.monitor.startswith("cold_") else "valid"
    if model.trainable and not len(data.split.get(selects_on, ())):
        raise TrainError("this export holds no validation listens, and `mmkg train` selects its epoch "
                         "on them: export with a validation share, e.g. `mmkg export --ratios 6:2:2` "
                         "(per user, ⌊n·r⌋ of n listens: a user with fewer than 1/r listens puts none "
                         "there)")
    checkpoint = run.load_checkpoint() if resume and model.trainable else None
    trained_on = export_identity(Path(export_path)) if export_path else None
    if checkpoint is not None:
        check_resumable(model, checkpoint["model"], run.path)  # before anything is rewritten
        why = (export_mismatch(checkpoint["export"], trained_on)
               if trained_on is not None and checkpoint.get("export") is not None else None)
        if why:
            raise TrainError(f"--resume: {export_path} is not the export {run.path} started on: "
                             f"{why}; resume on the export it started on, or train into a new --out")
    warm = None
    if init_from is not None and checkpoint is None:
        if export_path is None:
            raise ValueError("init_from needs export_path")
        warm = {"run": str(Path(init_from).resolve()), **warm_start(model, export_path, Path(init_from))}
        seen = sum(part["seen"] for part in warm["seen"].values())
        if seen and group.is_main:
            log.warning("--init-from %s: %s of the %s validation and test listens here are listens "
                        "it trained on (this export split the listens anew), so the validation "
                        "and test figures below flatter the warm start", init_from, f"{seen:,}",
                        f"{sum(part['listens'] for part in warm['seen'].values()):,}")
    if group.is_main:
        if checkpoint is None:
            run.clear_run(export_path)  # a fresh run: nothing of an earlier one stays beside it
        run.path.mkdir(parents=True, exist_ok=True)
        run.save_config(config.model_dump())
    state = FitState()
    sample = valid_sample(data, config.valid_users, config.seed)
    started = time.perf_counter()
    if model.trainable:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        if checkpoint is not None:
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            state = FitState(**checkpoint["state"])
            log.info("resuming %s after epoch %d", run.path, state.epoch)
        with keep_freed_memory(config.keep_freed_memory):
            _epochs(model, optimizer, data, config, state, run, progress, on_epoch, group, sample,
                    trained_on, export_path)
        if state.best_state is not None:
            model.load_state_dict(state.best_state)
    train_seconds = time.perf_counter() - started
    if not group.is_main:
        return {}

    started = time.perf_counter()
    valid = evaluate(model, data, "valid", config.users_per_chunk, users=sample)
    test, published = final_scoring(model, data, test=test, users_per_chunk=config.users_per_chunk)
    eval_seconds = time.perf_counter() - started
    epoch_times = [h["seconds"] for h in state.history]
    result = {
        "model": config.model.name, "valid": valid, "test": test, "history": state.history,
        "valid_users": len(sample) if sample is not None else None,
        "best_epoch": state.best_epoch, "epochs_run": state.epoch,
        "seconds_per_epoch": float(np.mean(epoch_times)) if epoch_times else 0.0,
        "train_seconds": train_seconds, "eval_seconds": eval_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "export": str(Path(export_path).resolve()) if export_path else None,
        "workers": group.world,
        **({"init_from": warm} if warm is not None else {}),
    }
    run.save_model(model.state_dict(), config=config.model_dump(), export=export_path, epoch=state.best_epoch)
    run.save_metrics(result)
    run.save_embeddings(published)
    plot_curves(state.history, config.monitor, run.curves_file)
    return result


def all_listens(data: TrainData) -> TrainData:
    """``data`` with every known listen (train, valid and test positives, each pair once) as
    its training pairs and no validation or test: what a refit trains on."""
    listens = np.concatenate([data.split[k] for k in ("train", "valid", "test") if k in data.split])
    listens = np.unique(listens.reshape(-1, 2), axis=0)
    empty = np.empty((0, 2), dtype=np.int64)
    return replace(data, split={"train": listens, "valid": empty, "test": empty})


def refit(data: TrainData, config: TrainConfig, epochs: int, *, progress: bool = True
          ) -> tuple[Embeddings, dict[str, torch.Tensor]]:
    """Train ``config.model`` afresh on :func:`all_listens` for exactly ``epochs`` epochs (no
    validation, no early stopping; same seeds as :func:`fit`) and return what publish writes
    (the top-K of every user then excludes every track they listened to) and the parameters
    that produced it."""
    data = all_listens(data)
    torch.manual_seed(config.seed)
    model = build_model(config.model, data, np.random.default_rng(config.seed))
    if model.trainable and epochs > 0:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        sampler = make_sampler(data, config)
        with progress_bar("refit", info=True, disable=not progress) as bar, \
                keep_freed_memory(config.keep_freed_memory):
            task = bar.add_task(config.model.name, total=epochs, info="")
            for epoch in range(1, epochs + 1):
                loss = train_one_epoch(model, optimizer, data, sampler, config, epoch)
                check_finite(loss, epoch, config)
                bar.update(task, completed=epoch, info=f"loss {loss:.4f}")
    return embeddings(model, data, users_per_chunk=config.users_per_chunk), model.state_dict()


def _epochs(model, optimizer, data, config, state: FitState, run: RunFolder, progress: bool,
            on_epoch: EpochHook | None, group: WorkerGroup, sample: np.ndarray | None,
            export: dict | None, export_path: Path | None) -> None:
    """Train until ``config.epochs`` or ``config.patience``; after each epoch, validation and a
    checkpoint (which records ``export``: the :func:`export_identity` of the export trained on,
    for ``--resume`` to check; and ``export_path``, that folder, for the command that resumes)."""
    sampler = make_sampler(data, config)
    step = group.wrap(model)
    with progress_bar("epochs", info=True, disable=not progress or not group.is_main) as bar:
        task = bar.add_task(config.model.name, total=config.epochs, completed=state.epoch, info="")
        while state.epoch < config.epochs and state.bad_epochs < config.patience:
            epoch = state.epoch + 1
            t0 = time.perf_counter()
            loss = train_one_epoch(model, optimizer, data, sampler, config, epoch, group, step)
            check_finite(loss, epoch, config)
            seconds = time.perf_counter() - t0
            if not group.is_main:
                state.epoch, state.bad_epochs = group.broadcast_ints(0, 0)
                continue
            valid = evaluate(model, data, "valid", config.users_per_chunk, topk=config.valid_topk,
                             users=sample)
            row = {"epoch": epoch, "loss": loss, "seconds": seconds,
                   **{f"valid_{k}": v for k, v in valid.items() if k in MONITORS}}
            state.history.append(row)
            score = valid.get(config.monitor, float("nan"))
            if score > state.best_score:
                state.best_score, state.best_epoch, state.bad_epochs = score, epoch, 0
                state.best_state = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                state.bad_epochs += 1
            state.epoch = epoch
            run.save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "state": state.__dict__, "export": export,
                                 "export_path": str(Path(export_path).resolve()) if export_path else None})
            info = (f"loss {loss:.4f}  valid auc {valid.get('auc', float('nan')):.4f}  "
                    f"R@20 {valid.get('recall@20', float('nan')):.4f}  {seconds:.1f}s/epoch")
            bar.update(task, completed=epoch, info=info)
            log.debug("epoch %d: %s", epoch, info)
            group.broadcast_ints(state.epoch, state.bad_epochs)
            if on_epoch is not None:
                on_epoch(epoch, valid)
    if group.is_main and state.bad_epochs >= config.patience:  # the others hold no scores
        log.info("early stop after epoch %d (best %s %.4f at epoch %d)", state.epoch,
                 config.monitor, state.best_score, state.best_epoch)


@torch.no_grad()
def embeddings(model: Recommender, data: TrainData, k: int = PUBLISH_K, users_per_chunk: int = USERS_PER_CHUNK) -> Embeddings:
    """What publish writes: ids, track/user vectors (for a vector model, exactly the vectors whose
    dot product is the score) and the exact top-``k`` per user over all tracks except the user's
    training tracks; slots beyond the user's rankable tracks hold item ``-1`` (never published)."""
    return final_scoring(model, data, test=False, k=k, users_per_chunk=users_per_chunk)[1]


class _PairsByUser:
    """``(user, item)`` pairs grouped by user, so that those of a range of users cost only their
    own number."""

    def __init__(self, pairs: np.ndarray, n_users: int, n_items: int) -> None:
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        order = np.argsort(pairs[:, 0], kind="stable")
        self.items, self.n_items = torch.as_tensor(pairs[order, 1]), n_items
        self.start = np.concatenate([[0], np.cumsum(np.bincount(pairs[:, 0], minlength=n_users))])

    def rows(self, lo: int, hi: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(row, item)`` of every pair of the users ``lo .. hi - 1`` (row = user - lo)."""
        counts = torch.as_tensor(np.diff(self.start[lo:hi + 1]))
        return torch.repeat_interleave(torch.arange(hi - lo), counts), self.items[self.start[lo]:self.start[hi]]

    def contains(self, lo: int, hi: int, items: torch.Tensor) -> torch.Tensor:
        """``[hi - lo, m]`` bool: is ``items[r, j]`` one of user ``lo + r``'s items?"""
        row, item = self.rows(lo, hi)
        keys = torch.sort(row * self.n_items + item).values
        asked = torch.arange(hi - lo).unsqueeze(1) * self.n_items + items
        at = torch.searchsorted(keys, asked).clamp(max=max(len(keys) - 1, 0))
        return keys[at] == asked if len(keys) else torch.zeros_like(asked, dtype=torch.bool)


@torch.no_grad()                                                          # per thread: the pool's too
def _score_users(model: Recommender, lo: int, hi: int, k: int, test_k: int, train: _PairsByUser,
                 held: tuple[_PairsByUser, _PairsByUser] | None
                 ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray | None, np.ndarray | None]:
    """Users ``lo .. hi - 1``: their top-``k`` over every track but their training ones (items,
    ``-1`` past the rankable ones; sigmoid scores) and, with ``held = (valid, test)``, the hits of
    the top-``test_k`` over every track but their training and validation ones, for the users
    with a test listen, and their number of test listens. One :func:`top_k` serves both: it is
    wide enough to hold ``test_k`` tracks besides every validation track of the chunk's users."""
    order, position = tie_order(model.n_items)
    logits = model.score_tie_ordered(torch.arange(lo, hi))
    row, item = train.rows(lo, hi)
    logits[row, position[item]] = float("-inf")
    width = k
    if held is not None:
        valid_rows = held[0].rows(lo, hi)[0]
        most_valid = int(torch.bincount(valid_rows).max()) if len(valid_rows) else 0
        width = max(k, test_k + most_valid)
    wide_values, wide_positions = top_k(logits, width)
    wide_items = order[wide_positions]
    items = wide_items[:, :k].masked_fill(torch.isinf(wide_values[:, :k]), -1)
    scores = torch.sigmoid(wide_values[:, :k])
    if held is None:
        return items, scores, None, None
    valid, test = held
    ranked = wide_values.masked_fill(valid.contains(lo, hi, wide_items), float("-inf"))
    best = ranked.sort(dim=1, descending=True, stable=True)          # equal scores keep their tie order
    best_items = torch.gather(wide_items, 1, best.indices[:, :test_k])
    hits = test.contains(lo, hi, best_items) & ~torch.isinf(best.values[:, :test_k])
    n_truth = torch.bincount(test.rows(lo, hi)[0], minlength=hi - lo).numpy()
    has = n_truth > 0
    return items, scores, hits.numpy()[has], n_truth[has]


@torch.no_grad()
def final_scoring(model: Recommender, data: TrainData, *, test: bool, k: int = PUBLISH_K,
                  users_per_chunk: int = 256) -> tuple[dict[str, float], Embeddings]:
    """Score every user against every track ONCE, ``users_per_chunk`` users at a time (as many
    chunks at once as torch has threads: ``topk`` runs on one), and take from the same scores
    (1) what publish writes (:func:`embeddings`) and (2) with ``test``, the test metrics
    :func:`~mmkg.train.evaluate.evaluate` gives (CTR, and top-K of each user with a test listen
    over all tracks but their training and validation ones), which would otherwise score all
    pairs a second time. On a ``cold-items`` export the test metrics come from ``evaluate``
    (warm candidates, cold and mixed rankings). Returns ``(test metrics or {}, embeddings)``."""
    model.eval()
    track, user = model.get_embedding()
    split, n_items = data.split, data.n_items
    shared = test and data.cold_items.size == 0
    train = _PairsByUser(data.train, data.n_users, n_items)
    held = ((_PairsByUser(split["valid"], data.n_users, n_items),
             _PairsByUser(split["test"], data.n_users, n_items)) if shared else None)
    k, test_k = min(k, n_items), min(max(TOPK), n_items)
    starts = range(0, data.n_users, users_per_chunk)
    with ThreadPoolExecutor(max(1, torch.get_num_threads())) as pool:
        chunks = list(pool.map(lambda lo: _score_users(model, lo, min(lo + users_per_chunk, data.n_users),
                                                       k, test_k, train, held), starts))
    published = Embeddings(track_ids=list(data.item_ids), user_ids=list(data.user_ids),
                           track=track.float(), user=user.float(),
                           topk_items=torch.cat([c[0] for c in chunks]) if chunks else torch.empty(0, k, dtype=torch.long),
                           topk_scores=torch.cat([c[1] for c in chunks]) if chunks else torch.empty(0, k))
    if not test:
        return {}, published
    if not shared:
        return evaluate(model, data, "test", users_per_chunk), published
    out: dict[str, float] = {}
    negatives = split.get("test_neg")
    if negatives is not None and len(negatives) and len(split["test"]):
        out.update(ctr_metrics(model, split["test"], negatives))
    hits = [c[2] for c in chunks if len(c[2])]
    if hits:
        out.update(metrics.topk_metrics(np.concatenate(hits), np.concatenate([c[3] for c in chunks]), TOPK))
    return out, published


def plot_curves(history: list[dict[str, float]], monitor: str, path: Path) -> None:
    """Training loss and validation metrics per epoch (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_valid) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [h["epoch"] for h in history]
    ax_loss.plot(epochs, [h["loss"] for h in history], marker="o")
    ax_loss.set(title="training loss", xlabel="epoch")
    for key in (f"valid_{m}" for m in MONITORS):
        if history and key in history[0]:
            ax_valid.plot(epochs, [h[key] for h in history], marker="o", label=key[len("valid_"):])
    ax_valid.set(title=f"validation (selection: {monitor})", xlabel="epoch")
    if ax_valid.lines:
        ax_valid.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
