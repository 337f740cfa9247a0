"""Pruning by importance out of fold: the features that helped no fold's model on its held-out rows.

LightGBM's first portfolio configuration is fitted on each of up to ``SCREEN_FOLDS`` folds (the
search's own kind of folds, on at most ``SCREEN_ROWS`` rows). On each fold's held-out rows (at
most ``SCREEN_SCORED``), each feature the fold's model splits on has its values shuffled; where the
metric gets worse, the feature helped. A feature that helped in no fold (shuffling it never
hurt, or no fold's model used it) adds nothing, and is left out before the search. (Pruning
where it did not help on average over the folds was tried: on the credit data set it left out 13
of 26 features and the holdout ROC AUC fell from 0.853 to 0.846.)
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
    """(feature name, why it adds nothing) for each column of ``X`` that helped in no fold; none
    where no feature helped (a model that learnt nothing says nothing of its features)."""
    rng = np.random.default_rng(spec.seed)
    if len(X) > SCREEN_ROWS:
        rows = np.sort(rng.choice(len(X), SCREEN_ROWS, replace=False))
        X, y, layout = X[rows], y[rows], layout.picked(rows)
    folds = _folds(y, dataclasses.replace(spec, folds=min(spec.folds, SCREEN_FOLDS)), layout)
    helped = np.zeros(X.shape[1], dtype=bool)  # in some fold, shuffling the feature worsened the metric
    for train, valid in folds:
        weight = None if layout.weight is None else layout.weight[train]
        params = FAMILIES["lightgbm"].portfolio[0]
        model = _fitted("lightgbm", params, (X[train], y[train], weight), spec, valid=(X[valid], y[valid])).model
        scored = rng.permutation(valid)[:SCREEN_SCORED]
        shuffled, truth = X[scored], y[scored]
        reference = spec.metric.signed(spec.metric(truth, model.predict(shuffled)))
        used = model.booster.feature_importance("split") > 0  # type: ignore[attr-defined]
        for j in np.flatnonzero(used & ~helped):
            kept = shuffled[:, j].copy()
            shuffled[:, j] = rng.permutation(kept)
            helped[j] = spec.metric.signed(spec.metric(truth, model.predict(shuffled))) < reference
            shuffled[:, j] = kept
    if not helped.any():
        return ()
    why = f"added nothing out of fold (shuffling it worsened {spec.metric.name} on the held-out rows of no fold)"
    return tuple((names[j], why) for j in np.flatnonzero(~helped))
