"""XGBoost: gradient-boosted trees (``hist``) from XGBoost's CPU library, saved in its JSON format.

XGBoost sends a row left at a split when ``float32(x) < split`` (features are read as float32),
and adds up its trees in single precision: after 2,000 trees its prediction can be a few parts
in a million away from the exact sum of its leaves, more than the 1e-6 every export is checked
to. lathe reads the trees from XGBoost's JSON model instead (``xgboost_trees``), each split
turned into the rule ``x <= threshold`` in double precision that decides every double as
XGBoost does (``split_below``), and adds them up in double precision, as ONNX, PMML and SQL do
(``_tree_walk``): the numbers are those of XGBoost's trees, without its rounding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import optuna
import xgboost as xgb

from lathe.profile import Task
from lathe.search import _learners
from lathe.search._learners import MAX_ROUNDS, PATIENCE, Fit, Model
from lathe.search._tree_walk import WalkedTrees, split_below

OBJECTIVES = {Task.BINARY: "binary:logistic", Task.MULTICLASS: "multi:softprob", Task.REGRESSION: "reg:squarederror"}
METRICS = {Task.BINARY: "logloss", Task.MULTICLASS: "mlogloss", Task.REGRESSION: "rmse"}


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
class XGBoostModel(WalkedTrees):
    """An XGBoost booster, saved in XGBoost's JSON format; predicts by its trees in double precision."""

    family: ClassVar[str] = "xgboost"
    task: Task
    booster: xgb.Booster

    def _read(self) -> list[tuple[dict[str, Any], int]]:
        return xgboost_trees(self.booster)

    @property
    def features(self) -> int:
        return int(self.booster.num_features())

    def _own_contributions(self, X: np.ndarray) -> np.ndarray:
        self.booster.set_param({"nthread": _learners.threads()})
        raw = self.booster.predict(xgb.DMatrix(X, nthread=_learners.threads()), pred_contribs=True)
        return np.asarray(raw, dtype=np.float64).reshape(len(X), -1, X.shape[1] + 1)

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
