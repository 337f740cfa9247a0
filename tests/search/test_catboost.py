"""The CatBoost family: CatBoost's oblivious trees read as ordinary trees, walked in double
precision to CatBoost's own numbers; saved as CatBoost's JSON; exact TreeSHAP; early stopping,
weights and the cut."""

from __future__ import annotations

import json
from pathlib import Path

import catboost
import numpy as np
import pytest

from lathe.profile import Task
from lathe.search import FAMILIES, _learners, _tree_shap, catboost_trees
from lathe.search._catboost import EMPTY, CatBoostModel

LEARNER = FAMILIES["catboost"]


def _data(task: Task, rows: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5))
    X[rng.random(rows) < 0.1, 2] = np.nan  # missing values, which CatBoost takes as below every border
    signal = X[:, 0] + 0.5 * X[:, 1] ** 2 + np.nan_to_num(X[:, 2])
    if task is Task.REGRESSION:
        return X, 100 * signal + 40, 0
    if task is Task.BINARY:
        return X, (signal > np.median(signal)).astype(int), 2
    return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3])), 3


def _fit(task: Task, rounds: int = 60, weight: np.ndarray | None = None) -> tuple[np.ndarray, CatBoostModel]:
    X, y, k = _data(task)
    model = LEARNER.fit(X, y, task, LEARNER.portfolio[0] | {"rounds": rounds}, n_classes=k, weight=weight).model
    assert isinstance(model, CatBoostModel)
    return X, model


def _native(model: CatBoostModel, folder: Path) -> catboost.CatBoost:
    """CatBoost's own model, read from the file lathe saved."""
    return catboost.CatBoost().load_model(str(folder / model.save(folder)), format="json")


def _own_margin(model: CatBoostModel, folder: Path, X: np.ndarray) -> np.ndarray:
    raw = _native(model, folder).predict(X, prediction_type="RawFormulaVal")
    return np.asarray(raw, dtype=np.float64).reshape(len(X), -1)


@pytest.mark.parametrize("task", list(Task))
def test_the_margin_is_catboosts(tmp_path: Path, task: Task) -> None:
    X, model = _fit(task, rounds=200)
    np.testing.assert_allclose(model.margin(X), _own_margin(model, tmp_path, X), rtol=1e-12, atol=1e-12)
    assert model.margin(X).shape == (len(X), 3 if task is Task.MULTICLASS else 1)
    probabilities = _native(model, tmp_path).predict(X, prediction_type="Probability")
    if task is not Task.REGRESSION:
        np.testing.assert_allclose(model.predict(X), probabilities, rtol=0, atol=1e-12)


def test_values_at_and_beside_each_border_are_decided_as_catboost_does(tmp_path: Path) -> None:
    X, model = _fit(Task.REGRESSION, rounds=30)
    rows = []
    borders = [(s["float_feature_index"], np.float32(s["border"])) for t in model.document["oblivious_trees"]
               for s in t["splits"]]  # fmt: skip
    assert min(border for _, border in borders) == np.finfo(np.float32).min  # CatBoost's split of the missing
    for feature, border in borders:
        up = np.nextafter(border, np.float32(np.inf))
        halfway = (float(border) + float(up)) / 2  # rounds to the float32 of even mantissa
        with np.errstate(over="ignore"):  # below the lowest float32: -inf
            down = np.nextafter(border, np.float32(-np.inf))
        for value in (border, up, down, halfway, np.nextafter(halfway, np.inf), np.nextafter(halfway, -np.inf)):
            row = X[0].copy()
            row[feature] = float(value)
            rows.append(row)
    edges = np.array(rows)
    np.testing.assert_allclose(model.margin(edges), _own_margin(model, tmp_path, edges), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task", list(Task))
def test_saved_as_catboost_json_and_loaded_to_the_same_numbers(tmp_path: Path, task: Task, weighted: bool) -> None:
    weight = np.random.default_rng(3).uniform(0, 3, 400) if weighted else None
    X, model = _fit(task, weight=weight)
    file = model.save(tmp_path)
    assert file == "model.catboost.json"
    assert "oblivious_trees" in json.loads((tmp_path / file).read_text())
    loaded = LEARNER.load(tmp_path, file, task)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.contributions(X), model.contributions(X))
    np.testing.assert_array_equal(loaded.predict(X[:1]), model.predict(X[:1]))  # the one-row walk
    np.testing.assert_array_equal(model.predict(X[:1]), model.predict(X)[:1])


