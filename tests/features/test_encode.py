"""Categories with many levels: frequency and out-of-fold target means, rare levels grouped."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lathe.backends import read_frame
from lathe.features import Encode, FeaturePlan, encoding_targets, plan_features
from lathe.profile import Task, profile_table


def _table(rows: int = 3000, levels: int = 100, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    shop = rng.integers(0, levels, rows)
    frame = pd.DataFrame({"shop": [f"S{k:03d}" for k in shop], "amount": rng.normal(size=rows)})
    return frame, (rng.random(rows) < 0.3).astype(int)  # the target has nothing to do with the shop


def _plan(
    frame: pd.DataFrame, y: np.ndarray, task: Task = Task.BINARY, classes: list[object] | None = None
) -> FeaturePlan:
    targets = encoding_targets(y, task, classes or ["no", "yes"])
    return plan_features(profile_table(read_frame(frame)), frame, targets=targets)


def test_a_category_with_many_levels_is_encoded_not_one_hot() -> None:
    frame, y = _table()
    plan = _plan(frame, y)
    step = next(s for s in plan.steps if s.column == "shop")
    assert isinstance(step, Encode)
    assert step.outputs == ("shop__frequency", "shop__target=yes")
    assert len(step.levels) == 100
    saved = FeaturePlan.from_dict(plan.to_dict())
    np.testing.assert_array_equal(saved.transform(frame), plan.transform(frame))
    rows = frame.head(20).to_dict("records")
    np.testing.assert_array_equal(saved.transform_rows(rows), plan.transform(frame.head(20)))


def test_training_rows_get_target_means_from_the_other_folds_only() -> None:
    """The shop tells nothing about the target: target means learnt with a row's own target
    seem to (the model would be fooled); taken out of fold, they do not."""
    frame, y = _table()
    plan = _plan(frame, y)
    column = plan.feature_names.index("shop__target=yes")
    in_sample = plan.transform(frame)[:, column]
    out_of_fold = plan.training_matrix(frame, encoding_targets(y, Task.BINARY, ["no", "yes"]))[:, column]
    assert np.corrcoef(in_sample, y)[0, 1] > 0.1
    assert abs(np.corrcoef(out_of_fold, y)[0, 1]) < 0.05
    frequency = plan.feature_names.index("shop__frequency")
    np.testing.assert_array_equal(plan.training_matrix(frame, None)[:, frequency], plan.transform(frame)[:, frequency])


def test_rare_and_unseen_levels_share_one_group_and_missing_has_its_own() -> None:
    frame, y = _table()
    frame.loc[:5, "shop"] = ["R1", "R1", "R2", None, None, None]  # below the floor of 3 rows each
    plan = _plan(frame, y)
    step = next(s for s in plan.steps if isinstance(s, Encode))
    assert "R1" not in step.levels
    scored = step.apply(pd.Series(["R1", "R2", "never seen", None, "S001"], dtype=object))
    assert scored[0][0] == scored[0][1] == scored[0][2] == step.rare[0] == 3 / len(frame)
    assert scored[0][3] == step.missing[0] == 3 / len(frame)
    assert scored[1][2] == step.rare[1]
    assert step.row("never seen") == list(step.rare)
    assert step.row(None) == list(step.missing)


def test_multiclass_and_regression_targets_are_named() -> None:
    frame, _ = _table()
    classes = np.arange(len(frame)) % 3
    assert _plan(frame, classes, Task.MULTICLASS, ["a", "b", "c"]).feature_names[:4] == [
        "shop__frequency", "shop__target=a", "shop__target=b", "shop__target=c",
    ]  # fmt: skip
    numbers = np.linspace(0, 1, len(frame))
    assert "shop__target" in _plan(frame, numbers, Task.REGRESSION, []).feature_names


def test_without_targets_only_the_frequency_is_learnt() -> None:
    frame, _ = _table()
    plan = plan_features(profile_table(read_frame(frame)), frame)
    assert [n for n in plan.feature_names if n.startswith("shop")] == ["shop__frequency"]
