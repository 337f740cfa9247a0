"""What the report shows of the holdout, summarised from every holdout row when the model is trained.

The figures drawn from these agree with the holdout table beside them: curves, areas, matrices and
histograms count every holdout row; only the points a chart draws are thinned (a curve) or sampled
(a scatter), and the data says how many of how many.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from time import monotonic
from typing import Any

import numpy as np

from lathe.report._curves import confusion, roc_curve, thin

LEVEL = 0.95
RESAMPLES = 200
RESAMPLE_ROWS = 5000  # rows drawn per resample; a larger holdout is bootstrapped m out of n
MIN_RESAMPLES = 50
SECONDS = 2.0  # the most a slow metric (ROC AUC of many classes) may resample for, past MIN_RESAMPLES
MAX_ROC_CLASSES = 10
SCATTER_POINTS = 5000
RESIDUAL_BINS = 30


def bootstrap_interval(score: Callable[[np.ndarray], float], rows: int, seed: int = 0) -> dict[str, Any] | None:
    """The ``LEVEL`` percentile bootstrap interval of ``score`` over ``rows`` holdout rows.

    ``score`` computes the metric on the rows at the positions it is given (repeats included).
    Each of ``RESAMPLES`` resamples draws ``m = min(rows, RESAMPLE_ROWS)`` rows with replacement;
    where ``m < rows`` the spread around the full score is scaled by ``sqrt(m / rows)`` (the m out
    of n bootstrap), so a large holdout costs no more than ``RESAMPLE_ROWS``. A slow metric stops
    after ``SECONDS`` once ``MIN_RESAMPLES`` are done; ``resamples`` says how many counted.
    Resamples where the metric is undefined (one class only) are skipped; None where most are
    (or fewer than ``MIN_RESAMPLES`` count), or under 2 rows.

    >>> truth = np.arange(100) % 2
    >>> interval = bootstrap_interval(lambda rows: float(np.mean(truth[rows])), 100)
    >>> interval["low"] < 0.5 < interval["high"]
    True
    """
    if rows < 2:
        return None
    drawn = min(rows, RESAMPLE_ROWS)
    values, tried = _resampled(score, rows, drawn, seed)
    if len(values) < max(MIN_RESAMPLES, tried / 2):
        return None
    estimate = score(np.arange(rows))
    if not math.isfinite(estimate):
        return None
    low, high = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    scale = math.sqrt(drawn / rows)
    return {
        "low": float(estimate + scale * (low - estimate)),
        "high": float(estimate + scale * (high - estimate)),
        "level": LEVEL,
        "resamples": len(values),
        "drawn": drawn,
        "rows": rows,
    }


def _resampled(score: Callable[[np.ndarray], float], rows: int, drawn: int, seed: int) -> tuple[list[float], int]:
    """The finite scores of up to RESAMPLES resamples of ``drawn`` rows (fewer where time runs out),
    and how many were tried."""
    rng, started, values, tried = np.random.default_rng(seed), monotonic(), [], 0
    with warnings.catch_warnings():  # a resample may lack a class: the metric warns, or fails
        warnings.simplefilter("ignore")
        while tried < RESAMPLES and (tried < MIN_RESAMPLES or monotonic() - started <= SECONDS):
            tried += 1
            try:
                value = score(rng.integers(0, rows, drawn))
            except ValueError:
                continue
            if math.isfinite(value):
                values.append(value)
    return values, tried


def holdout_evaluation(
    task: str,
    truth: Sequence[Any] | np.ndarray,
    predicted: Sequence[Any] | np.ndarray,
    proba: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    points: int = SCATTER_POINTS,
) -> dict[str, Any]:
    """The report's ``evaluation``: what its holdout charts draw, from every holdout row.

    For classification, ``truth`` and ``predicted`` are labels and ``proba`` the probability of
    each of ``classes`` (columns in that order): the ``confusion`` matrix of every row and, per
    class drawn, the ``roc`` curve (thinned to the points drawn) with its area. For regression,
    numbers: a random sample of at most ``points`` rows to scatter, and the ``residuals``
    histogram of every row. ``rows`` counts the holdout rows.
    """
    if task == "regression":
        return _regression(np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float), points)
    return _classification([str(c) for c in classes or []], truth, predicted, proba)


def _classification(
    classes: list[str], truth: Sequence[Any] | np.ndarray, predicted: Sequence[Any] | np.ndarray,
    proba: np.ndarray | None,
) -> dict[str, Any]:  # fmt: skip
    actual, decided = [str(t) for t in truth], [str(p) for p in predicted]
    labels = classes + sorted(set(actual + decided) - set(classes))
    roc = [] if proba is None else _roc(classes, np.asarray(actual), np.asarray(proba, dtype=float))
    return {
        "rows": len(actual),
        "classes": classes,
        "confusion": {"labels": labels, "counts": confusion(actual, decided, labels).tolist()},
        "roc": roc,
    }


def _roc_classes(classes: list[str], truth: np.ndarray) -> list[str]:
    """The classes to draw: the positive one of two, else the most frequent, each seen and not seen."""
    frequency = Counter(truth.tolist())
    drawable = [c for c in classes if 0 < frequency[c] < len(truth)]
    if len(classes) == 2:
        return [c for c in drawable if c == classes[1]]
    return sorted(drawable, key=lambda c: -frequency[c])[:MAX_ROC_CLASSES]


def _roc(classes: list[str], truth: np.ndarray, proba: np.ndarray) -> list[dict[str, Any]]:
    curves = []
    for label in _roc_classes(classes, truth):
        fpr, tpr, auc = roc_curve(truth == label, proba[:, classes.index(label)])
        fpr, tpr = thin(fpr, tpr)
        curves.append({"class": label, "auc": auc, "fpr": fpr.tolist(), "tpr": tpr.tolist()})
    return curves


def _regression(truth: np.ndarray, predicted: np.ndarray, points: int) -> dict[str, Any]:
    shown = np.sort(np.random.default_rng(0).permutation(len(truth))[:points])
    residuals = truth - predicted
    counts, edges = np.histogram(residuals[np.isfinite(residuals)], bins=RESIDUAL_BINS)
    return {
        "rows": len(truth),
        "points": {"actual": truth[shown].tolist(), "predicted": predicted[shown].tolist()},
        "residuals": {"edges": edges.tolist(), "counts": counts.tolist()},
    }
