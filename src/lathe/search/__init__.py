"""Search: candidates from several learner families, compared honestly by cross-validation."""

from lathe.search._leaderboard import Candidate, Leaderboard
from lathe.search._learners import FAMILIES, Family, Fit, Model, use_threads
from lathe.search._metrics import Metric, metric_for, metrics_for
from lathe.search._search import SEARCH_ROWS, SearchObserver, SearchSpec, run_search
from lathe.search._tree_shap import LIGHTGBM_ZERO
from lathe.search._xgboost import split_below, xgboost_trees

__all__ = [
    "FAMILIES",
    "LIGHTGBM_ZERO",
    "SEARCH_ROWS",
    "Candidate",
    "Family",
    "Fit",
    "Leaderboard",
    "Metric",
    "Model",
    "SearchObserver",
    "SearchSpec",
    "metric_for",
    "metrics_for",
    "run_search",
    "split_below",
    "use_threads",
    "xgboost_trees",
]
