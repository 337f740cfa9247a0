"""Global explanations: which raw columns matter, and how the prediction moves with them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from time import monotonic
from typing import Any

import numpy as np
import pandas as pd

from lathe.explain._local import Explanation
from lathe.explain._reasons import format_value

GRID_POINTS = 20
MAX_LEVELS = 12

Predict = Callable[[pd.DataFrame], np.ndarray]


def mean_contribution(explanation: Explanation) -> list[dict[str, Any]]:
    """Mean absolute contribution per raw column as a share of the total, largest first."""
    size = np.abs(explanation.values).mean(axis=(0, 1))
    total = float(size.sum()) or 1.0
    ranked = sorted(zip(explanation.columns, size, strict=True), key=lambda pair: -pair[1])
    return [{"column": column, "importance": float(value) / total} for column, value in ranked]


def permutation_importance(
    score: Callable[[pd.DataFrame], float],
    frame: pd.DataFrame,
    columns: Sequence[str],
    seed: int = 0,
    deadline: float | None = None,
) -> list[dict[str, Any]]:
    """How much ``score`` (greater is better) drops when each column's values are shuffled, largest
    first. With a ``deadline`` (a ``time.monotonic()`` instant), ``columns`` are shuffled in the
    order given until then, and those not reached are left out of the result."""
    rng = np.random.default_rng(seed)
    reference = score(frame)
    drops = []
    for column in columns:
        if deadline is not None and monotonic() > deadline:
            break
        shuffled = frame.assign(**{column: frame[column].to_numpy()[rng.permutation(len(frame))]})
        drops.append({"column": column, "drop": reference - score(shuffled)})
    return sorted(drops, key=lambda d: -d["drop"])


def partial_dependence(predict: Predict, frame: pd.DataFrame, column: str, outputs: Sequence[str]) -> dict[str, Any]:
    """The mean prediction over ``frame`` with ``column`` set to each point of a grid.

    Numbers get a grid of quantiles, dates a dozen quantiles in time order, other kinds their
    most frequent values. ``outputs`` names the prediction's columns (classes, or the
    target for regression).
    """
    values = frame[column]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    grid: list[Any]
    if numeric:
        grid = _quantiles(values)
    elif pd.api.types.is_datetime64_any_dtype(values):
        grid = sorted(set(values.dropna().quantile(np.linspace(0.02, 0.98, MAX_LEVELS))))
    else:
        grid = list(values.dropna().value_counts().index[:MAX_LEVELS])
    means = np.array([_mean_prediction(predict, frame, column, point) for point in grid])
    means = means.reshape(len(grid), -1)
    return {
        "column": column,
        "numeric": numeric,
        "grid": [float(v) for v in grid] if numeric else [format_value(v) for v in grid],
        "series": [{"name": name, "values": means[:, k].tolist()} for k, name in enumerate(outputs)],
    }


def _quantiles(values: pd.Series) -> list[float]:
    present = values.dropna().to_numpy(dtype="float64")
    return list(np.unique(np.quantile(present, np.linspace(0.02, 0.98, GRID_POINTS)))) if len(present) else []


def _mean_prediction(predict: Predict, frame: pd.DataFrame, column: str, point: object) -> np.ndarray:
    held = frame.copy()
    held[column] = pd.Series([point] * len(frame), index=frame.index, dtype=frame[column].dtype)
    mean: np.ndarray = np.asarray(predict(held)).mean(axis=0)
    return mean
