"""Budgeted search: a portfolio of strong defaults first, then Optuna's TPE, all by k-fold CV,
and a blend of the best at the end."""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import optuna
from optuna.trial import TrialState
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold, TimeSeriesSplit

from lathe.errors import CheckpointError, InvalidParameterError
from lathe.profile import Task
from lathe.search._blend import POOL, BlendModel, calibration, select_members
from lathe.search._checkpoint import Checkpoint, Trial
from lathe.search._cost import one_row_latency_ms, saved_size_mb
from lathe.search._leaderboard import Candidate, Leaderboard
from lathe.search._learners import FAMILIES, Fit, Model, linked, single_threaded, threads
from lathe.search._metrics import Metric, tuned_threshold

SEARCH_ROWS = 100_000
SIDE_BY_SIDE = 20_000  # rows up to which the folds are fitted side by side, one per core
REFIT_MARGIN = 1.3
RESERVED = 3  # the refit of this many best candidates is kept back from the budget
IMBALANCED = 0.2  # below this share of rows for the rarest class, balancing the classes is searched


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
    rows: int = SEARCH_ROWS  # the rows candidates are compared on: a larger table is sampled
    max_latency_ms: float | None = None  # the winner's and the blend's one-row latency, at most
    max_size_mb: float | None = None  # the winner's and the blend's saved model files, at most
    plan_latency_ms: float = 0.0  # the feature plan's share of every candidate's one-row latency
    starts: tuple[tuple[str, dict[str, Any]], ...] = ()  # (family, params) tried first: a warm start


@dataclass(frozen=True)
class Layout:
    """How the rows relate, so that folds cannot flatter: row weights (every fit honours
    them), a sortable time per row (folds then learn from the past and are scored on the
    future) or a group label per row (a group's rows then stay in one fold)."""

    weight: np.ndarray | None = None
    time: np.ndarray | None = None
    group: np.ndarray | None = None

    def picked(self, rows: np.ndarray) -> Layout:
        """The layout of the rows at positions ``rows``."""
        return Layout(*(None if a is None else a[rows] for a in (self.weight, self.time, self.group)))


class _AbandonedError(Exception):
    """A candidate stopped before its last fold: out of time (``timed``) or pruned."""

    def __init__(self, timed: bool) -> None:
        super().__init__("out of time" if timed else "pruned")
        self.timed = timed


def run_search(
    X: np.ndarray, y: np.ndarray, spec: SearchSpec, observer: SearchObserver | None = None,
    layout: Layout | None = None, checkpoint: Checkpoint | None = None,
) -> Leaderboard:  # fmt: skip
    """Rank candidates by cross-validated ``spec.metric`` within the budget and trials, then
    blend the best of them when that scores better out of fold (see ``_blend``).

    ``layout`` gives the rows' weights (every fit honours them; the folds are scored
    unweighted), times or groups (see ``Layout``). With a ``checkpoint`` (see ``open_checkpoint``),
    each trial is saved as it ends, and the trials it holds are replayed without a fit; where
    it holds the finished search, that is the answer.
    """
    if checkpoint is not None and (searched := checkpoint.searched()) is not None:
        return searched
    rows = len(X)
    X, y, layout = _sample(X, y, layout or Layout(), spec)
    data = _Data(X, y, layout.weight, _folds(y, spec, layout))
    saved = [] if checkpoint is None else checkpoint.trials
    clock = _Clock(spec.budget, rows / float(np.mean([len(train) for train, _ in data.folds])),
                   elapsed=saved[-1].elapsed if saved else 0.0)  # fmt: skip
    study = _study(spec.seed, spec.starts)
    board = Leaderboard(
        spec.metric.name, spec.metric.greater_is_better, (), max_latency_ms=spec.max_latency_ms,
        max_size_mb=spec.max_size_mb,
    )  # fmt: skip
    imbalanced = _imbalanced(y, spec)
    board, timed_out = _replayed(saved, study, board, spec, imbalanced)
    margins = {c.number: checkpoint.margin(c.number) for c in board.ranked()[:POOL]} if checkpoint else {}
    clock.note(board)
    while _more(spec, board, clock):
        trial = study.ask()
        family, params = _suggest(trial, imbalanced)
        try:
            candidate, margins[trial.number] = _evaluate(trial, family, params, data, spec, clock, not board.candidates)
        except _AbandonedError as abandoned:
            timed_out += abandoned.timed
            study.tell(trial, state=TrialState.PRUNED)
            if checkpoint:
                checkpoint.save_trial(_ended(study, trial.number, None, abandoned.timed, clock), None, margins)
            continue
        study.tell(trial, spec.metric.signed(candidate.cv_score))
        board = board.with_candidate(candidate)
        margins = {c.number: margins[c.number] for c in board.ranked()[:POOL]}
        clock.note(board)
        if checkpoint:
            saved_trial = _ended(study, trial.number, candidate, False, clock)
            checkpoint.save_trial(saved_trial, margins.get(trial.number), margins)
        if observer:
            observer.candidate_finished(candidate, board)
    blend = _blend(board, margins, data, spec, clock, number=len(study.trials))
    if blend is not None:
        board = board.with_candidate(blend)
        if observer:
            observer.candidate_finished(blend, board)
    _check_limits(board)
    threshold = _threshold(board, margins, data, spec)
    board = dataclasses.replace(board, threshold=threshold, trials=len(board.candidates) - (blend is not None),
                                timed_out=timed_out)  # fmt: skip
    if checkpoint:
        checkpoint.save_search(board)
    return board


