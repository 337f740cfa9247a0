"""Blends: greedy ensembles and calibration, scored out of fold, saved and explained exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lathe.profile import Task
from lathe.search import (
    FAMILIES,
    BlendModel,
    Candidate,
    Leaderboard,
    SearchSpec,
    _search,
    load_model,
    metric_for,
    refit,
    run_search,
)
from lathe.search._blend import calibration, select_members
from lathe.search._learners import linked


def _data(task: Task, rows: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(rows, 6))
    signal = X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * X[:, 2] * X[:, 3] + rng.normal(scale=0.5, size=rows)
    if task is Task.REGRESSION:
        return X, signal
    if task is Task.BINARY:
        return X, (signal > 0).astype(int)
    return X, np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))


def _blend(task: Task) -> BlendModel:
    X, y = _data(task)
    k = 0 if task is Task.REGRESSION else int(y.max()) + 1
    linear = FAMILIES["linear"].fit(X, y, task, {"C": 1.0}, n_classes=k).model
    trees = FAMILIES["lightgbm"].fit(X, y, task, FAMILIES["lightgbm"].portfolio[0] | {"rounds": 30}, n_classes=k).model
    return BlendModel(task, (linear, trees), (0.3, 0.9), -0.2)


@pytest.mark.parametrize("task", list(Task))
def test_a_blend_is_the_link_of_its_weighted_margins_and_is_explained_exactly(task: Task, tmp_path: Path) -> None:
    blend, (X, _) = _blend(task), _data(task)
    expected = 0.3 * blend.members[0].margin(X) + 0.9 * blend.members[1].margin(X) - 0.2
    np.testing.assert_allclose(blend.margin(X), expected)
    np.testing.assert_allclose(blend.predict(X), linked(task, expected))
    np.testing.assert_allclose(blend.contributions(X).sum(axis=2), expected, atol=1e-9)
    loaded = load_model(tmp_path, "blend", blend.save(tmp_path), task)
    np.testing.assert_array_equal(loaded.predict(X), blend.predict(X))


def test_greedy_selection_starts_from_the_best_and_weights_sum_to_one() -> None:
    _, y = _data(Task.BINARY)
    rng = np.random.default_rng(0)
    truth = (2 * y - 1)[:, None].astype(float)
    margins = {7: truth + rng.normal(scale=2, size=truth.shape), 3: truth + rng.normal(scale=2, size=truth.shape)}
    weights = select_members(margins, y, Task.BINARY, metric_for(Task.BINARY))
    assert set(weights) == {7, 3}  # two independent noisy views: averaging them helps
    assert sum(weights.values()) == pytest.approx(1.0)


def test_calibration_is_found_only_where_it_lowers_the_log_loss() -> None:
    rng = np.random.default_rng(1)
    margin = rng.normal(scale=2, size=(4000, 1))
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-margin[:, 0]))).astype(int)
    assert calibration(margin, y, Task.BINARY) is None  # already calibrated
    scale, offset = calibration(3 * margin + 1, y, Task.BINARY) or (0.0, 0.0)
    assert scale == pytest.approx(1 / 3, rel=0.15)
    assert offset == pytest.approx(-1 / 3, abs=0.15)


@pytest.mark.parametrize("task", list(Task))
def test_a_blend_wins_only_by_beating_the_best_candidate_and_refits_its_members(task: Task) -> None:
    X, y = _data(task)
    k = 0 if task is Task.REGRESSION else int(y.max()) + 1
    board = run_search(X, y, SearchSpec(task, k, metric_for(task), trials=6))
    searched = [c for c in board.candidates if c.family != "blend"]
    blend = next((c for c in board.candidates if c.family == "blend"), None)
    if blend is not None:
        best = max(searched, key=lambda c: metric_for(task).signed(c.cv_score))
        assert metric_for(task).signed(blend.cv_score) >= metric_for(task).signed(best.cv_score)
        assert board.best is blend
        model = refit(board, X, y, SearchSpec(task, k, metric_for(task), trials=6))
        assert isinstance(model, BlendModel)
        assert len(model.members) == len(blend.params["members"])


@pytest.mark.parametrize("task", [Task.REGRESSION, Task.BINARY])
def test_a_blend_too_slow_to_refit_is_selected_again_without_its_costliest_member(task: Task) -> None:
    # Three candidates' out-of-fold margins: the best (0) is too slow to refit in the time left,
    # the other two, with errors of their own, blend better than it.
    rng = np.random.default_rng(1)
    truth = rng.normal(size=900)
    y = truth if task is Task.REGRESSION else (truth > 0).astype(int)
    margins = {
        n: (truth + rng.normal(scale=scale, size=900)).reshape(-1, 1) for n, scale in ((0, 0.8), (1, 1.0), (2, 1.0))
    }
    data = _search._Data(np.zeros((900, 1)), y, None, [(np.arange(900)[i::3], np.arange(900)[i::3]) for i in range(3)])
    spec, metric = SearchSpec(task, 0, metric_for(task), budget=10.0), metric_for(task)
    scores = {n: [metric(y[v], linked(task, m[v])) for _, v in data.folds] for n, m in margins.items()}
    board = Leaderboard(metric.name, metric.greater_is_better, tuple(
        Candidate(n, "linear", {}, float(np.mean(s)), float(np.std(s)), 100.0 if n == 0 else 0.1, 1.0,
                  fold_scores=tuple(s)) for n, s in scores.items()
    ))  # fmt: skip
    assert board.best.number == 0
    blend = _search._blend(board, margins, data, spec, _search._Clock(10.0, refit_factor=1.0), number=3)
    assert blend is not None
    assert {n for n, _ in blend.params["members"]} == {1, 2}
    assert metric.signed(blend.cv_score) > metric.signed(board.best.cv_score)


def test_a_calibrated_model_wins_the_tie_with_the_model_it_calibrates() -> None:
    # Platt scaling leaves each fold's ROC AUC as it was: the calibrated model ("blend") ties.
    X, y = _data(Task.BINARY, rows=2000)
    margin = 3 * (X[:, :1] + np.sin(2 * X[:, 1:2])) + 1  # overconfident and shifted
    folds = [(np.arange(2000)[i::4], np.arange(2000)[i::4]) for i in range(4)]
    data = _search._Data(X, y, None, folds)
    metric = metric_for(Task.BINARY)
    spec = SearchSpec(Task.BINARY, 2, metric)
    scores = [metric(y[v], linked(Task.BINARY, margin[v])) for _, v in folds]
    single = Candidate(0, "linear", {}, float(np.mean(scores)), float(np.std(scores)), 0.1, 1.0,
                       fold_scores=tuple(scores))  # fmt: skip
    board = Leaderboard(metric.name, metric.greater_is_better, (single,))
    calibrated = _search._blend(board, {0: margin}, data, spec, _search._Clock(None, refit_factor=1.0), number=1)
    assert calibrated is not None
    assert calibrated.cv_score == single.cv_score
    assert board.with_candidate(calibrated).best is calibrated
