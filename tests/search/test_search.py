"""The search: honest CV, reproducible with trials, each family saved and reloaded exactly."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lathe.errors import InvalidParameterError
from lathe.profile import Task
from lathe.search import (
    FAMILIES,
    Candidate,
    Layout,
    Leaderboard,
    SearchSpec,
    _learners,
    _search,
    metric_for,
    refit,
    run_search,
)
from lathe.search._learners import skewed
from lathe.search._search import _folds


def _data(task: Task, rows: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows, 5))
    signal = X[:, 0] + 0.5 * X[:, 1] ** 2
    if task is Task.REGRESSION:
        return X, signal
    if task is Task.BINARY:
        return X, (signal > np.median(signal)).astype(int)
    return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))


@pytest.mark.parametrize("task", list(Task))
def test_same_seed_and_trials_give_the_same_leaderboard(task: Task) -> None:
    X, y = _data(task)
    spec = SearchSpec(task, 0 if task is Task.REGRESSION else int(y.max()) + 1, metric_for(task), trials=4)
    first, second = run_search(X, y, spec), run_search(X, y, spec)
    assert len([c for c in first.candidates if c.family != "blend"]) == 4  # and a blend where it scores better
    assert [(c.family, c.params, c.cv_score) for c in first.candidates] == [
        (c.family, c.params, c.cv_score) for c in second.candidates
    ]
    assert {c.family for c in first.candidates} <= {"linear", "lightgbm", "xgboost", "catboost", "blend"}


def test_small_data_folds_are_fitted_side_by_side_on_one_thread_each_and_score_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _data(Task.BINARY)
    spec = SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY), trials=3)
    fits: list[tuple[int, int]] = []  # (the thread fitting a fold, the threads its learner may use)
    fitted = _search._fitted

    def recorded(*args: Any, **kwargs: Any) -> Any:
        fits.append((threading.get_ident(), _learners.threads()))
        return fitted(*args, **kwargs)

    monkeypatch.setattr(_search, "_fitted", recorded)
    monkeypatch.setattr(_learners, "THREADS", 2)
    side_by_side = run_search(X, y, spec)
    assert fits
    assert all(thread != threading.get_ident() and threads == 1 for thread, threads in fits)
    fits.clear()
    monkeypatch.setattr(_search, "SIDE_BY_SIDE", len(X) - 1)  # past it: one after another, on every core
    one_after_another = run_search(X, y, spec)
    assert fits
    assert all(threads == 2 for _, threads in fits)
    assert [(c.family, c.params) for c in side_by_side.candidates] == [
        (c.family, c.params) for c in one_after_another.candidates
    ]
    assert [c.cv_score for c in side_by_side.candidates] == pytest.approx(
        [c.cv_score for c in one_after_another.candidates], rel=1e-6
    )


def test_best_candidate_follows_the_metric_direction() -> None:
    X, y = _data(Task.REGRESSION)
    board = run_search(X, y, SearchSpec(Task.REGRESSION, 0, metric_for(Task.REGRESSION), trials=3))
    assert board.best.cv_score == min(c.cv_score for c in board.candidates)
    assert Leaderboard.from_dict(board.to_dict()) == board


def test_budget_stops_the_search() -> None:
    X, y = _data(Task.BINARY, rows=2000)
    board = run_search(X, y, SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY), budget=0.01))
    assert len(board.candidates) == 1  # the baseline always finishes


def test_a_fit_whose_candidate_could_not_finish_in_the_budget_is_cut_and_the_time_left_goes_to_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _data(Task.REGRESSION, rows=5000)
    slow = {"num_leaves": 255, "learning_rate": 0.01, "min_child_samples": 5, "feature_fraction": 1.0,
            "bagging_fraction": 1.0, "lambda_l2": 0.001}  # fmt: skip
    monkeypatch.setattr(type(FAMILIES["lightgbm"]), "portfolio", (slow,))
    monkeypatch.setattr(_search, "PORTFOLIO", (("linear", 0), ("lightgbm", 0), ("linear", 1)))
    started = time.monotonic()
    board = run_search(X, y, SearchSpec(Task.REGRESSION, 0, metric_for(Task.REGRESSION), budget=4.0))
    assert time.monotonic() - started < 5.0  # one fold of the slow LightGBM alone takes several times the budget
    assert [c.family for c in board.candidates[:2]] == ["linear", "linear"]  # cut well before the budget was spent
    assert slow not in [c.params for c in board.candidates]


@pytest.mark.parametrize("family", ["lightgbm", "random_forest", "xgboost", "catboost"])
def test_a_fit_ends_after_the_round_where_stop_says_so(family: str) -> None:
    X, y = _data(Task.BINARY)
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked >= 5

    fit = FAMILIES[family].fit(X, y, Task.BINARY, FAMILIES[family].portfolio[0], n_classes=2, stop=stop)
    assert fit.cut
    whole = FAMILIES[family].fit(X, y, Task.BINARY, FAMILIES[family].portfolio[0], n_classes=2)
    assert not whole.cut
    assert _rounds(fit.model) == 5 < _rounds(whole.model)


def _rounds(model: Any) -> int:
    if hasattr(model, "document"):  # CatBoost's JSON
        return len(model.document["oblivious_trees"])
    booster = model.booster
    return int(booster.num_boosted_rounds() if hasattr(booster, "num_boosted_rounds") else booster.current_iteration())


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("task", list(Task))
def test_saved_models_predict_identically(tmp_path: Path, family: str, task: Task) -> None:
    X, y = _data(task)
    n_classes = 0 if task is Task.REGRESSION else int(y.max()) + 1
    learner = FAMILIES[family]
    model = learner.fit(X, y, task, learner.portfolio[0] | {"rounds": 20}, n_classes=n_classes).model
    loaded = learner.load(tmp_path, model.save(tmp_path), task)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if task is not Task.REGRESSION:
        np.testing.assert_allclose(model.predict(X).sum(axis=1), 1.0)


def test_metric_must_fit_the_task() -> None:
    with pytest.raises(InvalidParameterError, match="does not apply to regression"):
        metric_for(Task.REGRESSION, "roc_auc")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_zero_weights_silence_the_rows_they_weigh(family: str) -> None:
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, size=(400, 1))
    y = (X[:, 0] > 0.5).astype(int)
    flipped = X[:, 0] > 0.75  # a region where a second, contradicting label is added
    X2, y2 = np.vstack([X, X[flipped]]), np.concatenate([y, 1 - y[flipped]])
    weight = np.concatenate([np.ones(len(X)), np.zeros(int(flipped.sum()))])
    learner = FAMILIES[family]
    params = learner.portfolio[0] | {"rounds": 50}
    plain = learner.fit(X2, y2, Task.BINARY, params, n_classes=2).model
    weighted = learner.fit(X2, y2, Task.BINARY, params, n_classes=2, weight=weight).model
    region = np.array([[0.9], [0.95]])
    assert (weighted.predict(region)[:, 1] > plain.predict(region)[:, 1] + 0.1).all()
    np.testing.assert_allclose(
        weighted.predict(region), learner.fit(X, y, Task.BINARY, params, n_classes=2).model.predict(region), atol=0.05
    )


def test_time_ordered_folds_learn_from_the_past_only() -> None:
    _, y = _data(Task.BINARY, rows=400)
    when = np.random.default_rng(3).permutation(400).astype(float)
    spec = SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY), trials=1)
    for train, valid in _folds(y, spec, Layout(time=when)):
        assert when[train].max() < when[valid].min()


def test_group_folds_keep_each_group_in_one_fold() -> None:
    _, y = _data(Task.REGRESSION, rows=400)
    groups = np.arange(400) // 7
    spec = SearchSpec(Task.REGRESSION, 0, metric_for(Task.REGRESSION), trials=1)
    folds = _folds(y, spec, Layout(group=groups))
    assert len(folds) == 5
    for train, valid in folds:
        assert not set(groups[train]) & set(groups[valid])


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS])
def test_a_linear_fit_missing_some_classes_still_gives_every_class(task: Task) -> None:
    X, y = _data(task)
    present = y == 0 if task is Task.BINARY else y != 1  # one class of two, or two classes of three
    n_classes = int(y.max()) + 1
    model = FAMILIES["linear"].fit(X[present], y[present], task, {"C": 1.0}, n_classes=n_classes).model
    proba = model.predict(X)
    assert proba.shape == (len(X), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[:, 1].max() < 1e-6


def test_metrics_that_decide_classes_use_the_threshold() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.column_stack([1 - np.array([0.1, 0.4, 0.35, 0.9]), [0.1, 0.4, 0.35, 0.9]])
    f1, balanced = metric_for(Task.BINARY, "f1"), metric_for(Task.BINARY, "balanced_accuracy")
    assert f1(y, proba) == pytest.approx(2 / 3)  # at 0.5: one of the two positives found
    assert f1(y, proba, threshold=0.3) == pytest.approx(0.8)
    assert balanced(y, proba, threshold=0.3) == pytest.approx(0.75)
    cost = metric_for(Task.BINARY, "cost:1,5")
    assert cost.name == "cost:1,5"
    assert cost(y, proba) == pytest.approx(5 / 4)  # one false negative
    assert cost(y, proba, threshold=0.3) == pytest.approx(1 / 4)  # one false positive


@pytest.mark.parametrize("name", ["cost:1", "cost:a,b", "cost:-1,2", "cost:0,0"])
def test_a_cost_metric_needs_two_costs(name: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"e\.g\. cost:1,5"):
        metric_for(Task.BINARY, name)


def test_the_threshold_is_tuned_out_of_fold_for_a_cost() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(1500, 3))
    y = (X[:, 0] + rng.normal(size=1500) > 1.5).astype(int)  # about one row in seven is positive
    board = run_search(X, y, SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY, "cost:1,10"), trials=2))
    assert board.threshold is not None
    assert board.threshold < 0.5  # a missed positive costs ten false alarms
    assert run_search(X, y, SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY), trials=2)).threshold is None


def test_balancing_the_classes_is_searched_for_a_rare_class_and_weighs_each_class_alike() -> None:
    rng = np.random.default_rng(8)
    X = rng.normal(size=(1000, 3))
    y = (X[:, 0] + rng.normal(size=1000) > 2.0).astype(int)  # about 7 % positive
    spec = SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY), trials=2)
    assert all(isinstance(c.params.get("balanced"), bool) for c in run_search(X, y, spec).candidates[:2])
    assert "balanced" not in run_search(*_data(Task.BINARY), spec).candidates[0].params  # half and half

    def refitted(params: dict[str, object]) -> np.ndarray:
        one = Candidate(0, "linear", params, cv_score=0.5, cv_std=0.0, fit_seconds=0.0, elapsed_seconds=0.0)
        return refit(Leaderboard("roc_auc", True, (one,)), X, y, spec).predict(X)[:, 1]

    assert refitted({"C": 1.0, "balanced": True}).mean() > 0.3 > 0.15 > refitted({"C": 1.0}).mean()


def test_a_linear_model_takes_skewed_features_as_their_signed_log(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    income, height, rare = rng.lognormal(10, 1, 800), rng.normal(170, 10, 800), (rng.random(800) < 0.03) * 1.0
    X = np.column_stack([income, height, rare])
    assert skewed(X).tolist() == [True, False, False]  # a rare 0/1 flag is skewed but has two values only
    y = 2.0 * np.log1p(income) + 0.1 * height + rng.normal(scale=0.1, size=800)
    model = FAMILIES["linear"].fit(X, y, Task.REGRESSION, {"C": 100.0}).model
    assert np.sqrt(np.mean((model.predict(X) - y) ** 2)) < 0.2  # the log is what it learns on
    np.testing.assert_allclose(model.contributions(X).sum(axis=2)[:, 0], model.margin(X)[:, 0])
    loaded = FAMILIES["linear"].load(tmp_path, model.save(tmp_path), Task.REGRESSION)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    older = json.loads((tmp_path / "model.linear.json").read_text())
    del older["skewed"]  # a bundle saved before skew transforms: no feature is logged
    (tmp_path / "model.linear.json").write_text(json.dumps(older))
    assert not FAMILIES["linear"].load(tmp_path, "model.linear.json", Task.REGRESSION).skewed.any()
