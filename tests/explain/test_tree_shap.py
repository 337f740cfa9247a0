"""The tabulated TreeSHAP gives LightGBM's own pred_contrib, missing values and all."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from lathe.search import _tree_shap
from lathe.search._tree_shap import TreeShap


def _data(rows: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6))
    X[rng.random(rows) < 0.2, 0] = np.nan  # missing values the trees learn a direction for
    X[rng.random(rows) < 0.3, 1] = 0.0  # zeros, read as missing with zero_as_missing
    X[:, 2] = rng.integers(0, 4, rows)  # few distinct values: the same feature split again and again
    y = np.nan_to_num(X[:, 0]) + X[:, 1] * X[:, 2] + np.sin(3 * X[:, 3]) + 0.1 * rng.normal(size=rows)
    return X, y


def _booster(objective: str, y: np.ndarray, X: np.ndarray, **params: object) -> lgb.Booster:
    settings = {"objective": objective, "num_leaves": 31, "min_data_in_leaf": 5, "verbose": -1, **params}
    if objective == "multiclass":
        settings["num_class"] = 3
    return lgb.train(settings, lgb.Dataset(X, y), num_boost_round=60)


@pytest.mark.parametrize(
    ("objective", "params"),
    [("regression", {}), ("binary", {}), ("multiclass", {}), ("regression", {"zero_as_missing": True})],
)
def test_equals_lightgbms_pred_contrib(objective: str, params: dict[str, object]) -> None:
    X, y = _data()
    target = {"regression": y, "binary": y > 0, "multiclass": np.digitize(y, [-0.5, 0.5])}[objective]
    booster = _booster(objective, target.astype(float), X, **params)
    shap = TreeShap.of(booster)
    assert shap is not None
    rows, _ = _data(200, seed=1)
    rows[:5] = np.nan  # whole rows missing, and zeros where the model reads zero as missing
    rows[5:10, 1] = 0.0
    np.testing.assert_allclose(shap.contributions(rows), booster.predict(rows, pred_contrib=True), rtol=0, atol=1e-9)
    np.testing.assert_allclose(shap.contributions(rows[:1]), booster.predict(rows[:1], pred_contrib=True), atol=1e-9)


def test_a_model_whose_tables_would_be_too_large_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data()
    booster = _booster("regression", y, X)
    monkeypatch.setattr(_tree_shap, "MAX_TABLE", 100)
    assert TreeShap.of(booster) is None


def test_a_model_of_one_leaf_gives_its_value_as_base() -> None:
    X = np.zeros((50, 3))
    booster = _booster("regression", np.full(50, 2.5), X)
    shap = TreeShap.of(booster)
    assert shap is not None
    np.testing.assert_allclose(shap.contributions(X[:3]), booster.predict(X[:3], pred_contrib=True), atol=1e-12)
