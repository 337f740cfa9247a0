"""XGBoost: gradient-boosted trees (``hist``) from XGBoost's CPU library, saved in its JSON format.

XGBoost sends a row left at a split when ``float32(x) < split`` (features are read as float32),
and adds up its trees in single precision: after 2,000 trees its prediction can be a few parts
in a million away from the exact sum of its leaves, more than the 1e-6 every export is checked
to. lathe reads the trees from XGBoost's JSON model instead (``xgboost_trees``), each split
turned into the rule ``x <= threshold`` in double precision that decides every double as
XGBoost does (``split_below``), and adds them up in double precision, as ONNX, PMML and SQL do:
the numbers are those of XGBoost's trees, without its rounding. One row is walked through the
trees by a compiled loop (numba), faster than XGBoost's own predictor set up for one row.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, ClassVar

import numba
import numpy as np
import optuna
import xgboost as xgb
from numpy.typing import ArrayLike

from lathe.profile import Task
from lathe.search import _learners
from lathe.search._learners import MAX_ROUNDS, PATIENCE, Fit, Model
from lathe.search._tree_shap import TreeShap

OBJECTIVES = {Task.BINARY: "binary:logistic", Task.MULTICLASS: "multi:softprob", Task.REGRESSION: "reg:squarederror"}
METRICS = {Task.BINARY: "logloss", Task.MULTICLASS: "mlogloss", Task.REGRESSION: "rmse"}
BLOCK = 64  # rows walked through one tree after another
FEW = 8  # fewer rows than this walk the trees one by one
ROWS_PER_THREAD = 2000  # fewer rows than this per thread are walked on one
_FLOAT32_OVERFLOW = 2.0**128  # one float32 step beyond the largest


def split_below(split: ArrayLike) -> np.ndarray:
    """The largest double ``x`` with ``float32(x) < split`` (``split`` float32 numbers, each worked
    out apart): XGBoost's rule ``float32(x) < split`` is ``x <= split_below(split)`` for every double ``x``.

    Doubles round to the float32 below ``split`` up to the midpoint between the two, which
    itself rounds to the one of even mantissa.
    """
    above = np.asarray(split, dtype=np.float32)
    with np.errstate(over="ignore"):  # below the lowest float32 is -inf: doubles from halfway to -2**128 round to it
        below = np.nextafter(above, np.float32(-np.inf))
        lower = np.where(np.isfinite(below), below.astype(np.float64), -_FLOAT32_OVERFLOW)
        middle = (lower + above.astype(np.float64)) / 2  # exact: two neighbouring float32 need 25 bits
        rounds_below = middle.astype(np.float32) < above
    return np.where(rounds_below, middle, np.nextafter(middle, -np.inf))


def xgboost_trees(booster: xgb.Booster) -> list[tuple[dict[str, Any], int]]:
    """The trees of ``booster``, read from its JSON model, in the layout of LightGBM's
    ``dump_model`` (``tree_structure``), which lathe's TreeSHAP and exports read, each with the
    margin it adds to; then, per margin, a tree of one leaf holding the base score as a margin.

    Splits are ``x <= threshold`` in double precision (see ``split_below``), a missing value
    going the default way (``missing_type`` NaN); ``internal_count`` and ``leaf_count`` are the
    nodes' cover (the sum of the training rows' hessians), as XGBoost's TreeSHAP weighs them.
    Leaf values are XGBoost's float32 numbers. Raises ``ValueError`` for what lathe does not
    fit: another objective or booster, categorical or multi-target trees.
    """
    learner = json.loads(booster.save_raw("json"))["learner"]
    model = learner["gradient_booster"]
    objective = learner["objective"]["name"]
    if model["name"] != "gbtree" or objective not in OBJECTIVES.values():
        raise ValueError(f"lathe reads XGBoost gbtree models of objective {', '.join(OBJECTIVES.values())}, "
                         f"not a {model['name']} model of {objective}")  # fmt: skip
    trees = model["model"]["trees"]
    if any(int(t["tree_param"]["size_leaf_vector"]) > 1 or any(t["split_type"]) for t in trees):
        raise ValueError("lathe reads XGBoost trees of numeric splits and one value per leaf, not categorical "
                         "splits or multi-target leaves")  # fmt: skip
    roots = [(_nested(tree), int(margin)) for tree, margin in zip(trees, model["model"]["tree_info"], strict=True)]
    offsets = _base_margins(learner["learner_model_param"]["base_score"], objective)
    margins = max(1, int(learner["learner_model_param"]["num_class"]))
    offsets = np.broadcast_to(offsets, margins)
    return roots + [({"leaf_value": float(offsets[m]), "leaf_count": 1.0}, m) for m in range(margins)]


def _base_margins(stored: str, objective: str) -> np.ndarray:
    """The base score as margins: XGBoost stores it as one number or a vector (``[a,b,c]``), for
    logistic regression as a probability (its log-odds is the margin), else as the margin."""
    values = np.array([np.float32(v) for v in stored.strip("[]").split(",")], dtype=np.float64)
    if objective == "binary:logistic":
        return np.asarray(np.log(values / (1.0 - values)))
    return values


def _nested(tree: dict[str, Any]) -> dict[str, Any]:
    """``tree``'s nodes as nested dicts, its numbers converted for every node at once."""
    cover = np.asarray(tree["sum_hessian"], dtype=np.float32).tolist()
    conditions = np.asarray(tree["split_conditions"], dtype=np.float32)
    values = conditions.tolist()  # a leaf's value, or a split's float32 threshold
    thresholds = split_below(conditions).tolist()
    left, right = tree["left_children"], tree["right_children"]
    feature, default_left = tree["split_indices"], tree["default_left"]

    def node(at: int) -> dict[str, Any]:
        if left[at] == -1:
            return {"leaf_value": values[at], "leaf_count": cover[at]}
        return {
            "split_feature": int(feature[at]), "threshold": thresholds[at], "decision_type": "<=",
            "missing_type": "NaN", "default_left": bool(default_left[at]), "internal_count": cover[at],
            "left_child": node(left[at]), "right_child": node(right[at]),
        }  # fmt: skip

    return node(0)


