"""The bundle's fast path for rows given as mappings scores as its DataFrame path does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lathe
from lathe.profile import Task
from lathe.search import FAMILIES
from lathe.testing import mixed_table


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_rows_are_predicted_as_their_data_frame_is(task: str) -> None:
    table = mixed_table(300, task)
    bundle = lathe.train(table, target="target", trials=1, verbose=False)
    rows = table.drop(columns="target").head(50).astype(object).where(table.notna(), None).to_dict("records")

    fast = pd.DataFrame(bundle.predict_rows(rows))
    slow = bundle.predict(pd.DataFrame(rows))

    pd.testing.assert_frame_equal(fast, slow, check_dtype=False, rtol=1e-12)
    assert list(fast.columns) == list(slow.columns)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize(("task", "classes"), [(Task.BINARY, 2), (Task.MULTICLASS, 3), (Task.REGRESSION, 0)])
def test_one_row_at_a_time_is_predicted_as_in_a_batch(task: Task, classes: int, name: str) -> None:
    # One row takes LightGBM's single-row path, set up once, or lathe's branching walk of XGBoost's
    # trees; a batch takes Booster.predict, or the walk a block of rows at a time.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(float) + (X[:, 2] > 1) * (task is Task.MULTICLASS)
    family = FAMILIES[name]
    model = family.fit(X, X[:, 0] if task is Task.REGRESSION else y, task, family.portfolio[0], classes).model

    one_by_one = np.vstack([model.predict(X[i : i + 1]).reshape(1, -1) for i in range(50)])

    np.testing.assert_array_equal(one_by_one, model.predict(X[:50]).reshape(50, -1))
