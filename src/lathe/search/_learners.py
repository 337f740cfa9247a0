"""Learner families: how each fits, predicts, saves in a safe format and is searched.

A fitted model predicts class probabilities (n x k) for classification and numbers for
regression, from the plan's float64 feature matrix; ``fit`` honours per-row weights
(``weight``: non-negative, one per row of ``X``). Models are saved as text (LightGBM's
own model format) or JSON (XGBoost's, CatBoost's, and lathe's for linear models); nothing is ever
pickled. XGBoost lives in ``_xgboost``, CatBoost in ``_catboost``.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Protocol

import lightgbm as lgb
import numpy as np
import optuna
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge

from lathe.profile import Task
from lathe.search._single_row import SingleRow
from lathe.search._tree_shap import TreeShap

SKEW = 1.0  # sample skewness past which a linear model takes a feature's signed log
ROW_WISE_FEATURES = 100  # LightGBM builds histograms row-wise up to this many features, else column-wise
THREADS = os.cpu_count() or 1  # LightGBM's and XGBoost's threads per fit or predict in this process
_this_thread = threading.local()


def use_threads(count: int) -> None:
    """Make LightGBM and XGBoost use ``count`` threads in this process: one in each of several scoring
    processes, rather than as many as there are cores in each."""
    global THREADS
    THREADS = count


def single_threaded() -> None:
    """Make LightGBM and XGBoost use one thread in the calling thread: for fits side by side, one per core."""
    _this_thread.threads = 1


def threads() -> int:
    """The threads a fit or predict in the calling thread uses: ``THREADS``, or one after ``single_threaded``."""
    return int(getattr(_this_thread, "threads", THREADS))


MAX_ROUNDS = 2000
FOREST_TREES = 200
ABSENT = 30.0  # a class absent from the training rows sits this far below the others in log-odds
PATIENCE = 50


class Model(Protocol):
    """A fitted model.

    ``predict`` gives class probabilities (n x k) or numbers (n,). ``margin`` gives the raw
    output before the link (log-odds of the positive class, one logit per class, or the
    number itself) as (n x k_out). ``contributions`` splits the margin exactly:
    (n x k_out x (features + 1)), the last slot the base value, so that the sum over the
    last axis equals ``margin``.
    """

    family: ClassVar[str]

    def predict(self, X: np.ndarray) -> np.ndarray: ...
    def margin(self, X: np.ndarray) -> np.ndarray: ...
    def contributions(self, X: np.ndarray) -> np.ndarray: ...
    def save(self, folder: Path, stem: str = "model") -> str: ...


def linked(task: Task, margin: np.ndarray) -> np.ndarray:
    """Predictions from margins (n x k_out): numbers, or class probabilities (n x k) through
    the sigmoid (binary) or the softmax (multiclass)."""
    if task is Task.REGRESSION:
        return np.asarray(margin[:, 0])
    if task is Task.BINARY:
        p = 1.0 / (1.0 + np.exp(-margin[:, 0]))
        return np.column_stack([1.0 - p, p])
    e = np.exp(margin - margin.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class Fit:
    """A fitted model, what the fit learned about its own size (boosting rounds), and whether
    ``stop`` cut it short."""

    model: Model
    rounds: int | None = None
    cut: bool = False


class Family(Protocol):
    """A kind of learner: its search space, strong defaults, fit and load. ``fit`` asks ``stop``
    after each boosting round or tree, and ends there where it answers True."""

    name: ClassVar[str]
    portfolio: ClassVar[tuple[dict[str, Any], ...]]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]: ...

    def fit(
        self, X: np.ndarray, y: np.ndarray, task: Task, params: dict[str, Any], n_classes: int = 0,
        valid: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0, weight: np.ndarray | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Fit: ...  # fmt: skip

    def load(self, folder: Path, file: str, task: Task) -> Model: ...


# ---- regularised linear models ------------------------------------------------------


def signed_log(X: np.ndarray) -> np.ndarray:
    """sign(x) ln(1 + |x|): a long tail pulled in, the sign and the order kept."""
    return np.asarray(np.sign(X) * np.log1p(np.abs(X)))


def skewed(X: np.ndarray) -> np.ndarray:
    """Which columns of ``X`` a linear model takes as their signed log: those with more than two
    values whose sample skewness exceeds SKEW either way."""
    centred = X - X.mean(axis=0)
    spread = np.mean(centred**2, axis=0)
    skewness = np.mean(centred**3, axis=0) / np.where(spread > 0, spread, 1.0) ** 1.5
    low, high = X.min(axis=0), X.max(axis=0)
    two_valued = (np.equal(X, low) | np.equal(X, high)).all(axis=0)
    return np.asarray((np.abs(skewness) > SKEW) & ~two_valued)


def _logged(X: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """A copy of ``X`` with ``columns`` (a boolean mask) as their signed log."""
    shaped = X.astype("float64", copy=True)
    shaped[:, columns] = signed_log(X[:, columns])
    return shaped


@dataclass(frozen=True)
class LinearModel:
    """Standardised inputs (the signed log of the ``skewed`` ones), then logistic (softmax) or
    ridge regression coefficients."""

    family: ClassVar[str] = "linear"
    task: Task
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (k, n_features); k = 1 for binary and regression
    intercept: np.ndarray  # (k,)
    skewed: np.ndarray  # (n_features,) booleans

    def standardised(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the coefficients take it: skewed columns as their signed log, then centred and scaled."""
        return np.asarray((_logged(X, self.skewed) - self.mean) / self.scale)

    def margin(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.standardised(X) @ self.coef.T + self.intercept)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        # Coefficient times the centred (standardised) value: exact, since the training mean is 0.
        z = self.standardised(X)
        parts = z[:, None, :] * self.coef[None, :, :]
        base = np.broadcast_to(self.intercept[None, :, None], (len(X), len(self.intercept), 1))
        return np.concatenate([parts, base], axis=2)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return linked(self.task, self.margin(X))

    def save(self, folder: Path, stem: str = "model") -> str:
        arrays = {k: getattr(self, k).tolist() for k in ("mean", "scale", "coef", "intercept", "skewed")}
        (folder / f"{stem}.linear.json").write_text(json.dumps(arrays))
        return f"{stem}.linear.json"


