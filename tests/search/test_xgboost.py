"""The XGBoost family: XGBoost's own trees and decisions, summed in double precision; saved as
XGBoost's JSON; exact TreeSHAP; early stopping and weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest
import xgboost as xgb
from hypothesis import given
from hypothesis import strategies as st

from lathe.profile import Task
from lathe.search import FAMILIES, _learners, _tree_shap, _tree_walk, _xgboost, split_below, use_threads, xgboost_trees
from lathe.search._xgboost import XGBoostModel

LEARNER = FAMILIES["xgboost"]


def _data(task: Task, rows: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5))
    X[rng.random(rows) < 0.1, 2] = np.nan  # missing values, which go each split's default way
    signal = X[:, 0] + 0.5 * X[:, 1] ** 2 + np.nan_to_num(X[:, 2])
    if task is Task.REGRESSION:
        return X, 100 * signal + 40, 0
    if task is Task.BINARY:
        return X, (signal > np.median(signal)).astype(int), 2
    return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3])), 3


def _fit(task: Task, rounds: int = 60, weight: np.ndarray | None = None) -> tuple[np.ndarray, XGBoostModel]:
    X, y, k = _data(task)
    model = LEARNER.fit(X, y, task, LEARNER.portfolio[0] | {"rounds": rounds}, n_classes=k, weight=weight).model
    assert isinstance(model, XGBoostModel)
    return X, model


def _own_margin(model: XGBoostModel, X: np.ndarray) -> np.ndarray:
    """XGBoost's own margin (single precision), rows x margins."""
    return np.asarray(model.booster.predict(xgb.DMatrix(X), output_margin=True), dtype=np.float64).reshape(len(X), -1)


def _exact_margin(model: XGBoostModel, X: np.ndarray) -> np.ndarray:
    """The leaves XGBoost itself picks (``pred_leaf``), their values added up in double precision,
    plus the base score as a margin: XGBoost's decisions, without its rounding."""
    learner = json.loads(model.booster.save_raw("json"))["learner"]
    trees = learner["gradient_booster"]["model"]
    leaves = model.booster.predict(xgb.DMatrix(X), pred_leaf=True).astype(int).reshape(len(X), -1)
    base = np.array(learner["learner_model_param"]["base_score"].strip("[]").split(","), dtype=np.float32)
    offset = np.log(base / (1 - base)) if learner["objective"]["name"] == "binary:logistic" else base
    margin = np.tile(np.asarray(offset, dtype=np.float64), (len(X), 1))
    for t, (tree, output) in enumerate(zip(trees["trees"], trees["tree_info"], strict=True)):
        values = np.array(tree["split_conditions"], dtype=np.float32).astype(np.float64)
        margin[:, output] += values[leaves[:, t]]
    return margin


EDGES = (0.0, -0.0, 1.0, 0.1, 2.0**-149, -(2.0**-149), 2.0**-126, 3.4028234663852886e38, -3.4028234663852886e38)


@given(st.one_of(st.sampled_from(EDGES), st.floats(width=32, allow_nan=False, allow_infinity=False)))
def test_split_below_is_the_last_double_xgboost_sends_left(split: float) -> None:
    threshold = split_below(split)
    with np.errstate(over="ignore"):
        assert np.float32(threshold) < np.float32(split)
        assert np.float32(np.nextafter(threshold, np.inf)) >= np.float32(split)


@pytest.mark.parametrize("task", list(Task))
def test_the_margin_is_xgboosts_decisions_summed_exactly(task: Task) -> None:
    X, model = _fit(task, rounds=200)
    np.testing.assert_allclose(model.margin(X), _exact_margin(model, X), rtol=1e-12, atol=1e-12)
    own = _own_margin(model, X)  # XGBoost's single-precision sum, a few float32 steps away at most
    np.testing.assert_allclose(model.margin(X), own, rtol=0, atol=1e-5 * max(1.0, float(np.abs(own).max())))
    assert model.margin(X).shape == (len(X), 3 if task is Task.MULTICLASS else 1)


@pytest.mark.parametrize("task", list(Task))
def test_predictions_are_xgboosts(task: Task) -> None:
    X, model = _fit(task)
    own = np.asarray(model.booster.predict(xgb.DMatrix(X)), dtype=np.float64)
    predicted = model.predict(X)
    if task is Task.BINARY:
        np.testing.assert_allclose(predicted, np.column_stack([1 - own, own]), atol=1e-6)
    else:  # within XGBoost's single precision
        np.testing.assert_allclose(predicted, own, rtol=0, atol=1e-6 * max(1.0, float(np.abs(own).max())))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task", list(Task))
