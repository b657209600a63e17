"""Model layers (one per file) and the recommenders composed from them."""

from train.model.base import Recommender
from train.model.fusion import MultiModalFusion
from train.model.kgconv import KGConv
from train.model.mkgcn import MKGCN
from train.model.user import UserAggregator

__all__ = ["Recommender", "MultiModalFusion", "KGConv", "UserAggregator", "MKGCN"]
