"""Pruning by importance out of fold: the features that did not help the folds' models on held-out rows.

LightGBM's first portfolio configuration is fitted on each of up to ``SCREEN_FOLDS`` folds (the
search's own kind of folds, on at most ``SCREEN_ROWS`` rows). On each fold's held-out rows (at
most ``SCREEN_SCORED``), each feature the fold's model splits on has its values shuffled; where the
metric gets worse, the feature helped. A feature whose shuffling did not worsen the metric on
average over the folds (or that no fold's model used) adds nothing, and is left out before the
search.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lathe.search._learners import FAMILIES
from lathe.search._search import Layout, SearchSpec, _fitted, _folds

SCREEN_ROWS = 20_000
SCREEN_SCORED = 2_000
SCREEN_FOLDS = 3


def useless_features(
    X: np.ndarray, y: np.ndarray, spec: SearchSpec, layout: Layout, names: list[str]
) -> tuple[tuple[str, str], ...]:
    """(feature name, why it adds nothing) for each column of ``X`` that did not help on average
    over the folds; none where no feature helped (a model that learnt nothing says nothing of
    its features)."""
    rng = np.random.default_rng(spec.seed)
    if len(X) > SCREEN_ROWS:
        rows = np.sort(rng.choice(len(X), SCREEN_ROWS, replace=False))
        X, y, layout = X[rows], y[rows], layout.picked(rows)
    folds = _folds(y, dataclasses.replace(spec, folds=min(spec.folds, SCREEN_FOLDS)), layout)
    gain = np.zeros(X.shape[1])  # summed over the folds: the metric's loss when the feature is shuffled
    for train, valid in folds:
        weight = None if layout.weight is None else layout.weight[train]
        params = FAMILIES["lightgbm"].portfolio[0]
        model = _fitted("lightgbm", params, (X[train], y[train], weight), spec, valid=(X[valid], y[valid])).model
        scored = rng.permutation(valid)[:SCREEN_SCORED]
        shuffled, truth = X[scored], y[scored]
        reference = spec.metric.signed(spec.metric(truth, model.predict(shuffled)))
        used = model.booster.feature_importance("split") > 0  # type: ignore[attr-defined]
        for j in np.flatnonzero(used):
            kept = shuffled[:, j].copy()
            shuffled[:, j] = rng.permutation(kept)
            gain[j] += reference - spec.metric.signed(spec.metric(truth, model.predict(shuffled)))
            shuffled[:, j] = kept
    if not (gain > 0).any():
        return ()
    why = f"added nothing out of fold (shuffling it did not worsen {spec.metric.name} on held-out rows, on average)"
    return tuple((names[j], why) for j in np.flatnonzero(gain <= 0))
