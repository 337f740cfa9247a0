"""Small bundles fitted in a second or two, of a chosen task and learner family, for tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lathe.backends import read_frame
from lathe.bundle import SAMPLE_ROWS, Bundle
from lathe.features import coerce_frame, encoding_targets, plan_features
from lathe.profile import Task, profile_table
from lathe.search import FAMILIES, Leaderboard
from lathe.testing._tables import mixed_table

CLASSES = {"binary": ["no", "yes"], "multiclass": ["a", "b", "c"], "regression": []}


def small_bundle(
    task: str = "binary", family: str = "lightgbm", table: pd.DataFrame | None = None, rounds: int = 40
) -> Bundle:
    """A bundle fitted on ``table`` (by default ``mixed_table(300, task)``; its ``target`` column
    the label) with the ``family``'s first portfolio configuration, keeping a sample of its rows."""
    table = mixed_table(300, task) if table is None else table
    y = table["target"].to_numpy()
    classes = sorted(pd.unique(y).tolist()) if task != "regression" else []
    if classes:
        y = np.searchsorted(classes, y)
    targets = encoding_targets(y, Task(task), classes)
    plan = plan_features(profile_table(read_frame(table)), table, exclude=("target",), targets=targets)
    learner = FAMILIES[family]
    params = learner.portfolio[0] | ({"rounds": rounds} if family != "linear" else {})
    model = learner.fit(plan.training_matrix(table, targets), y, Task(task), params, n_classes=len(classes)).model
    ids = ["customer_id"] if "customer_id" in table else []
    manifest = {"task": task, "target": "target", "classes": classes, "ids": ids, "model": {"family": family}}
    sample = coerce_frame(table.head(SAMPLE_ROWS), plan.inputs).reset_index(drop=True)
    return Bundle(manifest, plan, model, Leaderboard("m", True, ()), sample=sample)
