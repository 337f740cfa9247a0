"""Local explanations: each prediction split exactly over the RAW input columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lathe.features import FeaturePlan
from lathe.profile import Task
from lathe.search import Model


@dataclass(frozen=True)
class Explanation:
    """Contributions of raw columns to the model's margin, for each row and output.

    ``base[i, k] + values[i, k, :].sum()`` equals the model's margin (log-odds for binary,
    one logit per class for multiclass, the prediction for regression) for row ``i``
    and output ``k``.
    """

    columns: tuple[str, ...]
    base: np.ndarray  # (rows, outputs)
    values: np.ndarray  # (rows, outputs, columns)

    @property
    def margin(self) -> np.ndarray:
        """The margin the contributions add up to (rows x outputs)."""
        return np.asarray(self.base + self.values.sum(axis=2))


class Explainer:
    """Explains a fitted model through its feature plan, in raw columns.

    The matrix that folds feature contributions into raw columns is built once, so a
    single row costs one transform, one call of the learner's exact explainer and one
    small matrix product.
    """

    def __init__(self, plan: FeaturePlan, model: Model) -> None:
        self.plan = plan
        self.model = model
        self.columns = tuple(column.name for column in plan.inputs)
        position = {name: i for i, name in enumerate(self.columns)}
        fold = np.zeros((len(plan.feature_sources), len(self.columns)))
        for feature, source in enumerate(plan.feature_sources):
            fold[feature, position[source]] = 1.0
        self.fold = fold

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """Contributions of every raw column for every row of ``frame``."""
        return self.explain_features(self.plan.transform(frame))

    def explain_features(self, X: np.ndarray) -> Explanation:
        """Contributions for an already transformed feature matrix."""
        parts = self.model.contributions(X)
        return Explanation(self.columns, parts[:, :, -1], parts[:, :, :-1] @ self.fold)


def effects(explanation: Explanation, task: Task, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's push on the prediction in its own units, for the explained output per row.

    ``output[i]`` picks the output slot of row ``i`` (the predicted class for multiclass,
    0 otherwise). For classification the margin contributions are carried to the
    probability of that class along the secant of the link between the base value and
    the prediction, so the effects add up exactly to the probability minus the base
    probability; for regression they are the contributions themselves.
    Returns (base value per row, effects rows x columns).
    """
    rows = np.arange(len(output))
    base, values = explanation.base[rows, output], explanation.values[rows, output, :]
    if task is Task.REGRESSION:
        return base, values
    start, end = (
        _probability(explanation.base, task)[rows, output],
        _probability(explanation.margin, task)[rows, output],
    )
    rise = explanation.margin[rows, output] - base
    slope = np.divide(end - start, rise, out=start * (1.0 - start), where=np.abs(rise) > 1e-12)
    return start, values * slope[:, None]


def _probability(margin: np.ndarray, task: Task) -> np.ndarray:
    if task is Task.BINARY:
        return np.asarray(1.0 / (1.0 + np.exp(-margin)))
    shifted = np.exp(margin - margin.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))
