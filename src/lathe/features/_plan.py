"""The feature plan: which transform each raw column gets, fitted on the training rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from lathe.features._inputs import InputColumn, coerce_frame, coerce_rows
from lathe.features._selection import redundant_features
from lathe.features._transforms import (
    MAX_LEVELS,
    DateParts,
    Encode,
    Impute,
    OneHot,
    TextStats,
    TextVector,
    Transform,
    level_counts,
    level_floor,
    transform_from_dict,
)
from lathe.profile import ColumnProfile, Profile, SemanticType, Task

SCHEMA_VERSION = 1
ENCODING_FOLDS = 5  # out-of-fold target means for the training rows

_FOR_TYPE: dict[SemanticType, type[Impute | OneHot | DateParts | TextStats]] = {
    SemanticType.NUMERIC: Impute,
    SemanticType.BOOLEAN: Impute,
    SemanticType.CATEGORICAL: OneHot,
    SemanticType.DATETIME: DateParts,
    SemanticType.TEXT: TextStats,
}
UNPROFILED = "not profiled within the budget: a larger budget profiles every column"
_KIND_OF_STORAGE = {"number": "number", "integer": "number", "string": "string", "boolean": "boolean"}
_LEFT_OUT = {
    SemanticType.IDENTIFIER: "identifier: unique per row, so it cannot generalise; kept as an id column",
    SemanticType.CONSTANT: "constant: the same value (or missing) in every row",
}


@dataclass(frozen=True)
class FeaturePlan:
    """Fitted transforms from raw input columns to the model's feature matrix."""

    inputs: tuple[InputColumn, ...]
    steps: tuple[Transform, ...]
    left_out: tuple[tuple[str, str], ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()  # (feature, why): made by a step, but redundant

    @cached_property
    def feature_names(self) -> list[str]:
        """Names of the feature columns, in matrix order."""
        return [name for name in self._made if name not in self._dropped]

    @cached_property
    def feature_sources(self) -> list[str]:
        """For each feature column, the raw column it came from."""
        return [step.column for step in self.steps for name in step.outputs if name not in self._dropped]

    @cached_property
    def _dropped(self) -> set[str]:
        return {name for name, _ in self.dropped}

    @cached_property
    def _made(self) -> list[str]:
        """Every step's outputs, before the redundant ones are dropped."""
        return [name for step in self.steps for name in step.outputs]

    @cached_property
    def _kept(self) -> np.ndarray | None:
        """Positions of the kept features among every step's outputs; ``None`` when all are kept."""
        if not self.dropped:
            return None
        return np.array([i for i, name in enumerate(self._made) if name not in self._dropped])

    def dropping(self, features: Sequence[tuple[str, str]]) -> FeaturePlan:
        """This plan less ``features`` (feature, why it is dropped). A raw column none of whose
        features is kept is no longer an input (nor are its steps): it is left out, with the reason,
        so that what scores the plan never asks for it."""
        dropped = self.dropped + tuple(features)
        gone = {name for name, _ in dropped}
        made: dict[str, list[str]] = {}
        for step in self.steps:
            made.setdefault(step.column, []).extend(step.outputs)
        unread = {column for column, names in made.items() if gone.issuperset(names)}
        why = "adds nothing: each feature made from it was dropped (see the dropped features)"
        return FeaturePlan(
            inputs=tuple(c for c in self.inputs if c.name not in unread),
            steps=tuple(step for step in self.steps if step.column not in unread),
            left_out=self.left_out + tuple((c.name, why) for c in self.inputs if c.name in unread),
            dropped=dropped,
        )

    def categories(self) -> dict[str, list[str]]:
        """For each categorical input, the levels it was fitted with."""
        return {step.column: list(step.levels) for step in self.steps if isinstance(step, OneHot | Encode)}

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The float64 feature matrix for ``frame`` (raw columns; extra ones ignored)."""
        return self.transform_coerced(coerce_frame(frame, self.inputs))

    def transform_coerced(self, coerced: pd.DataFrame) -> np.ndarray:
        """``transform`` of rows already coerced to the inputs' kinds (``coerce_frame``): the
        fast path for scoring the same rows many times over."""
        return self._stacked([col for step in self.steps for col in step.apply(coerced[step.column])], len(coerced))

    def _stacked(self, columns: list[np.ndarray], rows: int) -> np.ndarray:
        """Every step's output columns as one matrix, less the dropped ones."""
        if self._kept is not None:
            columns = [columns[i] for i in self._kept]
        matrix = np.empty((rows, len(columns)), order="F")
        for i, column in enumerate(columns):
            matrix[:, i] = column
        return matrix

    def training_matrix(self, frame: pd.DataFrame, targets: pd.DataFrame | None, seed: int = 0) -> np.ndarray:
        """``transform`` for the rows the plan was fitted on, whose target means (``Encode``) are
        taken out of fold, so that no row's features hold its own target."""
        if targets is None or not any(isinstance(step, Encode) and len(step.names) > 1 for step in self.steps):
            return self.transform(frame)
        coerced = coerce_frame(frame, self.inputs)
        folds = np.random.default_rng(seed).permutation(len(frame)) % ENCODING_FOLDS
        columns = [
            col
            for step in self.steps
            for col in (
                step.out_of_fold(coerced[step.column], targets, folds)
                if isinstance(step, Encode)
                else step.apply(coerced[step.column])
            )
        ]
        return self._stacked(columns, len(frame))

    def transform_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``transform`` for rows given as mappings (parsed JSON), without building a DataFrame:
        the fast path for a few rows at a time. The same features, to the last bit but for the
        sine and cosine of cyclic date parts (to the last few)."""
        made = np.empty((len(rows), len(self._made)))
        for r, values in enumerate(coerce_rows(rows, self.inputs)):
            made[r] = [x for step, i in self._step_inputs for x in step.row(values[i])]
        return made if self._kept is None else made[:, self._kept]

    @cached_property
    def _step_inputs(self) -> list[tuple[Transform, int]]:
        """Each step with the position of its column among the inputs."""
        position = {c.name: i for i, c in enumerate(self.inputs)}
        return [(step, position[step.column]) for step in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a schema version."""
        return {
            "schema_version": SCHEMA_VERSION,
            "inputs": [c.to_dict() for c in self.inputs],
            "steps": [s.to_dict() for s in self.steps],
            "left_out": [{"column": c, "reason": r} for c, r in self.left_out],
            "dropped": [{"feature": f, "reason": r} for f, r in self.dropped],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeaturePlan:
        """The inverse of ``to_dict``."""
        return cls(
            inputs=tuple(InputColumn.from_dict(c) for c in data["inputs"]),
            steps=tuple(transform_from_dict(s) for s in data["steps"]),
            left_out=tuple((d["column"], d["reason"]) for d in data["left_out"]),
            dropped=tuple((d["feature"], d["reason"]) for d in data.get("dropped", [])),
        )


def usable_inputs(
    profile: Profile, exclude: tuple[str, ...] = (), keep_personal: bool = False
) -> tuple[InputColumn, ...]:
    """The raw columns of ``profile`` a plan may use, with their kinds (see ``plan_features``)."""
    return tuple(
        InputColumn(c.name, _input_kind(c.storage, c.semantic_type))
        for c in profile.columns
        if c.name not in exclude and _left_out_because(c, keep_personal) is None
    )


def plan_features(
    profile: Profile,
    frame: pd.DataFrame,
    exclude: tuple[str, ...] = (),
    keep_personal: bool = False,
    leaks: Mapping[str, str] | None = None,
    select: bool = True,
    targets: pd.DataFrame | None = None,
) -> FeaturePlan:
    """Choose a transform per usable column of ``profile`` and fit it on ``frame``.

    ``exclude`` names columns that are not features (the target). Identifiers, constants,
    unless ``keep_personal`` columns flagged as personal data, and the columns of ``leaks``
    (column: why it is suspected) are left out with the reason recorded. With ``select``, the
    feature columns that add nothing (constant, duplicate, almost perfectly correlated; see
    ``redundant_features``) are dropped, with the reason recorded in ``dropped``. A category with
    more frequent levels than one-hot keeps is encoded as numbers (``Encode``), with the means of
    ``targets`` (see ``encoding_targets``) where given.
    """
    leaks = leaks or {}
    reasons = {c.name: _left_out_because(c, keep_personal) for c in profile.columns if c.name not in exclude}
    reasons |= {name: f"suspected leak: {why}" for name, why in leaks.items() if reasons.get(name, "") is None}
    reasons |= {name: UNPROFILED for name in profile.unprofiled if name not in exclude}
    used = [c for c in profile.columns if c.name in reasons and reasons[c.name] is None]
    inputs = tuple(InputColumn(c.name, _input_kind(c.storage, c.semantic_type)) for c in used)
    coerced = coerce_frame(frame, inputs)
    steps = tuple(step for c in used for step in _fitted(c, coerced[c.name], targets))
    left_out = tuple((name, reason) for name, reason in reasons.items() if reason is not None)
    made = FeaturePlan(inputs=inputs, steps=steps, left_out=left_out)
    if not select or not made.feature_names:
        return made
    return made.dropping(redundant_features(made.transform_coerced(coerced), made.feature_names))


def encoding_targets(y: np.ndarray, task: Task, classes: Sequence[Any]) -> pd.DataFrame:
    """The numbers whose mean per level ``Encode`` learns: the target itself, the positive class
    as 0/1 for binary, one 0/1 column per class for multiclass (``y`` holds class positions)."""
    if task is Task.REGRESSION:
        return pd.DataFrame({"target": np.asarray(y, dtype=float)})
    shown = classes[1:] if task is Task.BINARY else classes
    first = 1 if task is Task.BINARY else 0
    return pd.DataFrame({f"target={label}": (y == first + k).astype(float) for k, label in enumerate(shown)})


def _fitted(column: ColumnProfile, values: pd.Series, targets: pd.DataFrame | None) -> tuple[Transform, ...]:
    """The column's transforms, by its semantic type; ``Encode`` for a category with more frequent
    levels than one-hot keeps; for a free text, its statistics and, where there are enough texts
    and terms to learn one from, a ``TextVector``."""
    if column.semantic_type is SemanticType.CATEGORICAL:
        counts, fold_case = level_counts(values)
        if int((counts >= level_floor(len(values))).sum()) > MAX_LEVELS:
            return (Encode.fit(column.name, values, targets, fold_case),)
    fitted = _FOR_TYPE[column.semantic_type].fit(column.name, values)
    vector = TextVector.fit(column.name, values) if column.semantic_type is SemanticType.TEXT else None
    return (fitted,) if vector is None else (fitted, vector)


def _left_out_because(column: ColumnProfile, keep_personal: bool) -> str | None:
    if column.semantic_type in _LEFT_OUT:
        return _LEFT_OUT[column.semantic_type]
    if column.personal is not None and not keep_personal:
        return f"personal data ({column.personal.kind}): kept out of the features unless you opt in (--keep-pii)"
    return None


def _input_kind(storage: str, semantic: SemanticType) -> str:
    if semantic is SemanticType.DATETIME:
        return "datetime"
    if semantic is SemanticType.BOOLEAN:
        return "boolean"
    if semantic in (SemanticType.CATEGORICAL, SemanticType.TEXT):
        return "string"
    return _KIND_OF_STORAGE.get(storage, "string")
