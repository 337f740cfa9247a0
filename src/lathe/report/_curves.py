"""Evaluation curves from holdout predictions, in numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def roc_curve(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """False and true positive rates at every threshold, and the area under the curve."""
    order = np.argsort(-scores, kind="mergesort")
    hits, ranked = positive[order].astype(float), scores[order]
    distinct = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tp, fp = np.cumsum(hits)[distinct], np.cumsum(1 - hits)[distinct]
    tpr = np.r_[0.0, tp / max(tp[-1], 1.0)]
    fpr = np.r_[0.0, fp / max(fp[-1], 1.0)]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def confusion(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Counts of (true label, predicted label) pairs, rows and columns in ``labels`` order."""
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        counts[index[t], index[p]] += 1
    return counts


def thin(xs: np.ndarray, ys: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """At most ``points`` evenly spaced points of a curve, its ends kept."""
    if len(xs) <= points:
        return xs, ys
    keep = np.unique(np.linspace(0, len(xs) - 1, points).astype(int))
    return xs[keep], ys[keep]