def test_weights_change_the_fit() -> None:
    weight = np.where(_data(Task.REGRESSION)[0][:, 0] > 0, 5.0, 0.2)
    X, plain = _fit(Task.REGRESSION)
    _, weighted = _fit(Task.REGRESSION, weight=weight)
    assert not np.allclose(plain.predict(X), weighted.predict(X))


@pytest.mark.parametrize("task", list(Task))
def test_contributions_add_up_to_the_margin_and_are_catboosts(tmp_path: Path, task: Task) -> None:
    X, model = _fit(task)
    ours = model.contributions(X)
    assert ours.shape == (len(X), 3 if task is Task.MULTICLASS else 1, X.shape[1] + 1)
    np.testing.assert_allclose(ours.sum(axis=2), model.margin(X), rtol=0, atol=1e-9)
    own = np.asarray(_native(model, tmp_path).get_feature_importance(catboost.Pool(X), type="ShapValues"))
    scale = max(1.0, float(np.abs(own).max()))
    np.testing.assert_allclose(ours, own.reshape(ours.shape), rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(model.contributions(X[:1]), ours[:1], rtol=0, atol=1e-9)


def test_leaves_no_training_row_reached_are_explained_too() -> None:
    X, y, _ = _data(Task.REGRESSION, rows=60)
    model = LEARNER.fit(X, y, Task.REGRESSION, {"depth": 8, "learning_rate": 0.3, "rounds": 30}).model
    assert isinstance(model, CatBoostModel)
    weights = np.concatenate([t["leaf_weights"] for t in model.document["oblivious_trees"]])
    assert (weights == 0).any()  # 256 leaves for 60 rows
    counts = [leaf["leaf_count"] for root, _ in catboost_trees(model.document) for leaf in _leaves(root)]
    assert min(counts) == EMPTY
    assert model._tree_shap is not None
    far = np.random.default_rng(5).normal(scale=3, size=(200, 5))  # rows that land in the empty leaves
    contributions = model.contributions(far)
    assert np.isfinite(contributions).all()
    np.testing.assert_allclose(contributions.sum(axis=2), model.margin(far), rtol=0, atol=1e-9)


def _leaves(node: dict) -> list[dict]:
    if "split_feature" not in node:
        return [node]
    return _leaves(node["left_child"]) + _leaves(node["right_child"])


def test_too_large_for_the_tables_falls_back_to_catboosts_contributions(monkeypatch: pytest.MonkeyPatch) -> None:
    X, model = _fit(Task.MULTICLASS)
    monkeypatch.setattr(_tree_shap, "MAX_TABLE", 10)
    ours = model.contributions(X)
    assert model._tree_shap is None
    np.testing.assert_allclose(ours.sum(axis=2), model.margin(X), rtol=0, atol=1e-6)


def test_early_stopping_keeps_the_best_rounds_and_a_refit_honours_them() -> None:
    X, y, _ = _data(Task.REGRESSION, rows=600)
    params = LEARNER.portfolio[0] | {"learning_rate": 0.3}
    fit = LEARNER.fit(X[:400], y[:400], Task.REGRESSION, params, valid=(X[400:], y[400:]))
    assert fit.rounds is not None
    assert 1 <= fit.rounds < _learners.MAX_ROUNDS
    assert isinstance(fit.model, CatBoostModel)
    assert len(fit.model.document["oblivious_trees"]) == fit.rounds  # the trees after the best are dropped
    refit = LEARNER.fit(X, y, Task.REGRESSION, params | {"rounds": 17})
    assert refit.rounds == 17
    assert isinstance(refit.model, CatBoostModel)
    assert len(refit.model.document["oblivious_trees"]) == 17


def test_a_class_absent_from_the_rows_keeps_its_margin() -> None:
    # An early block of time-ordered folds may hold two classes of three; a constant target, one.
    X, y, _ = _data(Task.MULTICLASS)
    present = y < 2
    model = LEARNER.fit(X[present], y[present], Task.MULTICLASS, LEARNER.portfolio[0] | {"rounds": 20}, 3).model
    probabilities = model.predict(X)
    assert probabilities.shape == (len(X), 3)
    assert probabilities[:, 2].mean() < 0.05  # after 20 rounds; it falls with every round
    assert (probabilities[:, 2] < probabilities[:, :2].min(axis=1)).mean() > 0.9
    constant = LEARNER.fit(X, np.ones(len(X)), Task.BINARY, LEARNER.portfolio[0] | {"rounds": 20}, 2).model
    assert (constant.predict(X)[:, 1] > 0.5).all()