def test_saved_as_xgboost_json_and_loaded_to_the_same_numbers(tmp_path: Path, task: Task, weighted: bool) -> None:
    weight = np.random.default_rng(3).uniform(0, 3, 400) if weighted else None
    X, model = _fit(task, weight=weight)
    file = model.save(tmp_path)
    assert file == "model.xgboost.json"
    assert json.loads((tmp_path / file).read_text())["learner"]["objective"]["name"] == _xgboost.OBJECTIVES[task]
    loaded = LEARNER.load(tmp_path, file, task)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.contributions(X), model.contributions(X))
    np.testing.assert_array_equal(loaded.predict(X[:1]), model.predict(X[:1]))  # the one-row walk
    np.testing.assert_array_equal(model.predict(X[:1]), model.predict(X)[:1])
    native = xgb.Booster(model_file=str(tmp_path / file))  # XGBoost reads it as its own
    np.testing.assert_array_equal(native.predict(xgb.DMatrix(X)), model.booster.predict(xgb.DMatrix(X)))


def test_weights_change_the_fit() -> None:
    weight = np.where(_data(Task.REGRESSION)[0][:, 0] > 0, 5.0, 0.2)
    X, plain = _fit(Task.REGRESSION)
    _, weighted = _fit(Task.REGRESSION, weight=weight)
    assert not np.allclose(plain.predict(X), weighted.predict(X))


@pytest.mark.parametrize("task", list(Task))
def test_contributions_add_up_to_the_margin_and_are_xgboosts(task: Task) -> None:
    X, model = _fit(task)
    ours = model.contributions(X)
    assert ours.shape == (len(X), 3 if task is Task.MULTICLASS else 1, X.shape[1] + 1)
    np.testing.assert_allclose(ours.sum(axis=2), model.margin(X), rtol=0, atol=1e-9)
    own = np.asarray(model.booster.predict(xgb.DMatrix(X), pred_contribs=True), dtype=np.float64)
    scale = max(1.0, float(np.abs(own).max()))
    np.testing.assert_allclose(ours, own.reshape(ours.shape), rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(model.contributions(X[:1]), ours[:1], rtol=0, atol=1e-9)


def test_too_large_for_the_tables_falls_back_to_xgboosts_contributions(monkeypatch: pytest.MonkeyPatch) -> None:
    X, model = _fit(Task.MULTICLASS)
    monkeypatch.setattr(_tree_shap, "MAX_TABLE", 10)
    ours = model.contributions(X)
    assert model._tree_shap is None
    np.testing.assert_allclose(ours.sum(axis=2), model.margin(X), rtol=0, atol=1e-5)


def test_early_stopping_keeps_the_best_rounds_and_a_refit_honours_them() -> None:
    X, y, _ = _data(Task.REGRESSION, rows=600)
    params = LEARNER.portfolio[0] | {"learning_rate": 0.3}
    fit = LEARNER.fit(X[:400], y[:400], Task.REGRESSION, params, valid=(X[400:], y[400:]))
    assert fit.rounds is not None
    assert 1 <= fit.rounds < _learners.MAX_ROUNDS
    assert isinstance(fit.model, XGBoostModel)
    assert fit.model.booster.num_boosted_rounds() == fit.rounds  # the trees after the best are dropped
    refit = LEARNER.fit(X, y, Task.REGRESSION, params | {"rounds": 17})
    assert refit.rounds == 17
    assert isinstance(refit.model, XGBoostModel)
    assert refit.model.booster.num_boosted_rounds() == 17


def test_many_rows_walked_on_several_threads_give_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    X, model = _fit(Task.MULTICLASS)
    many = np.tile(X, (6, 1))
    threads = _learners.THREADS
    use_threads(1)
    try:
        alone = model.margin(many)
        use_threads(3)
        monkeypatch.setattr(_tree_walk, "ROWS_PER_THREAD", 100)
        np.testing.assert_array_equal(model.margin(many), alone)
    finally:
        use_threads(threads)


def test_trees_read_from_json_hold_the_base_score_as_a_margin() -> None:
    _, model = _fit(Task.BINARY, rounds=5)
    trees = xgboost_trees(model.booster)
    assert len(trees) == 5 + 1
    constant, margin = trees[-1]
    assert margin == 0
    assert set(constant) == {"leaf_value", "leaf_count"}
    base = float(json.loads(model.booster.save_raw("json"))["learner"]["learner_model_param"]["base_score"].strip("[]"))
    assert constant["leaf_value"] == pytest.approx(np.log(base / (1 - base)), rel=1e-7)


def test_the_portfolio_and_the_search_space_are_xgboosts() -> None:
    X, y, _ = _data(Task.BINARY)
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    suggested = LEARNER.suggest(trial)
    assert set(trial.params) == {f"xgboost.{name}" for name in suggested}
    for params in [*LEARNER.portfolio, suggested]:
        assert set(params) == set(LEARNER.portfolio[0])
        model = LEARNER.fit(X, y, Task.BINARY, params | {"rounds": 5}, n_classes=2).model
        assert isinstance(model, XGBoostModel)
        config = json.loads(model.booster.save_config())["learner"]["gradient_booster"]
        assert config["gbtree_train_param"]["tree_method"] == "hist"
        assert int(config["tree_train_param"]["max_depth"]) == params["max_depth"]
