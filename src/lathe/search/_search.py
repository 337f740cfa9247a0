"""Budgeted search: a portfolio of strong defaults first, then Optuna's TPE, all by k-fold CV."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import optuna
from optuna.trial import TrialState
from sklearn.model_selection import KFold, StratifiedKFold

from lathe.profile import Task
from lathe.search._leaderboard import Candidate, Leaderboard
from lathe.search._learners import FAMILIES, Fit
from lathe.search._metrics import Metric

SEARCH_ROWS = 100_000
REFIT_MARGIN = 1.3


class SearchObserver(Protocol):
    """Told about each candidate as it finishes."""

    def candidate_finished(self, candidate: Candidate, leaderboard: Leaderboard) -> None: ...


@dataclass(frozen=True)
class SearchSpec:
    """What to search: the task, metric, budget in seconds and/or a count of trials."""

    task: Task
    n_classes: int
    metric: Metric
    budget: float | None = None
    trials: int | None = None
    seed: int = 0
    folds: int = 5


class _AbandonedError(Exception):
    """A candidate stopped before its last fold: out of time or pruned."""


def run_search(
    X: np.ndarray, y: np.ndarray, spec: SearchSpec, observer: SearchObserver | None = None,
    weight: np.ndarray | None = None,
) -> Leaderboard:  # fmt: skip
    """Rank candidates by cross-validated ``spec.metric`` within the budget and trials.

    ``weight`` (one non-negative number per row) weighs the rows in every fit; the folds are
    scored unweighted.
    """
    rows = len(X)
    X, y, weight = _sample(X, y, weight, spec)
    folds = _folds(y, spec)
    clock = _Clock(spec.budget, refit_factor=rows / max(1, len(folds[0][0])))
    study = _study(spec.seed)
    board = Leaderboard(spec.metric.name, spec.metric.greater_is_better, ())
    while _more(spec, board, clock):
        trial = study.ask()
        family, params = _suggest(trial)
        try:
            candidate = _evaluate(trial, family, params, (X, y, weight), folds, spec, clock, first=not board.candidates)
        except _AbandonedError:
            study.tell(trial, state=TrialState.PRUNED)
            continue
        study.tell(trial, spec.metric.signed(candidate.cv_score))
        board = board.with_candidate(candidate)
        clock.note(candidate if candidate is board.best else None)
        if observer:
            observer.candidate_finished(candidate, board)
    return board


_Rows = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def _sample(X: np.ndarray, y: np.ndarray, weight: np.ndarray | None, spec: SearchSpec) -> _Rows:
    if len(X) <= SEARCH_ROWS:
        return X, y, weight
    picked = np.sort(np.random.default_rng(spec.seed).choice(len(X), SEARCH_ROWS, replace=False))
    return X[picked], y[picked], None if weight is None else weight[picked]


def _folds(y: np.ndarray, spec: SearchSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    if spec.task is Task.REGRESSION:
        return list(KFold(spec.folds, shuffle=True, random_state=spec.seed).split(y))
    smallest = int(np.bincount(y.astype(int)).min())
    k = max(2, min(spec.folds, smallest))
    return list(StratifiedKFold(k, shuffle=True, random_state=spec.seed).split(np.zeros(len(y)), y))


def _study(seed: int) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=8)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    for family, params in _portfolio():
        study.enqueue_trial({"family": family, **{f"{family}.{k}": v for k, v in params.items()}})
    return study


def _portfolio() -> list[tuple[str, dict[str, Any]]]:
    linear, lightgbm = FAMILIES["linear"].portfolio, FAMILIES["lightgbm"].portfolio
    order = [("linear", linear[0]), ("lightgbm", lightgbm[0]), ("lightgbm", lightgbm[1])]
    return [*order, ("linear", linear[1]), ("lightgbm", lightgbm[2]), ("xgboost", FAMILIES["xgboost"].portfolio[0])]


def _suggest(trial: optuna.Trial) -> tuple[str, dict[str, Any]]:
    family = str(trial.suggest_categorical("family", sorted(FAMILIES)))
    return family, FAMILIES[family].suggest(trial)


def _evaluate(
    trial: optuna.Trial, family: str, params: dict[str, Any], rows: _Rows,
    folds: list[tuple[np.ndarray, np.ndarray]], spec: SearchSpec, clock: _Clock, first: bool,
) -> Candidate:  # fmt: skip
    X, y, _ = rows
    scores: list[float] = []
    rounds: list[int] = []
    started = time.monotonic()
    for step, (train, valid) in enumerate(folds):
        fit = _fit(family, params, rows, train, valid, spec)
        scores.append(spec.metric(y[valid], fit.model.predict(X[valid])))
        rounds += [fit.rounds] if fit.rounds else []
        trial.report(spec.metric.signed(float(np.mean(scores))), step)
        last = step == len(folds) - 1
        if not first and not last and (clock.out_of_time() or trial.should_prune()):
            raise _AbandonedError
    fit_seconds = (time.monotonic() - started) / len(folds)
    return Candidate(
        number=trial.number, family=family, params=params, cv_score=float(np.mean(scores)),
        cv_std=float(np.std(scores)), fit_seconds=fit_seconds, elapsed_seconds=clock.elapsed(),
        rounds=int(np.mean(rounds) * 1.1) + 1 if rounds else None, fold_scores=tuple(scores),
    )  # fmt: skip


def _fit(
    family: str, params: dict[str, Any], rows: _Rows, train: np.ndarray, valid: np.ndarray, spec: SearchSpec
) -> Fit:
    X, y, weight = rows
    return FAMILIES[family].fit(
        X[train], y[train], spec.task, params, n_classes=spec.n_classes, valid=(X[valid], y[valid]),
        seed=spec.seed, weight=None if weight is None else weight[train],
    )  # fmt: skip


def _more(spec: SearchSpec, board: Leaderboard, clock: _Clock) -> bool:
    if not board.candidates:
        return True
    if spec.trials is not None and len(board.candidates) >= spec.trials:
        return False
    return not clock.out_of_time()


class _Clock:
    """Wall-clock budget, keeping back the time the winner's final refit will take."""

    def __init__(self, budget: float | None, refit_factor: float) -> None:
        self.start = time.monotonic()
        self.budget = budget
        self.refit_factor = refit_factor
        self.reserve = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def note(self, best: Candidate | None) -> None:
        if best is not None:
            self.reserve = best.fit_seconds * self.refit_factor * REFIT_MARGIN

    def out_of_time(self) -> bool:
        return self.budget is not None and self.elapsed() + self.reserve >= self.budget