def open_checkpoint(
    path: str | Path, X: np.ndarray, y: np.ndarray, spec: SearchSpec, layout: Layout | None = None,
    versions: dict[str, str] | None = None,
) -> Checkpoint:  # fmt: skip
    """The checkpoint in folder ``path`` of the search of ``X`` and ``y`` by ``spec`` (see
    ``lathe.search._checkpoint``): new, or of the same rows, ``layout``, settings and library
    ``versions`` (else ``CheckpointError``). The budget is no part of it: a resumed run may have
    another."""
    layout = layout or Layout()
    settings = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)
                if f.name not in ("metric", "budget", "plan_latency_ms")}  # fmt: skip
    settings |= {"metric": spec.metric.name, "versions": versions or {}}
    return Checkpoint.open(path, X, y, (layout.weight, layout.time, layout.group), settings)


def _replayed(
    saved: list[Trial], study: optuna.Study, board: Leaderboard, spec: SearchSpec, imbalanced: bool
) -> tuple[Leaderboard, int]:
    """The leaderboard and the count of trials timed out, from the ``saved`` trials told to the
    ``study`` as they ended, in order (nothing is fitted): its sampler and pruner then go on as in
    the run that saved them."""
    timed_out = 0
    for saved_trial in saved:
        trial = study.ask()
        _suggest(trial, imbalanced)
        if (trial.number, trial.params) != (saved_trial.number, saved_trial.params):
            raise CheckpointError(
                f"the checkpoint's trial {saved_trial.number} is not the one this search draws; "
                "give --resume a new folder, or remove this one to start afresh"
            )
        for step, value in saved_trial.reports:
            trial.report(value, step)
        if saved_trial.candidate is None:
            timed_out += saved_trial.timed
            study.tell(trial, state=TrialState.PRUNED)
            continue
        study.tell(trial, spec.metric.signed(saved_trial.candidate.cv_score))
        board = board.with_candidate(saved_trial.candidate)
    return board, timed_out


def _ended(study: optuna.Study, number: int, candidate: Candidate | None, timed: bool, clock: _Clock) -> Trial:
    """The study's trial ``number`` as it ended, to be saved."""
    ended = study.get_trials(deepcopy=False)[number]
    reports = tuple(sorted(ended.intermediate_values.items()))
    return Trial(number, dict(ended.params), reports, candidate, timed, clock.elapsed())


def _check_limits(board: Leaderboard) -> None:
    """Refuse a search none of whose candidates keeps the deployment limits, saying what would."""
    if board.allows(board.best.latency_ms, board.best.size_mb):
        return
    fastest = min(board.candidates, key=lambda c: c.latency_ms or 0.0)
    smallest = min(board.candidates, key=lambda c: c.size_mb or 0.0)
    raise InvalidParameterError(
        f"no candidate keeps {board.limits()}: the fastest, #{fastest.number} ({fastest.family}), scores a row in "
        f"{fastest.latency_ms or 0.0:.3g} ms; the smallest, #{smallest.number} ({smallest.family}), weighs "
        f"{smallest.size_mb or 0.0:.3g} MB; raise the limits or leave them out"
    )


@dataclass(frozen=True)
class _Data:
    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray | None
    folds: list[tuple[np.ndarray, np.ndarray]]

    @functools.cached_property
    def scored(self) -> np.ndarray:
        """The rows some fold scores: those with an out-of-fold margin."""
        return np.concatenate([valid for _, valid in self.folds])


