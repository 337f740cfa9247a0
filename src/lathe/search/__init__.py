"""Search: candidates from several learner families, compared honestly by cross-validation."""

from lathe.search._blend import BlendModel, load_model
from lathe.search._catboost import catboost_trees
from lathe.search._checkpoint import KILL_AT, Checkpoint, check_checkpoint_folder
from lathe.search._cost import median_ms
from lathe.search._described import ZERO, Affine, Tree, Trees, describe_model
from lathe.search._leaderboard import Candidate, Leaderboard
from lathe.search._learners import FAMILIES, Family, Fit, Model, linked, signed_log, use_threads
from lathe.search._metrics import Metric, decided, metric_for, metrics_for
from lathe.search._screen import useless_features
from lathe.search._search import (
    SEARCH_ROWS,
    Layout,
    SearchObserver,
    SearchSpec,
    open_checkpoint,
    refit,
    run_search,
)
from lathe.search._tree_shap import LIGHTGBM_ZERO, leaf_scale
from lathe.search._tree_walk import split_below
from lathe.search._xgboost import xgboost_trees

__all__ = [
    "FAMILIES",
    "KILL_AT",
    "LIGHTGBM_ZERO",
    "SEARCH_ROWS",
    "ZERO",
    "Affine",
    "BlendModel",
    "Candidate",
    "Checkpoint",
    "Family",
    "Fit",
    "Layout",
    "Leaderboard",
    "Metric",
    "Model",
    "SearchObserver",
    "SearchSpec",
    "Tree",
    "Trees",
    "catboost_trees",
    "check_checkpoint_folder",
    "decided",
    "describe_model",
    "leaf_scale",
    "linked",
    "load_model",
    "median_ms",
    "metric_for",
    "metrics_for",
    "open_checkpoint",
    "refit",
    "run_search",
    "signed_log",
    "split_below",
    "use_threads",
    "useless_features",
    "xgboost_trees",
]