class Linear:
    """Regularised logistic regression (classification) or ridge regression."""

    name: ClassVar[str] = "linear"
    # signed_log: skewed features enter as their signed log (see ``skewed``); it helps some data
    # sets (ames, hpc) and hurts others (diamonds, whose price grows faster than its carats), so
    # it is searched.
    portfolio: ClassVar[tuple[dict[str, Any], ...]] = ({"C": 1.0, "signed_log": True}, {"C": 0.05, "signed_log": False})

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "C": trial.suggest_float("linear.C", 1e-3, 1e2, log=True),
            "signed_log": trial.suggest_categorical("linear.signed_log", [True, False]),
        }

    def fit(
        self, X: np.ndarray, y: np.ndarray, task: Task, params: dict[str, Any], n_classes: int = 0,
        valid: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0, weight: np.ndarray | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Fit:  # fmt: skip
        del valid, stop  # a few seconds at most
        tails = skewed(X) if params.get("signed_log", True) else np.zeros(X.shape[1], dtype=bool)
        shaped = _logged(X, tails)
        mean = np.average(shaped, axis=0, weights=weight)
        scale = np.sqrt(np.average((shaped - mean) ** 2, axis=0, weights=weight))
        scale[scale == 0] = 1.0
        Z = (shaped - mean) / scale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if task is Task.REGRESSION:
                ridge = Ridge(alpha=1.0 / params["C"]).fit(Z, y, sample_weight=weight)
                coef, intercept = np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
            else:
                logit = LogisticRegression(C=params["C"], max_iter=300, random_state=seed)
                coef, intercept = _logistic(Z, y, task, n_classes, logit, weight)
        return Fit(LinearModel(task, mean, scale, coef, np.asarray(intercept, dtype="float64"), tails))

    def load(self, folder: Path, file: str, task: Task) -> Model:
        arrays = json.loads((folder / file).read_text())
        tails = np.asarray(arrays.pop("skewed", [False] * len(arrays["mean"])), dtype=bool)  # older bundles: none
        return LinearModel(task, **{k: np.asarray(v, dtype="float64") for k, v in arrays.items()}, skewed=tails)


def _logistic(
    Z: np.ndarray, y: np.ndarray, task: Task, n_classes: int, logit: LogisticRegression, weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and intercepts with one row per margin, also where some classes are absent
    from ``y`` (an early block of time-ordered folds): an absent class gets no slope and an
    intercept far below the others."""
    present = np.unique(y)
    k = 1 if task is Task.BINARY else max(n_classes, int(present.max()) + 1)
    if len(present) == 1:
        if task is Task.BINARY:
            return np.zeros((1, Z.shape[1])), np.array([ABSENT if present[0] == 1 else -ABSENT])
        return np.zeros((k, Z.shape[1])), np.where(np.arange(k) == present[0], 0.0, -ABSENT)
    logit.fit(Z, y, sample_weight=weight)
    if task is Task.BINARY or len(present) == k:
        return logit.coef_, logit.intercept_
    coef, intercept = np.zeros((k, Z.shape[1])), np.full(k, float(np.min(logit.intercept_)) - ABSENT)
    if len(present) == 2:  # sklearn's one binary margin, split evenly between the two classes
        coef[present] = np.vstack([-logit.coef_[0] / 2, logit.coef_[0] / 2])
        intercept[present] = [-logit.intercept_[0] / 2, logit.intercept_[0] / 2]
    else:
        coef[present], intercept[present] = logit.coef_, logit.intercept_
    return coef, intercept


# ---- LightGBM -----------------------------------------------------------------------


@dataclass(frozen=True)
class LightGBMModel:
    """A LightGBM booster, saved in LightGBM's own text format."""

    family: ClassVar[str] = "lightgbm"
    task: Task
    booster: lgb.Booster

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 1:  # serving's case: LightGBM's single-row path, set up once
            one = self._single_row(X[0])
            raw = one.reshape(1, -1) if len(one) > 1 else one
        else:
            raw = np.asarray(self.booster.predict(X, num_threads=threads()))
        if self.task is Task.BINARY:
            return np.column_stack([1.0 - raw, raw])
        return raw

    @cached_property
    def _single_row(self) -> SingleRow:
        return SingleRow(self.booster, self.booster.num_model_per_iteration())

    @cached_property
    def _single_margin(self) -> SingleRow:
        return SingleRow(self.booster, self.booster.num_model_per_iteration(), raw=True)

    def margin(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 1:  # a blend served one row at a time: the single-row path, as for predict
            raw = self._single_margin(X[0])
        else:
            raw = np.asarray(self.booster.predict(X, raw_score=True, num_threads=threads()))
        return raw.reshape(len(X), -1) * self._leaf_scale

    @cached_property
    def _leaf_scale(self) -> float:
        # LightGBM's raw scores and pred_contrib add up an averaged (random-forest) model's trees;
        # its probabilities, and lathe's margins, average them.
        if not self.booster.dump_model(num_iteration=1).get("average_output"):
            return 1.0
        return self.booster.num_model_per_iteration() / max(1, self.booster.num_trees())

    def contributions(self, X: np.ndarray) -> np.ndarray:
        # Exact TreeSHAP, with each leaf's weights tabulated once (see _tree_shap); LightGBM's own
        # pred_contrib where the tables would be too large. Per output (features + 1) columns.
        if self._tree_shap is None:
            raw = np.asarray(self.booster.predict(X, pred_contrib=True, num_threads=threads())) * self._leaf_scale
        else:
            raw = self._tree_shap.contributions(X, threads())
        return raw.reshape(len(X), -1, X.shape[1] + 1)

    @cached_property
    def _tree_shap(self) -> TreeShap | None:
        return TreeShap.of(self.booster)

    def save(self, folder: Path, stem: str = "model") -> str:
        (folder / f"{stem}.lightgbm.txt").write_text(self.booster.model_to_string())
        return f"{stem}.lightgbm.txt"


class LightGBM:
    """Gradient-boosted trees with early stopping on a validation fold."""

    name: ClassVar[str] = "lightgbm"
    fixed: ClassVar[dict[str, Any]] = {"verbosity": -1, "deterministic": True}
    max_rounds: ClassVar[int] = MAX_ROUNDS
    portfolio: ClassVar[tuple[dict[str, Any], ...]] = (
        {"num_leaves": 31, "learning_rate": 0.1, "min_child_samples": 20, "feature_fraction": 0.9,
         "bagging_fraction": 1.0, "lambda_l2": 0.001},
        {"num_leaves": 63, "learning_rate": 0.05, "min_child_samples": 20, "feature_fraction": 0.7,
         "bagging_fraction": 0.8, "lambda_l2": 1.0},
        {"num_leaves": 15, "learning_rate": 0.05, "min_child_samples": 50, "feature_fraction": 0.8,
         "bagging_fraction": 0.9, "lambda_l2": 5.0},
    )  # fmt: skip

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "num_leaves": trial.suggest_int("lightgbm.num_leaves", 7, 255, log=True),
            "learning_rate": trial.suggest_float("lightgbm.learning_rate", 0.01, 0.3, log=True),
            "min_child_samples": trial.suggest_int("lightgbm.min_child_samples", 5, 200, log=True),
            "feature_fraction": trial.suggest_float("lightgbm.feature_fraction", 0.4, 1.0),
            "bagging_fraction": trial.suggest_float("lightgbm.bagging_fraction", 0.5, 1.0),
            "lambda_l2": trial.suggest_float("lightgbm.lambda_l2", 1e-3, 10.0, log=True),
        }

    def fit(
        self, X: np.ndarray, y: np.ndarray, task: Task, params: dict[str, Any], n_classes: int = 0,
        valid: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0, weight: np.ndarray | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Fit:  # fmt: skip
        config = {**_objective(task, n_classes), **self.fixed, **params, "seed": seed, "num_threads": threads()}
        config[_histograms(X)] = True
        config["bagging_freq"] = 1 if params.get("bagging_fraction", 1.0) < 1.0 else 0
        rounds = int(params.get("rounds", self.max_rounds))
        config.pop("rounds", None)
        train = lgb.Dataset(X, y, weight=weight, free_raw_data=True)
        cut = _Cut(stop)
        if valid is None:
            booster = lgb.train(config, train, num_boost_round=rounds, callbacks=[cut])
            return Fit(LightGBMModel(task, booster), rounds, cut.cut)
        check = lgb.Dataset(valid[0], valid[1], reference=train)
        early = lgb.early_stopping(PATIENCE, verbose=False)
        booster = lgb.train(config, train, num_boost_round=rounds, valid_sets=[check], callbacks=[early, cut])
        return Fit(LightGBMModel(task, booster), booster.best_iteration or rounds, cut.cut)

    def load(self, folder: Path, file: str, task: Task) -> Model:
        return LightGBMModel(task, lgb.Booster(model_str=(folder / file).read_text()))


def _histograms(X: np.ndarray) -> str:
    """How LightGBM builds its histograms for ``X``, chosen by its shape: left to itself, LightGBM
    times row-wise against column-wise and keeps the faster, which changes the order its threads
    add gradients in, and so the model. Row-wise suits few features and few threads (LightGBM's
    own advice), column-wise many features."""
    return "force_row_wise" if X.shape[1] <= ROW_WISE_FEATURES else "force_col_wise"


class _Cut:
    """A LightGBM callback that ends the training where ``stop`` says so, and remembers it."""

    def __init__(self, stop: Callable[[], bool] | None) -> None:
        self.stop, self.cut = stop, False

    def __call__(self, env: lgb.callback.CallbackEnv) -> None:
        if self.stop is not None and self.stop():
            self.cut = True
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])


class RandomForest(LightGBM):
    """A random forest: bagged deep trees on feature subsets, averaged (LightGBM's "rf" mode,
    so that it is saved, explained and exported as any LightGBM model)."""

    name: ClassVar[str] = "random_forest"
    fixed: ClassVar[dict[str, Any]] = {**LightGBM.fixed, "boosting": "rf"}
    max_rounds: ClassVar[int] = FOREST_TREES
    portfolio: ClassVar[tuple[dict[str, Any], ...]] = (
        {"num_leaves": 255, "min_child_samples": 5, "feature_fraction": 0.5, "bagging_fraction": 0.632},
    )

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "num_leaves": trial.suggest_int("random_forest.num_leaves", 31, 1023, log=True),
            "min_child_samples": trial.suggest_int("random_forest.min_child_samples", 1, 50, log=True),
            "feature_fraction": trial.suggest_float("random_forest.feature_fraction", 0.2, 1.0),
            "bagging_fraction": trial.suggest_float("random_forest.bagging_fraction", 0.4, 0.9),
        }


