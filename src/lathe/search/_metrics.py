"""Metrics per task, each with its direction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from lathe.errors import InvalidParameterError
from lathe.profile import Task

EPS = 1e-15


@dataclass(frozen=True)
class Metric:
    """A score of predictions against truth. ``y`` is class codes or numbers; ``pred``
    is class probabilities (n x k) for classification and numbers for regression."""

    name: str
    greater_is_better: bool
    compute: Callable[[np.ndarray, np.ndarray], float]

    def __call__(self, y: np.ndarray, pred: np.ndarray) -> float:
        return float(self.compute(y, pred))

    def signed(self, value: float) -> float:
        """``value`` turned so that greater is always better (for ranking)."""
        return value if self.greater_is_better else -value


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(y, proba[:, 1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """The mean negative log probability of the true classes (codes ``y``)."""
    picked = np.clip(proba[np.arange(len(y)), y.astype(int)], EPS, 1.0)
    return float(-np.mean(np.log(picked)))


def _accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(np.argmax(proba, axis=1) == y))


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(skm.r2_score(y, pred))


CLASSIFICATION = {
    "roc_auc": Metric("roc_auc", True, _roc_auc),
    "log_loss": Metric("log_loss", False, log_loss),
    "accuracy": Metric("accuracy", True, _accuracy),
}
REGRESSION = {
    "rmse": Metric("rmse", False, _rmse),
    "mae": Metric("mae", False, _mae),
    "r2": Metric("r2", True, _r2),
}
DEFAULT = {Task.BINARY: "roc_auc", Task.MULTICLASS: "log_loss", Task.REGRESSION: "rmse"}


def metrics_for(task: Task) -> dict[str, Metric]:
    """Every metric that applies to ``task``."""
    return REGRESSION if task is Task.REGRESSION else CLASSIFICATION


def metric_for(task: Task, name: str | None = None) -> Metric:
    """The metric ``name`` (or the task's default), checked against the task."""
    available = metrics_for(task)
    chosen = name or DEFAULT[task]
    if chosen not in available:
        raise InvalidParameterError(
            f"metric {chosen!r} does not apply to {task.value}; choose one of {', '.join(available)}"
        )
    return available[chosen]