def refit(
    board: Leaderboard, X: np.ndarray, y: np.ndarray, spec: SearchSpec, weight: np.ndarray | None = None,
    checkpoint: Checkpoint | None = None,
) -> Model:  # fmt: skip
    """The board's best candidate fitted on every row: for a blend, each member, then the blend.
    With a ``checkpoint``, each model is saved as it is fitted, and one it holds is not fitted again."""
    best = board.best
    if best.family != BlendModel.family:
        return _refit(best, (X, y, weight), spec, checkpoint)
    members = {c.number: c for c in board.candidates}
    models = tuple(_refit(members[int(n)], (X, y, weight), spec, checkpoint) for n, _ in best.params["members"])
    weights = tuple(float(w) for _, w in best.params["members"])
    return BlendModel(spec.task, models, weights, float(best.params["offset"]))


def _refit(
    candidate: Candidate, rows: tuple[np.ndarray, np.ndarray, np.ndarray | None], spec: SearchSpec,
    checkpoint: Checkpoint | None,
) -> Model:  # fmt: skip
    if checkpoint is not None and (saved := checkpoint.refitted(candidate.number, spec.task)) is not None:
        return saved
    params = {**candidate.params, **({"rounds": candidate.rounds} if candidate.rounds else {})}
    model = _fitted(candidate.family, params, rows, spec).model
    if checkpoint is not None:
        checkpoint.save_refit(candidate.number, model)
    return model


def _sample(X: np.ndarray, y: np.ndarray, layout: Layout, spec: SearchSpec) -> tuple[np.ndarray, np.ndarray, Layout]:
    if len(X) <= spec.rows:
        return X, y, layout
    picked = np.sort(np.random.default_rng(spec.seed).choice(len(X), spec.rows, replace=False))
    return X[picked], y[picked], layout.picked(picked)


def _folds(y: np.ndarray, spec: SearchSpec, layout: Layout) -> list[tuple[np.ndarray, np.ndarray]]:
    if layout.time is not None:  # expanding window: learn from the earlier blocks, score the next
        order = np.argsort(layout.time, kind="stable")
        return [(order[a], order[b]) for a, b in TimeSeriesSplit(spec.folds).split(order)]
    classified = spec.task is not Task.REGRESSION
    if layout.group is not None:
        k = max(2, min(spec.folds, len(np.unique(layout.group))))
        splitter = (StratifiedGroupKFold if classified else GroupKFold)(k, shuffle=True, random_state=spec.seed)
        return list(splitter.split(np.zeros(len(y)), y, layout.group))
    if not classified:
        return list(KFold(spec.folds, shuffle=True, random_state=spec.seed).split(y))
    smallest = int(np.bincount(y.astype(int)).min())
    k = max(2, min(spec.folds, smallest))
    return list(StratifiedKFold(k, shuffle=True, random_state=spec.seed).split(np.zeros(len(y)), y))