@dataclass(frozen=True)
class _Forest:
    """Every tree's nodes as flat arrays for the compiled walk, the two children of a split side by
    side (``child`` the left one, the right one next) and each leaf its own child with threshold
    +inf: a row takes exactly its tree's ``depth`` steps, without a branch."""

    roots: np.ndarray
    margins: np.ndarray
    depth: np.ndarray
    feature: np.ndarray  # 0 at a leaf
    child: np.ndarray
    threshold: np.ndarray  # +inf at a leaf
    nan_right: np.ndarray  # a missing value goes right
    value: np.ndarray  # a leaf's value (0 at a split)

    @classmethod
    def of(cls, trees: list[tuple[dict[str, Any], int]]) -> _Forest:
        feature: list[int] = []
        child: list[int] = []
        threshold: list[float] = []
        nan_right: list[bool] = []
        value: list[float] = []

        def slots(count: int) -> int:
            """``count`` new nodes, each a leaf of value 0 for now; the first one's index."""
            first = len(feature)
            feature.extend([0] * count)
            child.extend(range(first, first + count))
            threshold.extend([np.inf] * count)
            nan_right.extend([False] * count)
            value.extend([0.0] * count)
            return first

        def place(node: dict[str, Any], at: int) -> int:
            """Put ``node`` and its subtree at node ``at``; return the subtree's depth."""
            if "split_feature" not in node:
                value[at] = node["leaf_value"]
                return 0
            first = slots(2)
            feature[at], child[at], threshold[at] = node["split_feature"], first, node["threshold"]
            nan_right[at] = not node["default_left"]
            return 1 + max(place(node["left_child"], first), place(node["right_child"], first + 1))

        roots = [slots(1) for _ in trees]
        depth = [place(root, at) for (root, _), at in zip(trees, roots, strict=True)]
        margins = [margin for _, margin in trees]
        return cls(
            roots=np.array(roots, dtype=np.int64), margins=np.array(margins, dtype=np.int64),
            depth=np.array(depth, dtype=np.int64), feature=np.array(feature, dtype=np.int64),
            child=np.array(child, dtype=np.int64), threshold=np.array(threshold, dtype=np.float64),
            nan_right=np.array(nan_right, dtype=np.bool_), value=np.array(value, dtype=np.float64),
        )  # fmt: skip

    def margin(self, X: np.ndarray, outputs: int, threads: int) -> np.ndarray:
        """The sum of the trees per margin, rows x ``outputs``, on up to ``threads`` threads."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.zeros((len(X), outputs))
        arrays = (self.roots, self.margins, self.depth, self.feature, self.child, self.threshold, self.nan_right,
                  self.value)  # fmt: skip
        if len(X) < FEW:  # serving's case: one row, whose walk is faster where the CPU can guess ahead
            _walk_few(X, out, *arrays)
            return out
        parts = min(threads, len(X) // ROWS_PER_THREAD)
        if parts <= 1:
            _walk(X, out, *arrays)
            return out
        cuts = np.linspace(0, len(X), parts + 1).astype(int)
        list(_pool(parts).map(lambda c: _walk(X[c[0] : c[1]], out[c[0] : c[1]], *arrays), itertools.pairwise(cuts)))
        return out


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="lathe-xgboost")


@numba.njit(cache=True, nogil=True)
def _walk(
    X: np.ndarray, out: np.ndarray, roots: np.ndarray, margins: np.ndarray, depth: np.ndarray, feature: np.ndarray,
    child: np.ndarray, threshold: np.ndarray, nan_right: np.ndarray, value: np.ndarray,
) -> None:  # fmt: skip
    """Add each tree's leaf for each row of ``X`` to the row's margin in ``out``: a block of rows
    walks one tree after another, one level at a time, so that the tree stays in the cache and
    the rows' walks overlap; a row goes right where ``x > threshold``, or where it is missing
    and the split sends missing values right."""
    node = np.empty(BLOCK, dtype=np.int64)
    for start in range(0, X.shape[0], BLOCK):
        rows = min(BLOCK, X.shape[0] - start)
        for tree in range(roots.shape[0]):
            node[:rows] = roots[tree]
            for _ in range(depth[tree]):
                for j in range(rows):
                    at = node[j]
                    x = X[start + j, feature[at]]
                    node[j] = child[at] + np.int64((x > threshold[at]) | (np.isnan(x) & nan_right[at]))
            for j in range(rows):
                out[start + j, margins[tree]] += value[node[j]]


@numba.njit(cache=True, nogil=True)
def _walk_few(
    X: np.ndarray, out: np.ndarray, roots: np.ndarray, margins: np.ndarray, depth: np.ndarray, feature: np.ndarray,
    child: np.ndarray, threshold: np.ndarray, nan_right: np.ndarray, value: np.ndarray,
) -> None:  # fmt: skip
    """``_walk`` for a few rows: each row down each tree on its own, branching at each split."""
    for row in range(X.shape[0]):
        for tree in range(roots.shape[0]):
            at = roots[tree]
            while child[at] != at:
                x = X[row, feature[at]]
                at = child[at] + 1 if x > threshold[at] or (np.isnan(x) and nan_right[at]) else child[at]
            out[row, margins[tree]] += value[at]


@dataclass(frozen=True)
class XGBoostModel:
    """An XGBoost booster, saved in XGBoost's JSON format; predicts by its trees in double precision."""

    family: ClassVar[str] = "xgboost"
    task: Task
    booster: xgb.Booster

    @cached_property
    def _trees(self) -> list[tuple[dict[str, Any], int]]:
        return xgboost_trees(self.booster)

    @cached_property
    def _forest(self) -> _Forest:
        return _Forest.of(self._trees)

    @cached_property
    def _outputs(self) -> int:
        return 1 + max(margin for _, margin in self._trees)

    def margin(self, X: np.ndarray) -> np.ndarray:
        return self._forest.margin(X, self._outputs, _learners.threads())

    def predict(self, X: np.ndarray) -> np.ndarray:
        return _learners.linked(self.task, self.margin(X))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        # Exact TreeSHAP in double precision over the same trees (see _tree_shap); XGBoost's own
        # pred_contribs (single precision) where the tables would be too large.
        if self._tree_shap is None:
            self.booster.set_param({"nthread": _learners.threads()})
            raw = self.booster.predict(xgb.DMatrix(X, nthread=_learners.threads()), pred_contribs=True)
            return np.asarray(raw, dtype=np.float64).reshape(len(X), -1, X.shape[1] + 1)
        return self._tree_shap.contributions(X, _learners.threads()).reshape(len(X), -1, X.shape[1] + 1)

    @cached_property
    def _tree_shap(self) -> TreeShap | None:
        return TreeShap.of_trees(self._trees, self._outputs, self.booster.num_features())

    def save(self, folder: Path, stem: str = "model") -> str:
        (folder / f"{stem}.xgboost.json").write_bytes(self.booster.save_raw("json"))
        return f"{stem}.xgboost.json"


