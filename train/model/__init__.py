"""Model layers (one per file) and the recommenders composed from them."""

from mmkg.train.model.base import Recommender
from mmkg.train.model.fusion import MultiModalFusion
from mmkg.train.model.kgconv import KGConv
from mmkg.train.model.mkgcn import MKGCN
from mmkg.train.model.user import UserAggregator

__all__ = ["Recommender", "MultiModalFusion", "KGConv", "UserAggregator", "MKGCN"]