def _study(seed: int, starts: tuple[tuple[str, dict[str, Any]], ...] = ()) -> optuna.Study:
    """A study whose first trials are ``starts`` (a warm start), then the portfolio less those."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    first = [*starts, *(entry for entry in _portfolio() if entry not in starts)]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=8)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=len(first), n_warmup_steps=0)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    for family, params in first:
        named = {k if k == "balanced" else f"{family}.{k}": v for k, v in params.items()}
        study.enqueue_trial({"family": family, **named})
    return study


PORTFOLIO = (
    ("linear", 0), ("lightgbm", 0), ("xgboost", 0), ("catboost", 0), ("lightgbm", 1), ("extra_trees", 0),
    ("random_forest", 0), ("linear", 1), ("xgboost", 1), ("lightgbm", 2), ("catboost", 1),
)  # fmt: skip


def _portfolio() -> list[tuple[str, dict[str, Any]]]:
    """The strong defaults tried first, cheapest and most often best first: each (family, its
    portfolio entry). They are never pruned."""
    return [(family, FAMILIES[family].portfolio[i]) for family, i in PORTFOLIO]


def _suggest(trial: optuna.Trial, imbalanced: bool) -> tuple[str, dict[str, Any]]:
    """A family and its parameters; for imbalanced classes, also whether to balance them."""
    family = str(trial.suggest_categorical("family", sorted(FAMILIES)))
    params = FAMILIES[family].suggest(trial)
    if imbalanced:
        params["balanced"] = bool(trial.suggest_categorical("balanced", [False, True]))
    return family, params


def _imbalanced(y: np.ndarray, spec: SearchSpec) -> bool:
    """Whether the rarest class has under ``IMBALANCED`` of the rows."""
    return spec.task is not Task.REGRESSION and np.bincount(y.astype(int)).min() < IMBALANCED * len(y)


def _fitted(
    family: str, params: dict[str, Any], rows: tuple[np.ndarray, np.ndarray, np.ndarray | None], spec: SearchSpec,
    valid: tuple[np.ndarray, np.ndarray] | None = None, stop: Callable[[], bool] | None = None,
) -> Fit:  # fmt: skip
    """``family`` fitted with ``params`` (ended early where ``stop`` says so); where ``balanced``,
    each class weighs as much in all as the others."""
    X, y, weight = rows
    if params.get("balanced"):
        counts = np.bincount(y.astype(int), minlength=spec.n_classes)
        balance = (len(y) / (len(counts) * np.maximum(counts, 1)))[y.astype(int)]
        weight = balance if weight is None else weight * balance
    learner_params = {k: v for k, v in params.items() if k != "balanced"}
    return FAMILIES[family].fit(
        X, y, spec.task, learner_params, n_classes=spec.n_classes, valid=valid, seed=spec.seed, weight=weight,
        stop=stop,
    )  # fmt: skip


def _evaluate(
    trial: optuna.Trial, family: str, params: dict[str, Any], data: _Data, spec: SearchSpec, clock: _Clock,
    first: bool,
) -> tuple[Candidate, np.ndarray]:  # fmt: skip
    """The candidate, and its margins out of fold (NaN in rows no fold scores); abandoned (but for
    the ``first``) as soon as it could not finish within the budget, its folds taking as long as
    those so far.

    Up to ``SIDE_BY_SIDE`` rows, the folds are fitted side by side, one per core, each on one
    thread: a small fit's threads mostly wait on each other, so this gives more candidates in the
    budget than each fold on every core, one after another (bench/folds.py). Above it, the folds
    are fitted one after another, each on every core.
    """
    margin = np.full((len(data.y), 1 if spec.task is not Task.MULTICLASS else spec.n_classes), np.nan)
    scores: list[float] = []
    rounds: list[int] = []
    fitting = predicting = 0.0
    lanes = min(threads(), len(data.folds)) if len(data.y) <= SIDE_BY_SIDE else 1
    given_up = threading.Event()  # the candidate is abandoned: its folds still going end too

    def out_of_time(ahead: float) -> bool:
        return given_up.is_set() or clock.out_of_time(ahead)

    stop = None if first else out_of_time

    def submit(pool: ThreadPoolExecutor, step: int) -> Future[_Fold]:
        later = math.ceil((len(data.folds) - step - 1) / lanes)  # rounds of folds after this one
        return pool.submit(_fold, family, params, data, data.folds[step], spec, stop, later)

    with ThreadPoolExecutor(lanes, initializer=single_threaded if lanes > 1 else None) as pool:
        fitted = [submit(pool, step) for step in range(lanes)]
        for step, (_, valid) in enumerate(data.folds):
            fold = fitted[step].result()
            if fold.margin is None:
                given_up.set()
                raise _AbandonedError(timed=True)  # cut short by the clock
            margin[valid] = fold.margin
            fitting, predicting = fitting + fold.fit_seconds, predicting + fold.predict_seconds
            scores.append(spec.metric(data.y[valid], linked(spec.task, fold.margin)))
            rounds += [fold.rounds] if fold.rounds else []
            trial.report(spec.metric.signed(float(np.mean(scores))), step)
            last = step == len(data.folds) - 1
            a_fold = (fitting + predicting) / (step + 1)
            rest = a_fold * math.ceil((len(data.folds) - step - 1) / lanes)  # this candidate would end that far on
            if not first and not last and (clock.out_of_time(rest) or trial.should_prune()):
                given_up.set()
                # raised once the folds still going end (leaving the pool waits for them)
                raise _AbandonedError(timed=clock.out_of_time(rest))
            if step + lanes < len(data.folds):
                fitted.append(submit(pool, step + lanes))
    model = cast(Model, fitted[-1].result().model)  # the last fold's: its cost stands for the candidate's
    candidate = Candidate(
        number=trial.number, family=family, params=params, cv_score=float(np.mean(scores)),
        cv_std=float(np.std(scores)), fit_seconds=fitting / len(data.folds),
        elapsed_seconds=clock.elapsed(), rounds=int(np.mean(rounds) * 1.1) + 1 if rounds else None,
        fold_scores=tuple(scores), predict_seconds_per_1k=predicting / len(data.scored) * 1000,
        latency_ms=spec.plan_latency_ms + one_row_latency_ms(model, data.X[:1]), size_mb=saved_size_mb(model),
    )  # fmt: skip
    return candidate, margin


@dataclass(frozen=True)
class _Fold:
    """One fold's fit: its margins on the held-out rows (None where the fit was cut short), boosting
    rounds, and seconds to fit and predict."""

    margin: np.ndarray | None
    rounds: int | None
    fit_seconds: float
    predict_seconds: float
    model: Model | None = None


def _fold(
    family: str, params: dict[str, Any], data: _Data, fold: tuple[np.ndarray, np.ndarray], spec: SearchSpec,
    out_of_time: Callable[[float], bool] | None, later: int,
) -> _Fold:  # fmt: skip
    """One fold fitted and scored; its fit cut short where ``out_of_time`` says that its candidate
    could no longer finish: this fold, then ``later`` rounds of folds, each as long as this one so far."""
    train, valid = fold
    X, y, weight = data.X, data.y, data.weight
    started = time.monotonic()

    def stop() -> bool:
        return out_of_time is not None and out_of_time(later * (time.monotonic() - started))

    rows = (X[train], y[train], None if weight is None else weight[train])
    fit = _fitted(family, params, rows, spec, valid=(X[valid], y[valid]), stop=None if out_of_time is None else stop)
    fitted = time.monotonic()
    if fit.cut:
        return _Fold(None, None, fitted - started, 0.0)
    margin = fit.model.margin(X[valid])
    return _Fold(margin, fit.rounds, fitted - started, time.monotonic() - fitted, fit.model)


def _blend(
    board: Leaderboard, margins: dict[int, np.ndarray], data: _Data, spec: SearchSpec, clock: _Clock, number: int
) -> Candidate | None:
    """A blend of the best candidates (greedy ensemble selection over their out-of-fold margins)
    where it beats the best one out of fold, keeps the deployment limits (its one-row latency and
    size are its members' summed) and its refit and explanation fit in the time left (else the
    member costliest in what is over is left out of the pool and the selection runs again; only
    candidates within the limits are drawn); calibrated where that lowers the log loss without
    worsening the metric. None when neither helps."""
    best, scored = board.best, data.scored
    kept = {c.number: c for c in board.ranked() if c.number in margins and board.allows(c.latency_ms, c.size_mb)}
    pool = {n: margins[n][scored] for n in kept}
    truth = data.y[scored]
    weights = {best.number: 1.0}
    while len(pool) > 1:
        selected = select_members(pool, truth, spec.task, spec.metric)
        latency, size = _deployed([kept[n] for n in selected], spec)
        cost = _costliest(board, latency, size)
        if cost == "fit_seconds" and clock.fits(sum(kept[n].fit_seconds for n in selected), explained=True):
            weights = selected
            break
        del pool[max(selected, key=lambda n: getattr(kept[n], cost) or 0.0)]
    chosen = {c.number: c for c in board.candidates if c.number in weights}
    scores = _fold_scores(weights, 0.0, margins, data, spec)
    if spec.metric.signed(float(np.mean(scores))) <= spec.metric.signed(best.cv_score):
        weights, chosen, scores = {best.number: 1.0}, {best.number: best}, list(best.fold_scores)
    offset = 0.0
    calibrated = calibration(sum(w * margins[n][scored] for n, w in weights.items()), truth, spec.task)
    if calibrated is not None:
        scale, calibrated_offset = calibrated
        calibrated_weights = {n: w * scale for n, w in weights.items()}
        calibrated_scores = _fold_scores(calibrated_weights, calibrated_offset, margins, data, spec)
        if spec.metric.signed(float(np.mean(calibrated_scores))) >= spec.metric.signed(float(np.mean(scores))):
            weights, offset, scores = calibrated_weights, calibrated_offset, calibrated_scores
    if weights == {best.number: 1.0}:
        return None
    members = [[n, w] for n, w in weights.items()]
    latency, size = _deployed(list(chosen.values()), spec)
    return Candidate(
        number=number, family="blend", params={"members": members, "offset": offset},
        cv_score=float(np.mean(scores)), cv_std=float(np.std(scores)),
        fit_seconds=sum(c.fit_seconds for c in chosen.values()), elapsed_seconds=clock.elapsed(),
        fold_scores=tuple(scores), predict_seconds_per_1k=sum(c.predict_seconds_per_1k or 0.0 for c in chosen.values()),
        latency_ms=latency, size_mb=size,
    )  # fmt: skip


def _deployed(members: list[Candidate], spec: SearchSpec) -> tuple[float | None, float | None]:
    """A blend's one-row latency (the plan once, then each member's model) and size (its members'), where measured."""
    if any(c.latency_ms is None or c.size_mb is None for c in members):
        return None, None
    models = sum(float(c.latency_ms or 0.0) - spec.plan_latency_ms for c in members)
    return spec.plan_latency_ms + models, sum(float(c.size_mb or 0.0) for c in members)


def _costliest(board: Leaderboard, latency: float | None, size: float | None) -> str:
    """The candidates' field that a blend of that ``latency`` and ``size`` must cut: the one over
    its limit, else the time its refit takes ("fit_seconds")."""
    if not board.allows(latency, None):
        return "latency_ms"
    return "size_mb" if not board.allows(None, size) else "fit_seconds"


def _threshold(board: Leaderboard, margins: dict[int, np.ndarray], data: _Data, spec: SearchSpec) -> float | None:
    """The best candidate's decision threshold, tuned on its out-of-fold predictions."""
    best, scored = board.best, data.scored
    weights = dict(best.params["members"]) if best.family == BlendModel.family else {best.number: 1.0}
    offset = float(best.params.get("offset", 0.0)) if best.family == BlendModel.family else 0.0
    blended = np.sum([w * margins[n][scored] for n, w in weights.items()], axis=0) + offset
    return tuned_threshold(data.y[scored], linked(spec.task, blended), spec.metric)


def _fold_scores(
    weights: dict[int, float], offset: float, margins: dict[int, np.ndarray], data: _Data, spec: SearchSpec
) -> list[float]:
    blended = np.sum([w * margins[n] for n, w in weights.items()], axis=0) + offset
    return [spec.metric(data.y[valid], linked(spec.task, blended[valid])) for _, valid in data.folds]


def _more(spec: SearchSpec, board: Leaderboard, clock: _Clock) -> bool:
    if not board.candidates:
        return True
    if spec.trials is not None and len(board.candidates) >= spec.trials:
        return False
    # A candidate is only checked against the clock between folds: start one only where a
    # typical fold still fits.
    typical_fold = float(np.median([c.fit_seconds for c in board.candidates]))
    return not clock.out_of_time(typical_fold)


class _Clock:
    """Wall-clock budget, keeping back the time the final refit will take."""

    def __init__(self, budget: float | None, refit_factor: float, elapsed: float = 0.0) -> None:
        self.start = time.monotonic() - elapsed  # a resumed search: the seconds its checkpoint had spent
        self.budget = budget
        self.refit_factor = refit_factor
        self.reserve = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def note(self, board: Leaderboard) -> None:
        """Keep back the time to refit the best few candidates (the members a blend would have)."""
        self.reserve = self.refit(sum(c.fit_seconds for c in board.ranked()[:RESERVED]))

    def refit(self, fit_seconds: float) -> float:
        """The time a refit on every row takes, for candidates whose folds took ``fit_seconds`` to fit.

        A boosted or forest fit's time grows more slowly than its rows (the bins and the splits
        cost as much for many rows as for few), and a refit skips the validation fold and the
        rounds past the best: refitting flights' LightGBM on 3.6 times a fold's rows took 0.97 times
        a fold's fit, digits' blend on 1.25 times 0.92 times. The square root of the rows' ratio
        keeps a margin over both."""
        return fit_seconds * math.sqrt(self.refit_factor) * REFIT_MARGIN

    def fits(self, fit_seconds: float, explained: bool = False) -> bool:
        """Whether refitting candidates whose folds took ``fit_seconds`` fits in the time left; where
        ``explained``, also building their exact explanation's tables, which take about as long as
        a fold's fit (seconds, for a multiclass booster of thousands of trees)."""
        explaining = fit_seconds if explained else 0.0
        return self.budget is None or self.elapsed() + self.refit(fit_seconds) + explaining <= self.budget

    def out_of_time(self, ahead: float = 0.0) -> bool:
        """Whether the budget, less the refit kept back, is spent (or will be ``ahead`` seconds on)."""
        return self.budget is not None and self.elapsed() + self.reserve + ahead >= self.budget
