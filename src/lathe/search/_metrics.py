"""Metrics per task, each with its direction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from lathe._roc import roc_auc
from lathe.errors import InvalidParameterError
from lathe.profile import Task

EPS = 1e-15
THRESHOLDS = 200  # decision thresholds tried: quantiles of the positive class's probability


@dataclass(frozen=True)
class Metric:
    """A score of predictions against truth. ``y`` is class codes or numbers; ``pred``
    is class probabilities (n x k) for classification and numbers for regression. A metric
    that ``decides`` scores the classes decided from the probabilities: the most probable,
    or for binary the positive class where its probability reaches ``threshold``."""

    name: str
    greater_is_better: bool
    compute: Callable[[np.ndarray, np.ndarray], float]
    decides: bool = False

    def __call__(self, y: np.ndarray, pred: np.ndarray, threshold: float | None = None) -> float:
        return float(self.compute(y, decided(pred, threshold) if self.decides else pred))

    def signed(self, value: float) -> float:
        """``value`` turned so that greater is always better (for ranking)."""
        return value if self.greater_is_better else -value


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    if proba.shape[1] == 2:
        return roc_auc(np.asarray(y) == 1, proba[:, 1])
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """The mean negative log probability of the true classes (codes ``y``)."""
    picked = np.clip(proba[np.arange(len(y)), y.astype(int)], EPS, 1.0)
    return float(-np.mean(np.log(picked)))


def decided(proba: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """The class codes decided from probabilities (n x k): the most probable (the earlier on a
    tie), or for binary with a ``threshold``, the positive class where its probability reaches it."""
    if threshold is not None and proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype(np.int64)
    return np.asarray(np.argmax(proba, axis=1))


def tuned_threshold(y: np.ndarray, proba: np.ndarray, metric: Metric) -> float | None:
    """The binary decision threshold that scores best by ``metric`` on (out-of-fold) ``proba``,
    ties to the one nearest 0.5; None where the metric does not decide classes."""
    if not metric.decides or proba.shape[1] != 2:
        return None
    candidates = np.unique(np.concatenate([np.quantile(proba[:, 1], np.linspace(0, 1, THRESHOLDS)), [0.5]]))
    scores = np.array([metric.signed(metric(y, proba, t)) for t in candidates])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def _accuracy(y: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(labels == y))


def _balanced_accuracy(y: np.ndarray, labels: np.ndarray) -> float:
    return float(skm.balanced_accuracy_score(y, labels))


def _f1(y: np.ndarray, labels: np.ndarray) -> float:
    binary = set(np.unique(y)) <= {0, 1} and set(np.unique(labels)) <= {0, 1}
    return float(skm.f1_score(y, labels, average="binary" if binary else "macro", zero_division=0.0))


def cost_metric(false_positive: float, false_negative: float) -> Metric:
    """The mean cost per row of a binary model's decisions: ``false_positive`` for each negative
    row called positive, ``false_negative`` for each positive row called negative."""

    def cost(y: np.ndarray, labels: np.ndarray) -> float:
        return float(
            (false_positive * np.sum((labels == 1) & (y == 0)) + false_negative * np.sum((labels == 0) & (y == 1)))
            / len(y)
        )

    return Metric(f"cost:{false_positive:g},{false_negative:g}", False, cost, decides=True)


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(skm.r2_score(y, pred))


CLASSIFICATION = {
    "roc_auc": Metric("roc_auc", True, _roc_auc),
    "log_loss": Metric("log_loss", False, log_loss),
    "accuracy": Metric("accuracy", True, _accuracy, decides=True),
    "balanced_accuracy": Metric("balanced_accuracy", True, _balanced_accuracy, decides=True),
    "f1": Metric("f1", True, _f1, decides=True),
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
    """The metric ``name`` (or the task's default), checked against the task. For binary
    targets, ``cost:FP,FN`` is the mean cost of the decisions, a false positive costing FP and
    a false negative FN (see ``cost_metric``)."""
    available = metrics_for(task)
    chosen = name or DEFAULT[task]
    if chosen.startswith("cost") and task is Task.BINARY:
        return _cost(chosen)
    if chosen not in available:
        more = ", cost:FP,FN" if task is Task.BINARY else ""
        raise InvalidParameterError(
            f"metric {chosen!r} does not apply to {task.value}; choose one of {', '.join(available)}{more}"
        )
    return available[chosen]


def _cost(name: str) -> Metric:
    try:
        false_positive, false_negative = (float(c) for c in name.removeprefix("cost:").split(","))
    except ValueError:
        false_positive = false_negative = -1.0
    if name == "cost":
        false_positive = false_negative = 1.0
    if not (false_positive >= 0 and false_negative >= 0 and false_positive + false_negative > 0):
        raise InvalidParameterError(
            f"metric {name!r}: give the costs of a false positive and a false negative, e.g. cost:1,5"
        )
    return cost_metric(false_positive, false_negative)