class ExtraTrees(LightGBM):
    """Extremely randomised trees: each split at a random threshold, deep trees averaged
    (LightGBM's "rf" mode with ``extra_trees``)."""

    name: ClassVar[str] = "extra_trees"
    fixed: ClassVar[dict[str, Any]] = {**LightGBM.fixed, "boosting": "rf", "extra_trees": True}
    max_rounds: ClassVar[int] = FOREST_TREES
    portfolio: ClassVar[tuple[dict[str, Any], ...]] = (
        {"num_leaves": 255, "min_child_samples": 5, "feature_fraction": 0.7},
    )

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "num_leaves": trial.suggest_int("extra_trees.num_leaves", 31, 1023, log=True),
            "min_child_samples": trial.suggest_int("extra_trees.min_child_samples", 1, 50, log=True),
            "feature_fraction": trial.suggest_float("extra_trees.feature_fraction", 0.3, 0.95),
        }


def _objective(task: Task, n_classes: int) -> dict[str, Any]:
    if task is Task.BINARY:
        return {"objective": "binary", "metric": "binary_logloss"}
    if task is Task.MULTICLASS:
        return {"objective": "multiclass", "num_class": n_classes, "metric": "multi_logloss"}
    return {"objective": "regression", "metric": "l2"}


# In their own modules, built on the names above.
from lathe.search._catboost import CatBoost  # noqa: E402
from lathe.search._xgboost import XGBoost  # noqa: E402

FAMILIES: dict[str, Family] = {
    f.name: f for f in (Linear(), LightGBM(), XGBoost(), RandomForest(), ExtraTrees(), CatBoost())
}
