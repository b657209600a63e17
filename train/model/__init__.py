"""Model layers (one per file) and the registered recommenders composed from them.

Importing this package registers every model in :data:`MODELS`; :func:`build_model` builds the
one a config names.
"""

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
from mmkg.train.model.registry import MODELS, register_model
from mmkg.train.model.user import UserAggregator


def build_model(config, data, rng: np.random.Generator) -> Recommender:
    """The recommender named by ``config.model`` (a :class:`~mmkg.train.config.ModelConfig`),
    built on :class:`mmkg.train.data.TrainData` with ``rng`` for any sampled tables."""
    return MODELS[config.model].from_data(config, data, rng)


__all__ = ["MODELS", "register_model", "build_model", "Recommender", "VectorRecommender",
           "MultiModalFusion", "KGConv", "UserAggregator", "MKGCN", "MKGCNPaper", "KGCN",
           "Popularity", "BPRMF", "LightGCN", "FastRP", "RandomScores", "ContentKNN", "KGKNN",
           "KGNeighbourPopularity"]
