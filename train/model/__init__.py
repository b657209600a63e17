"""Model layers (one per file) and the registered recommenders composed from them.

Importing this package imports every module in its folder, which registers every model in
:data:`mmkg.train.registry.MODELS` (a new model is one file here, plus its defaults
``train/configs/models/<name>.toml``); :func:`build_model` builds the one a config names.
"""

import importlib
import pkgutil

import numpy as np

from mmkg.train.model.base import Recommender, VectorRecommender
from mmkg.train.model.bprmf import BPRMF
from mmkg.train.model.content_knn import ContentKNN
from mmkg.train.model.fastrp import FastRP
from mmkg.train.model.fusion import MultiModalFusion
from mmkg.train.model.kg_knn import KGKNN, KGNeighbourPopularity
from mmkg.train.model.kgconv import KGConv
from mmkg.train.model.lightgcn import LightGCN
from mmkg.train.model.mkgcn import MKGCN
from mmkg.train.model.mkgcn_paper import KGCN, MKGCNPaper
from mmkg.train.model.popularity import Popularity
from mmkg.train.model.random_scores import RandomScores
from mmkg.train.model.user import UserAggregator
from mmkg.train.registry import MODELS

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def build_model(config, data, rng: np.random.Generator) -> Recommender:
    """The recommender named by ``config.name`` (a :class:`~mmkg.train.config.ModelConfig`),
    built on :class:`mmkg.train.data.TrainData` with ``rng`` for any sampled tables."""
    return MODELS.get(config.name).from_data(config, data, rng)


__all__ = ["build_model", "Recommender", "VectorRecommender",
           "MultiModalFusion", "KGConv", "UserAggregator", "MKGCN", "MKGCNPaper", "KGCN",
           "Popularity", "BPRMF", "LightGCN", "FastRP", "RandomScores", "ContentKNN", "KGKNN",
           "KGNeighbourPopularity"]
