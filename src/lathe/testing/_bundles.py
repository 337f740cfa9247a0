"""Small bundles fitted in a second or two, of a chosen task and learner family, for tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lathe.backends import read_frame
from lathe.bundle import SAMPLE_ROWS, Bundle
from lathe.features import coerce_frame, encoding_targets, plan_features
from lathe.profile import Task, profile_table
from lathe.search import FAMILIES, BlendModel, Leaderboard, Model
from lathe.testing._tables import mixed_table

CLASSES = {"binary": ["no", "yes"], "multiclass": ["a", "b", "c"], "regression": []}


def small_bundle(
    task: str = "binary", family: str = "lightgbm", table: pd.DataFrame | None = None, rounds: int = 40,
    threshold: float | None = None, keep_pii: bool = False,
) -> Bundle:  # fmt: skip
    """A bundle fitted on ``table`` (by default ``mixed_table(300, task)``; its ``target`` column
    the label) with the ``family``'s first portfolio configuration, keeping a sample of its rows.
    The family "blend" blends a linear model and a random forest, calibrated-looking (weights
    0.4 and 0.7, offset 0.1). ``threshold``: a binary bundle's decision threshold. ``keep_pii``:
    as ``lathe train --keep-pii``, columns flagged as personal data are inputs, and the manifest
    holds the profile (its personal data flags) and, as ids, the identifier columns."""
    table = mixed_table(300, task) if table is None else table
    y = table["target"].to_numpy()
    classes = sorted(pd.unique(y).tolist()) if task != "regression" else []
    if classes:
        y = np.searchsorted(classes, y)
    targets = encoding_targets(y, Task(task), classes)
    profile = profile_table(read_frame(table))
    plan = plan_features(profile, table, exclude=("target",), keep_personal=keep_pii, targets=targets)
    X = plan.training_matrix(table, targets)
    if family == "blend":
        members = tuple(_fitted(name, X, y, task, len(classes), rounds) for name in ("linear", "random_forest"))
        model: Model = BlendModel(Task(task), members, (0.4, 0.7), 0.1)
    else:
        model = _fitted(family, X, y, task, len(classes), rounds)
    ids = ["customer_id"] if "customer_id" in table else []
    if keep_pii:
        ids = [c.name for c in profile.columns if c.semantic_type.value == "identifier" and c.name != "target"]
    manifest: dict[str, object] = {
        "task": task,
        "target": "target",
        "classes": classes,
        "ids": ids,
        "model": {"family": family},
        "threshold": threshold,
    } | ({"profile": profile.to_dict()} if keep_pii else {})
    sample = coerce_frame(table.head(SAMPLE_ROWS), plan.inputs).reset_index(drop=True)
    return Bundle(manifest, plan, model, Leaderboard("m", True, ()), sample=sample)


def _fitted(family: str, X: np.ndarray, y: np.ndarray, task: str, n_classes: int, rounds: int) -> Model:
    learner = FAMILIES[family]
    params = learner.portfolio[0] | ({"rounds": rounds} if family != "linear" else {})
    return learner.fit(X, y, Task(task), params, n_classes=n_classes).model
