"""CatBoost: gradient-boosted oblivious trees, saved in CatBoost's JSON format.

An oblivious tree asks the same question at every node of a level: its leaf is picked by one
bit per level, bit ``i`` set where ``float32(x) > border`` at split ``i``. lathe reads the trees
from CatBoost's JSON model (``catboost_trees``) as ordinary trees in the layout its TreeSHAP and
exports read, each split turned into the rule ``x <= threshold`` in double precision that decides
every double as CatBoost does (see ``split_below``), and predicts by walking them (``_tree_walk``).
CatBoost adds up its leaves in double precision too, so the numbers are CatBoost's own.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import catboost
import numpy as np
import optuna

from lathe.profile import Task
from lathe.search import _learners
from lathe.search._learners import MAX_ROUNDS, PATIENCE, Fit, Model
from lathe.search._tree_walk import WalkedTrees, split_below

LOSSES = {Task.BINARY: "Logloss", Task.MULTICLASS: "MultiClass", Task.REGRESSION: "RMSE"}
EMPTY = 1e-9  # the weight TreeSHAP gives a leaf no training row reached (CatBoost keeps such leaves)
ABSENT_WEIGHT = 1e-6  # the weight of the one row that stands for a class absent from the training rows


def catboost_trees(document: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    """The trees of a CatBoost JSON model, in the layout of LightGBM's ``dump_model``, each with the
    margin it adds to (an oblivious tree of several margins as one tree per margin); then, per
    margin, a tree of one leaf holding the bias.

    Splits are ``x <= threshold`` in double precision, a missing value going the way CatBoost
    sends it. ``internal_count`` and ``leaf_count`` are the training rows' weights in each node,
    as CatBoost's TreeSHAP weighs them; a leaf no row reached weighs ``EMPTY``. Raises
    ``ValueError`` for what lathe does not fit: categorical or text features, non-symmetric trees.
    """
    features = document["features_info"]
    if set(features) - {"float_features"} or "oblivious_trees" not in document:
        raise ValueError("lathe reads CatBoost models of numeric features and oblivious trees only")
    nan_right = {int(f["feature_index"]): f.get("nan_value_treatment") == "AsTrue" for f in features["float_features"]}
    scale, bias = document["scale_and_bias"]
    offsets = np.atleast_1d(np.asarray(bias, dtype=np.float64))
    trees = []
    for tree in document["oblivious_trees"]:
        splits = tree["splits"]
        borders = np.asarray([s["border"] for s in splits], dtype=np.float32)
        thresholds = split_below(np.nextafter(borders, np.float32(np.inf))).tolist()  # float32(x) <= border
        weights = np.maximum(np.asarray(tree["leaf_weights"], dtype=np.float64), EMPTY)
        values = np.asarray(tree["leaf_values"], dtype=np.float64).reshape(len(weights), len(offsets)) * scale
        for margin in range(len(offsets)):
            trees.append((_oblivious(splits, thresholds, nan_right, weights, values[:, margin]), margin))
    return trees + [({"leaf_value": float(offsets[m]), "leaf_count": 1.0}, m) for m in range(len(offsets))]


def _oblivious(
    splits: list[dict[str, Any]], thresholds: list[float], nan_right: dict[int, bool], weights: np.ndarray,
    values: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """An oblivious tree as nested nodes: the last split at the root, so that the leaves, left to
    right, are in the order of their index (bit ``i`` for split ``i``)."""

    def node(level: int, leaf: int) -> dict[str, Any]:
        """The subtree of the levels up to ``level``, under the leaf bits ``leaf`` already decided."""
        if level < 0:
            return {"leaf_value": float(values[leaf]), "leaf_count": float(weights[leaf])}
        feature = int(splits[level]["float_feature_index"])
        span = 1 << (level + 1)
        return {
            "split_feature": feature, "threshold": thresholds[level], "decision_type": "<=", "missing_type": "NaN",
            "default_left": not nan_right[feature], "internal_count": float(weights[leaf : leaf + span].sum()),
            "left_child": node(level - 1, leaf), "right_child": node(level - 1, leaf | 1 << level),
        }  # fmt: skip

    return node(len(splits) - 1, 0)


@dataclass(frozen=True)
class CatBoostModel(WalkedTrees):
    """A CatBoost model, kept and saved as CatBoost's JSON; predicts by its trees in double precision."""

    family: ClassVar[str] = "catboost"
    task: Task
    document: dict[str, Any]

    def _read(self) -> list[tuple[dict[str, Any], int]]:
        return catboost_trees(self.document)

    @property
    def features(self) -> int:
        return len(self.document["features_info"]["float_features"])

    def _own_contributions(self, X: np.ndarray) -> np.ndarray:
        raw = self._native.get_feature_importance(
            catboost.Pool(X), type="ShapValues", thread_count=_learners.threads(), verbose=False
        )
        return np.asarray(raw, dtype=np.float64).reshape(len(X), -1, X.shape[1] + 1)

    @cached_property
    def _native(self) -> catboost.CatBoost:
        with tempfile.TemporaryDirectory() as folder:
            file = self.save(Path(folder))
            return catboost.CatBoost().load_model(str(Path(folder) / file), format="json")

    def save(self, folder: Path, stem: str = "model") -> str:
        (folder / f"{stem}.catboost.json").write_text(json.dumps(self.document))
        return f"{stem}.catboost.json"