class XGBoost:
    """Gradient-boosted trees (XGBoost's ``hist``) with early stopping on a validation fold."""

    name: ClassVar[str] = "xgboost"
    portfolio: ClassVar[tuple[dict[str, Any], ...]] = (
        {"max_depth": 6, "learning_rate": 0.1, "min_child_weight": 1.0, "subsample": 1.0, "colsample_bytree": 0.9,
         "reg_lambda": 1.0},
        {"max_depth": 8, "learning_rate": 0.05, "min_child_weight": 3.0, "subsample": 0.8, "colsample_bytree": 0.7,
         "reg_lambda": 1.0},
        {"max_depth": 4, "learning_rate": 0.05, "min_child_weight": 5.0, "subsample": 0.9, "colsample_bytree": 0.8,
         "reg_lambda": 5.0},
    )  # fmt: skip

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "max_depth": trial.suggest_int("xgboost.max_depth", 2, 10),
            "learning_rate": trial.suggest_float("xgboost.learning_rate", 0.01, 0.3, log=True),
            "min_child_weight": trial.suggest_float("xgboost.min_child_weight", 0.5, 50.0, log=True),
            "subsample": trial.suggest_float("xgboost.subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("xgboost.colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("xgboost.reg_lambda", 1e-3, 10.0, log=True),
        }

    def fit(
        self, X: np.ndarray, y: np.ndarray, task: Task, params: dict[str, Any], n_classes: int = 0,
        valid: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0, weight: np.ndarray | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Fit:  # fmt: skip
        config = {
            "objective": OBJECTIVES[task], "eval_metric": METRICS[task], "tree_method": "hist", "seed": seed,
            "nthread": _learners.threads(), "verbosity": 0, **{k: v for k, v in params.items() if k != "rounds"},
        }  # fmt: skip
        if task is Task.MULTICLASS:
            config["num_class"] = n_classes
        rounds = int(params.get("rounds", MAX_ROUNDS))
        train = xgb.QuantileDMatrix(X, y, weight=weight, nthread=_learners.threads())
        cut = _Cut(stop)
        if valid is None:
            booster = xgb.train(config, train, num_boost_round=rounds, callbacks=[cut])
            return Fit(XGBoostModel(task, booster), rounds, cut.cut)
        check = xgb.QuantileDMatrix(valid[0], valid[1], ref=train, nthread=_learners.threads())
        booster = xgb.train(
            config, train, num_boost_round=rounds, evals=[(check, "valid")], early_stopping_rounds=PATIENCE,
            verbose_eval=False, callbacks=[cut],
        )  # fmt: skip
        if cut.cut:  # possibly before early stopping has a best round
            return Fit(XGBoostModel(task, booster), None, cut=True)
        best = booster.best_iteration + 1
        return Fit(XGBoostModel(task, booster[:best]), best)

    def load(self, folder: Path, file: str, task: Task) -> Model:
        booster = xgb.Booster(params={"nthread": _learners.threads()})
        booster.load_model(bytearray((folder / file).read_bytes()))
        return XGBoostModel(task, booster)


class _Cut(xgb.callback.TrainingCallback):
    """Ends the training where ``stop`` says so, and remembers it."""

    def __init__(self, stop: Callable[[], bool] | None) -> None:
        super().__init__()
        self.stop, self.cut = stop, False

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.cut = self.stop is not None and self.stop()
        return self.cut
