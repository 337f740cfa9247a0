"""Label-leakage checks before training: columns that give the answer away.

Each raw column is scored on how well it predicts the target ON ITS OWN, out of fold: its
values are cut into at most ``BINS`` bins (quantiles for numbers and dates, levels for text),
each bin's target mean (class shares for multiclass) is learnt on one half of the rows and
scored on the other, and the result is measured with ROC AUC (binary, one-vs-rest for
multiclass) or R² (regression). The same is done with whether the column is missing. A score
of at least ``REMOVE`` is a strong suspicion (the column is left out unless the user keeps
it); ``SUSPECT`` and up is reported. A column whose name repeats the target's is reported.

Given the rows' time (the moment each prediction is made), a date column later than it in
``LATER_SUSPECT`` of the rows or more is reported, and in ``LATER_REMOVE`` or more it is a
strong suspicion: such a value is not known yet when the prediction is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from lathe._roc import roc_auc
from lathe.profile import Task

BINS = 50
LEVELS = 100
SUSPECT = 0.95
REMOVE = 0.99
LATER_SUSPECT = 0.01
LATER_REMOVE = 0.5


@dataclass(frozen=True)
class Leak:
    """A suspected leak: the column, what was found, its score and whether it is strong enough to remove."""

    column: str
    finding: str
    score: float
    strong: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"column": self.column, "finding": self.finding, "score": self.score, "strong": self.strong}


def find_leaks(
    frame: pd.DataFrame, y: np.ndarray, task: Task, target: str, time: pd.Series | None = None
) -> list[Leak]:
    """The suspected leaks among the columns of ``frame`` (raw, coerced to their kinds) for labels ``y``
    (class codes, or numbers for regression), strongest first. ``time`` is the rows' time role
    (instants, one per row of ``frame``), if any."""
    folds = np.random.default_rng(0).permutation(len(frame)) % 2
    metric = "R²" if task is Task.REGRESSION else "ROC AUC"
    found = []
    for column in frame.columns:
        values = frame[column]
        later = None if time is None else _later(values, time)
        if time is not None and later is not None and later >= LATER_SUSPECT:
            finding = (
                f"is later than the time column {time.name!r} in {later:.0%} of rows: not known at prediction time"
            )
            found.append(Leak(str(column), finding, later, later >= LATER_REMOVE))
            continue
        missing = values.isna().to_numpy()
        if 0 < missing.sum() < len(missing):
            score = _score(missing.astype(np.int64), y, task, folds)
            if score >= SUSPECT:
                finding = f"whether it is missing almost determines {target} (out-of-fold {metric} {score:.3f})"
                found.append(Leak(str(column), finding, score, score >= REMOVE))
                continue
        alone = _score(_bins(values), y, task, folds)
        if alone >= SUSPECT:
            finding = f"predicts {target} almost perfectly on its own (out-of-fold {metric} {alone:.3f})"
            found.append(Leak(str(column), finding, alone, alone >= REMOVE))
        elif _mirrors(str(column), target):
            found.append(Leak(str(column), f"its name repeats the target's ({target})", 0.0, False))
    return sorted(found, key=lambda leak: -leak.score)


def _later(values: pd.Series, time: pd.Series) -> float | None:
    """The share of rows, among those where both are known, in which the date ``values`` is
    after ``time``; None where ``values`` holds no dates or ``time`` no instants."""
    if not pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_numeric_dtype(time):
        return None
    when = pd.to_datetime(values, utc=True).to_numpy()
    now = pd.to_datetime(time, errors="coerce", utc=True, format="mixed").to_numpy()
    known = ~(pd.isna(when) | pd.isna(now))
    return float(np.mean(when[known] > now[known])) if known.any() else None


def _bins(values: pd.Series) -> np.ndarray:
    """Integer bin codes, missing values in a bin of their own (-1)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        values = pd.Series(stamps, index=values.index).where(values.notna())
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(numbers)
        distinct = np.unique(numbers[present])
        if len(distinct) > BINS:  # quantile bins, right-closed, the lowest edge included (as pandas' qcut)
            edges = np.unique(np.quantile(numbers[present], np.linspace(0, 1, BINS + 1)))
            codes = np.searchsorted(edges[1:-1], numbers, side="left")
        else:
            codes = np.searchsorted(distinct, numbers)
        return np.where(present, codes, -1).astype(np.int64)
    text = values.astype(object)
    frequent = text.value_counts().index[:LEVELS]
    levels = pd.Index(frequent, dtype=object).get_indexer(pd.Index(text))
    return np.where(text.isna().to_numpy(), -1, np.where(levels == -1, LEVELS, levels))


def _score(codes: np.ndarray, y: np.ndarray, task: Task, folds: np.ndarray) -> float:
    """How well the bins predict ``y`` out of fold: ROC AUC, or R² for regression."""
    targets = _targets(y, task)
    bins = codes - codes.min()
    size = int(bins.max()) + 1
    predicted = np.empty_like(targets)
    for fold in (0, 1):
        learn, score = folds != fold, folds == fold
        counts = np.bincount(bins[learn], minlength=size)
        prior = targets[learn].mean(axis=0)
        for k in range(targets.shape[1]):
            sums = np.bincount(bins[learn], weights=targets[learn, k], minlength=size)
            means = np.where(counts > 0, sums / np.maximum(counts, 1), prior[k])
            predicted[score, k] = means[bins[score]]
    if task is Task.REGRESSION:
        return float(r2_score(targets[:, 0], predicted[:, 0]))
    if task is Task.BINARY:
        return roc_auc(targets[:, 1] == 1, predicted[:, 1])
    present = targets.sum(axis=0) > 0
    return float(np.mean([roc_auc(targets[:, k] == 1, predicted[:, k]) for k in np.flatnonzero(present)]))


def _targets(y: np.ndarray, task: Task) -> np.ndarray:
    if task is Task.REGRESSION:
        return np.asarray(y, dtype=np.float64).reshape(-1, 1)
    codes = np.asarray(y, dtype=np.int64)
    return np.eye(int(codes.max()) + 1)[codes]


def _mirrors(column: str, target: str) -> bool:
    tokens = _tokens(column)
    wanted = _tokens(target)
    return column != target and bool(wanted) and wanted <= tokens


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {token for token in re.split(r"[^a-z0-9]+", spaced.lower()) if len(token) > 1}