class CatBoost:
    """Gradient-boosted oblivious trees (CatBoost) with early stopping on a validation fold."""

    name: ClassVar[str] = "catboost"
    # The first is quick (a fold of digits in about 9 s on one thread, where the second takes 17 s
    # and LightGBM's first 0.4 s) and nearly as good; the second is CatBoost's usual depth and rate.
    portfolio: ClassVar[tuple[dict[str, Any], ...]] = (
        {"depth": 5, "learning_rate": 0.15, "l2_leaf_reg": 1.0, "random_strength": 1.0},
        {"depth": 6, "learning_rate": 0.08, "l2_leaf_reg": 3.0, "random_strength": 1.0},
    )

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "depth": trial.suggest_int("catboost.depth", 3, 8),
            "learning_rate": trial.suggest_float("catboost.learning_rate", 0.02, 0.3, log=True),
            "l2_leaf_reg": trial.suggest_float("catboost.l2_leaf_reg", 0.5, 30.0, log=True),
            "random_strength": trial.suggest_float("catboost.random_strength", 0.1, 10.0, log=True),
        }

    def fit(
        self, X: np.ndarray, y: np.ndarray, task: Task, params: dict[str, Any], n_classes: int = 0,
        valid: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0, weight: np.ndarray | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Fit:  # fmt: skip
        rounds = int(params.get("rounds", MAX_ROUNDS))
        config = {
            "loss_function": LOSSES[task], "iterations": rounds, "random_seed": seed,
            "thread_count": _learners.threads(), "logging_level": "Silent", "allow_writing_files": False,
            "allow_const_label": True, **{k: v for k, v in params.items() if k != "rounds"},
        }  # fmt: skip
        if task is Task.MULTICLASS:
            config["classes_count"] = n_classes
        if task is not Task.REGRESSION:
            X, y, weight = _every_class(X, y, weight, 2 if task is Task.BINARY else n_classes)
        model, cut = catboost.CatBoost(config), _Cut(stop)
        train = catboost.Pool(X, y, weight=weight, thread_count=_learners.threads())
        if valid is None:
            model.fit(train, callbacks=[cut])
            return Fit(CatBoostModel(task, _document(model)), rounds, cut.cut)
        check = catboost.Pool(valid[0], valid[1], thread_count=_learners.threads())
        model.fit(train, eval_set=check, early_stopping_rounds=PATIENCE, use_best_model=True, callbacks=[cut])
        best = None if cut.cut else model.get_best_iteration() + 1  # the trees after the best are dropped
        return Fit(CatBoostModel(task, _document(model)), best, cut.cut)

    def load(self, folder: Path, file: str, task: Task) -> Model:
        return CatBoostModel(task, json.loads((folder / file).read_text()))


def _every_class(
    X: np.ndarray, y: np.ndarray, weight: np.ndarray | None, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The rows, plus one row of negligible weight for each class absent from them (an early block
    of time-ordered folds): CatBoost leaves such a class out of its model (and of one class, takes
    it for the first), lathe needs its margin."""
    absent = np.setdiff1d(np.arange(n_classes), y)
    if not len(absent):
        return X, y, weight
    weights = np.ones(len(y)) if weight is None else weight
    return (np.vstack([X, np.repeat(X[:1], len(absent), axis=0)]), np.concatenate([y, absent]),
            np.concatenate([weights, np.full(len(absent), ABSENT_WEIGHT)]))  # fmt: skip


UNREPEATABLE = ("model_guid", "train_finish_time")  # CatBoost's model_info: a random id and a clock time


def _document(model: catboost.CatBoost) -> dict[str, Any]:
    """A fitted model's JSON, which CatBoost writes only to a file, less the fields that differ
    between two identical fits (``UNREPEATABLE``), so that a model file is reproducible."""
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "model.json"
        model.save_model(str(file), format="json")
        document = dict(json.loads(file.read_text()))
    info = document.get("model_info")
    if isinstance(info, dict):
        document["model_info"] = {k: v for k, v in info.items() if k not in UNREPEATABLE}
    return document


class _Cut:
    """Ends the training where ``stop`` says so, and remembers it."""

    def __init__(self, stop: Callable[[], bool] | None) -> None:
        self.stop, self.cut = stop, False

    def after_iteration(self, info: Any) -> bool:
        self.cut = self.stop is not None and self.stop()
        return not self.cut
