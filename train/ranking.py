"""Exact top-K ranking of a restricted candidate set, the core of every top-K evaluation."""

from __future__ import annotations

import logging

import numpy as np
import torch

from mmkg.train.config import USERS_PER_CHUNK
from mmkg.train.model.base import Recommender

log = logging.getLogger(__name__)


def by_user(pairs: np.ndarray, n_users: int) -> list[np.ndarray]:
    """The items of each user's ``(user, item)`` pairs, by user index."""
    order = np.argsort(pairs[:, 0], kind="stable")
    counts = np.bincount(pairs[:, 0], minlength=n_users)
    return np.split(pairs[order, 1], np.cumsum(counts)[:-1])


@torch.no_grad()
def ranked(model: Recommender, truth: np.ndarray, exclude: np.ndarray, n_users: int, k: int,
           candidates: np.ndarray | None = None, users_per_chunk: int = USERS_PER_CHUNK
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top-``k`` of each user having ``truth`` pairs, over the ``candidates`` items (bool
    ``[n_items]``; None: all) minus the user's ``exclude`` pairs.

    Returns ``(top [U, k] items, hits [U, k] bool, n_truth [U])``; a slot past the user's
    candidates holds item ``-1`` (never a hit).
    """
    truth_by_user = by_user(truth, n_users)
    users = np.flatnonzero([len(t) > 0 for t in truth_by_user])
    skipped = n_users - len(users)
    if skipped:
        log.debug("top-K: %d of %d users have no ground truth in this split and are not ranked",
                  skipped, n_users)
    k = min(k, model.n_items)
    tops, hits, n_truth = [np.empty((0, k), np.int64)], [np.empty((0, k), bool)], [np.empty(0, np.int64)]
    allowed = None if candidates is None else torch.as_tensor(candidates)
    for start in range(0, len(users), users_per_chunk):
        chunk = users[start:start + users_per_chunk]
        row_of = np.full(n_users, -1)
        row_of[chunk] = np.arange(len(chunk))
        sel = exclude[np.isin(exclude[:, 0], chunk)]
        known = (torch.as_tensor(row_of[sel[:, 0]]), torch.as_tensor(sel[:, 1]))
        top, logit = model.recommend(torch.as_tensor(chunk), k, known, allowed)
        relevant = torch.zeros(len(chunk), model.n_items, dtype=torch.bool)
        for r, u in enumerate(chunk):
            relevant[r, truth_by_user[u]] = True
        rankable = ~torch.isinf(logit)
        tops.append(top.masked_fill(~rankable, -1).numpy())
        hits.append((torch.gather(relevant, 1, top) & rankable).numpy())
        n_truth.append(np.array([len(truth_by_user[u]) for u in chunk]))
    return np.concatenate(tops), np.concatenate(hits), np.concatenate(n_truth)
