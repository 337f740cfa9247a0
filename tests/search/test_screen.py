"""Pruning by importance out of fold: features that do not help out of fold are left out, the others kept."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lathe import workflows
from lathe.profile import Task
from lathe.search import Layout, SearchSpec, metric_for, useless_features


def _noisy(rows: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 30))  # columns 0-2 carry the signal, 3-29 are noise
    return X, (X[:, 0] + X[:, 1] - X[:, 2] + rng.normal(scale=0.3, size=rows) > 0).astype(int)


def test_features_that_help_no_fold_are_named_with_the_reason() -> None:
    X, y = _noisy()
    names = [f"x{j}" for j in range(30)]
    useless = dict(useless_features(X, y, SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY)), Layout(), names))
    assert {"x0", "x1", "x2"}.isdisjoint(useless)
    assert len(useless) >= 2  # noise helps a fold's held-out rows by chance only, about half the time
    assert all("added nothing out of fold" in why for why in useless.values())


def test_training_leaves_the_useless_features_out_and_still_scores_every_column() -> None:
    X, y = _noisy(800)
    table = pd.DataFrame(X, columns=[f"x{j}" for j in range(30)]).assign(target=y)
    bundle = workflows.train(table, "target", trials=2, holdout=0.2, verbose=False)
    pruned = {name for name, why in bundle.plan.dropped if "out of fold" in why}
    assert pruned
    assert pruned.isdisjoint({"x0", "x1", "x2"})
    assert set(bundle.plan.feature_names) == {f"x{j}" for j in range(30)} - pruned
    assert len(bundle.predict(table.drop(columns="target"))) == len(table)
