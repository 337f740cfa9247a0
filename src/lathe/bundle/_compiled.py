"""The compiled scorer: a bundle's features and model as flat arrays, run by numba loops.

``Program.of`` translates the plan's steps into a feature program and the model (as
``lathe.search.describe_model`` describes it, the description every export renders) into flat
node arrays; ``lathe.bundle._kernels`` runs both, a row at a time. Raw columns come in as
NumPy arrays: numbers as float64, timestamps as nanoseconds, strings as codes into the batch's
distinct values, whose outputs each string step works out once per batch with the plan's own
transform (so categories, their encodings and text vectors are exactly the reference's).

The result equals ``FeaturePlan.transform`` and the model's ``predict`` (to about 1e-15, the
order of additions aside); ``tests/bundle/test_compiled.py`` holds them to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

from lathe.bundle import _kernels
from lathe.errors import SchemaMismatchError
from lathe.features import (
    CYCLES,
    DateParts,
    Encode,
    FeaturePlan,
    Impute,
    InputColumn,
    OneHot,
    Transform,
    check_columns,
    coerce_column,
    waves,
)
from lathe.features._inputs import coerce_rows
from lathe.profile import Task
from lathe.search import Affine, Trees, describe_model, linked
from lathe.search._learners import threads

PART_IDS = {"year": 0, "month": 1, "day": 2, "weekday": 3, "hour": 4, "minute": 5}
ROWS_PER_THREAD = 20_000  # fewer rows than this per thread are scored on one
_EPOCH = datetime(1970, 1, 1)
_KINDS = {"number": "numbers", "boolean": "numbers", "datetime": "stamps", "string": "codes"}


@dataclass(frozen=True)
class Batch:
    """Raw columns ready for the kernels (see ``lathe.bundle._kernels``)."""

    rows: int
    numbers: np.ndarray  # (number inputs, rows) float64
    stamps: np.ndarray  # (datetime inputs, rows) int64 nanoseconds
    codes: np.ndarray  # (string inputs, rows) int64, -1 missing
    tables: np.ndarray  # the string steps' outputs per distinct value, one table after another
    starts: np.ndarray  # where each string step's table starts


@dataclass(frozen=True)
class Program:
    """A bundle's feature program and model as flat arrays (``arrays``, named as the kernels'
    arguments) and what it was made for."""

    arrays: dict[str, np.ndarray]
    task: Task
    margins: int

    FORMAT = 2  # bumped when the arrays change meaning: a cached program of another format is rebuilt

    @classmethod
    def of(cls, plan: FeaturePlan, model: Any, task: Task, classes: int) -> Program:
        """The program of ``plan`` and ``model``; ``ExportError`` where the model cannot be described."""
        margins = classes if task is Task.MULTICLASS else 1
        described = describe_model(model, len(plan.feature_names), margins)
        return cls(
            {**_feature_program(plan), **_model_arrays(described, margins, len(plan.feature_names))}, task, margins
        )


def _feature_program(plan: FeaturePlan) -> dict[str, np.ndarray]:
    slots = _slots(plan.inputs)
    ops: list[list[int]] = []
    ints: list[int] = []
    floats: list[float] = []
    made, lookups = 0, 0
    for step in plan.steps:
        width = len(step.outputs)
        if isinstance(step, Impute):
            ops.append([_kernels.NUMBER, slots[step.column], made, width, len(ints), len(floats)])
            floats.append(step.fill)
        elif isinstance(step, DateParts):
            ops.append([_kernels.DATE, slots[step.column], made, width, len(ints), len(floats)])
            _date_parameters(step, ints, floats)
        else:
            ops.append([_kernels.LOOKUP, lookups, made, width, len(ints), len(floats)])
            ints.append(slots[step.column])
            lookups += 1
        made += width
    kept = {name: i for i, name in enumerate(plan.feature_names)}
    keep = [kept.get(name, -1) for step in plan.steps for name in step.outputs]
    return {
        "ops": np.array(ops, dtype=np.int64).reshape(-1, 6),
        "ints": np.array(ints, dtype=np.int64),
        "floats": np.array(floats, dtype=np.float64),
        "keep": np.array(keep, dtype=np.int64),
    }


def _slots(inputs: tuple[InputColumn, ...]) -> dict[str, int]:
    """Each input's row in its kind's array (numbers, stamps or codes)."""
    counts: dict[str, int] = {}
    slots = {}
    for column in inputs:
        kind = _KINDS[column.kind]
        slots[column.name] = counts.get(kind, 0)
        counts[kind] = slots[column.name] + 1
    return slots


def _date_parameters(step: DateParts, ints: list[int], floats: list[float]) -> None:
    ints += [len(step.parts), *(PART_IDS[p] for p in step.parts), len(step.cyclic)]
    for part in step.cyclic:
        ints += [step.parts.index(part), CYCLES[part]]
    ints += [int(step.reference is not None), int(step.indicator)]
    floats += [*step.fills, step.reference or 0.0, step.elapsed_fill]
    for part in step.cyclic:
        wave = waves(step, part)
        floats += [*wave.sin, wave.fill_sin, *wave.cos, wave.fill_cos]


def _model_arrays(model: Affine | Trees, margins: int, features: int) -> dict[str, np.ndarray]:
    linear = model if isinstance(model, Affine) else model.linear
    trees = model.trees if isinstance(model, Trees) else ()
    sizes = [len(t.feature) for t in trees]
    offsets = np.cumsum([0, *sizes])[:-1].astype(np.int64)

    def joined(name: str, dtype: Any, shift: bool = False) -> np.ndarray:
        parts = [
            np.asarray(getattr(t, name), dtype=dtype) + (o if shift else 0) for t, o in zip(trees, offsets, strict=True)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    flags = joined("default_left", np.int64) + 2 * joined("zero_is_missing", np.int64)
    logged = np.zeros((margins, features)) if linear is None or linear.logged is None else linear.logged
    read = np.flatnonzero(np.any(logged != 0, axis=0)).astype(np.int64)  # the features taken as their signed log
    return {
        "bias": np.zeros(margins) if linear is None else np.asarray(linear.bias, dtype=np.float64).reshape(margins),
        "weights": np.zeros((margins, 0)) if linear is None else np.ascontiguousarray(linear.weights, dtype=np.float64),
        "logged": np.ascontiguousarray(logged[:, read]),
        "logged_features": read,
        "roots": offsets,
        "margin": np.array([t.margin for t in trees], dtype=np.int64),
        "feature": joined("feature", np.int64),
        "threshold": joined("threshold", np.float64),
        "left": np.where(joined("left", np.int64) >= 0, joined("left", np.int64, shift=True), -1),
        "right": np.where(joined("right", np.int64) >= 0, joined("right", np.int64, shift=True), -1),
        "flags": flags,
        "value": joined("value", np.float64),
        "width": np.array([features], dtype=np.int64),
    }


@dataclass(frozen=True)
class CompiledScorer:
    """Scores raw rows for a bundle through its ``Program``: ``predict`` gives what the model's
    ``predict`` gives on ``FeaturePlan.transform``'s features, ``features`` those features."""

    plan: FeaturePlan
    program: Program

    @cached_property
    def _string_steps(self) -> list[Transform]:
        return [s for s in self.plan.steps if not isinstance(s, Impute | DateParts)]

    @cached_property
    def _feature_args(self) -> tuple[np.ndarray, ...]:
        a = self.program.arrays
        return a["ops"], a["ints"], a["floats"], a["keep"]

    @cached_property
    def _model_args(self) -> tuple[Any, ...]:
        a = self.program.arrays
        names = (
            "bias",
            "weights",
            "logged",
            "logged_features",
            "roots",
            "margin",
            "feature",
            "threshold",
            "left",
            "right",
            "flags",
            "value",
        )
        return (int(a["width"][0]), *(a[n] for n in names))

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """The float64 feature matrix of ``frame``, as ``FeaturePlan.transform`` makes it."""
        return self.features_of_batch(self.batch(frame))

    def features_of_batch(self, batch: Batch) -> np.ndarray:
        """``features`` of a prepared ``Batch``."""
        X = np.empty((batch.rows, len(self.plan.feature_names)))
        columns = (batch.numbers, batch.stamps, batch.codes, batch.tables, batch.starts, *self._feature_args)
        self._shared(batch.rows, lambda start, stop: _kernels.features_of(start, stop, X, *columns))
        return X

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's ``predict`` of ``frame``'s rows: class probabilities (n x k) or numbers (n,)."""
        return self.predict_batch(self.batch(frame))

    def predict_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``predict`` for rows given as mappings (parsed JSON), without pandas."""
        return self.predict_batch(self.batch_of_rows(rows))

    def predict_batch(self, batch: Batch) -> np.ndarray:
        """``predict`` of a prepared ``Batch``."""
        M = np.empty((batch.rows, self.program.margins))
        columns = (batch.numbers, batch.stamps, batch.codes, batch.tables, batch.starts, *self._feature_args)
        arrays = (*columns, *self._model_args)
        self._shared(batch.rows, lambda start, stop: _kernels.scores_of(start, stop, M, *arrays))
        return linked(self.program.task, M)

    def predict_features(self, X: np.ndarray) -> np.ndarray:
        """The model's ``predict`` of a feature matrix."""
        M = np.empty((len(X), self.program.margins))
        _kernels.margins_of(np.ascontiguousarray(X, dtype=np.float64), M, *self._model_args[1:])
        return linked(self.program.task, M)

    def warm(self) -> None:
        """Compile the kernels (or load them from numba's cache) by scoring no rows."""
        nothing = _batch(0, {"numbers": [], "stamps": [], "codes": []}, [])
        self.predict_batch(nothing)
        self.features_of_batch(nothing)
        self.predict_features(np.zeros((0, len(self.plan.feature_names))))

    @staticmethod
    def _shared(rows: int, run: Any) -> None:
        parts = min(threads(), rows // ROWS_PER_THREAD)
        if parts <= 1:
            run(0, rows)
            return
        cuts = np.linspace(0, rows, parts + 1).astype(int)
        list(_pool(parts).map(lambda c: run(c[0], c[1]), itertools.pairwise(cuts)))

    def batch(self, frame: pd.DataFrame) -> Batch:
        """``frame``'s raw columns as the kernels read them; ``SchemaMismatchError`` as
        ``coerce_frame`` raises it."""
        check_columns(frame, self.plan.inputs)
        rows = len(frame)
        arrays = {kind: [] for kind in ("numbers", "stamps", "codes")}  # type: dict[str, list[np.ndarray]]
        distinct: dict[str, pd.Series] = {}
        for column in self.plan.inputs:
            values = frame[column.name]
            if column.kind == "string":
                codes, distinct[column.name] = _factorized(values, column)
                arrays["codes"].append(codes)
            elif column.kind == "datetime":
                arrays["stamps"].append(_stamps(values, column))
            else:
                arrays["numbers"].append(_numbers(values, column))
        tables = [_table(step, distinct[step.column]) for step in self._string_steps]
        return _batch(rows, arrays, tables)

    def batch_of_rows(self, rows: Sequence[Mapping[str, Any]]) -> Batch:
        """``batch`` for rows given as mappings, coerced as ``coerce_rows`` coerces them: a category
        as its level's position in a table made once, a text's outputs worked out by its steps' ``row``."""
        coerced = coerce_rows(rows, self.plan.inputs)
        count, (numbers, stamps, strings), levels = len(rows), self._positions, self._levels
        tables, starts, at = [], [], 0
        for step, i in self._string_positions:
            table = levels[i][2] if i in levels else np.array([step.row(None), *(step.row(row[i]) for row in coerced)])
            tables.append(table.ravel())
            starts.append(at)
            at += table.size
        codes = [
            [
                -1 if row[i] is None else levels[i][0].get(_folded(row[i], levels[i][1]), len(levels[i][0]))
                for row in coerced
            ]
            if i in levels
            else [-1 if row[i] is None else r for r, row in enumerate(coerced)]
            for i in strings
        ]
        return Batch(
            rows=count,
            numbers=np.array([[row[i] for row in coerced] for i in numbers], dtype=np.float64).reshape(-1, count),
            stamps=np.array([[_nanoseconds(row[i]) for row in coerced] for i in stamps], dtype=np.int64).reshape(
                -1, count
            ),
            codes=np.array(codes, dtype=np.int64).reshape(-1, count),
            tables=np.concatenate(tables) if tables else np.zeros(0),
            starts=np.array(starts, dtype=np.int64),
        )  # fmt: skip

    @cached_property
    def _positions(self) -> tuple[list[int], list[int], list[int]]:
        """The positions among the inputs of the numbers (and booleans), timestamps and strings."""
        kinds = [_KINDS[c.kind] for c in self.plan.inputs]
        return tuple([i for i, k in enumerate(kinds) if k == kind] for kind in ("numbers", "stamps", "codes"))  # type: ignore[return-value]

    @cached_property
    def _levels(self) -> dict[int, tuple[dict[str, int], bool, np.ndarray]]:
        """For each string input read by one category step alone (one-hot, encoded), by its
        position: its levels' codes (an unseen level's the next), whether they are compared
        case-folded, and the step's outputs for a missing value, each level and an unseen one."""
        steps: dict[int, list[Transform]] = {}
        for step, i in self._string_positions:
            steps.setdefault(i, []).append(step)
        out = {}
        for i, (step, *others) in steps.items():
            if others or not isinstance(step, OneHot | Encode):
                continue
            unseen = "\0" * (1 + max(map(len, step.levels), default=0))
            table = np.array([step.row(None), *(step.row(level) for level in step.levels), step.row(unseen)])
            out[i] = ({level: k for k, level in enumerate(step.levels)}, step.fold_case, table)
        return out

    @cached_property
    def _string_positions(self) -> list[tuple[Transform, int]]:
        """Each string step with the position of its column among the inputs."""
        position = {c.name: i for i, c in enumerate(self.plan.inputs)}
        return [(step, position[step.column]) for step in self._string_steps]


def _batch(rows: int, arrays: dict[str, list[np.ndarray]], tables: list[np.ndarray]) -> Batch:
    def stacked(kind: str, dtype: Any) -> np.ndarray:
        return np.vstack(arrays[kind]).astype(dtype, copy=False) if arrays[kind] else np.zeros((0, rows), dtype=dtype)

    sizes = [t.size for t in tables]
    return Batch(
        rows=rows, numbers=stacked("numbers", np.float64), stamps=stacked("stamps", np.int64),
        codes=stacked("codes", np.int64),
        tables=np.concatenate([t.ravel() for t in tables]) if tables else np.zeros(0),
        starts=np.cumsum([0, *sizes])[:-1].astype(np.int64),
    )  # fmt: skip


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="lathe-score")


def _folded(value: str, fold_case: bool) -> str:
    return value.casefold() if fold_case else value


def _numbers(values: pd.Series, column: InputColumn) -> np.ndarray:
    """A number or boolean column as float64, NaN where missing (the kernel reads infinities as missing)."""
    if column.kind == "number" and (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.asarray(coerce_column(values, column).to_numpy(dtype=np.float64, na_value=np.nan))


def _stamps(values: pd.Series, column: InputColumn) -> np.ndarray:
    """A timestamp column as nanoseconds since 1970 (``NAT`` where missing); text parsed once per distinct value."""
    if not pd.api.types.is_datetime64_dtype(values) and _textual(values):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        try:
            parsed = _nanosecond_array(coerce_column(pd.Series(uniques, dtype=object), column))
        except SchemaMismatchError:  # said of the rows, not of the distinct values
            coerce_column(values, column)
            raise
        return np.append(parsed, _kernels.NAT)[codes]  # code -1 (missing): the last
    return _nanosecond_array(coerce_column(values, column))


def _nanosecond_array(values: pd.Series) -> np.ndarray:
    return np.asarray(values.to_numpy(dtype="datetime64[ns]")).view(np.int64)


def _nanoseconds(value: datetime | None) -> int:
    """A naive timestamp as ``_days`` reads it: whole nanoseconds since 1970-01-01."""
    if value is None:
        return int(_kernels.NAT)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _textual(values: pd.Series) -> bool:
    """Whether ``values`` hold strings alone (besides missing values)."""
    if pd.api.types.is_string_dtype(values) and values.dtype != object:
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _factorized(values: pd.Series, column: InputColumn) -> tuple[np.ndarray, pd.Series]:
    """A string column as codes (-1 missing) into its distinct values (a categorical's own, else
    found by hashing), coerced as ``coerce_frame``
    coerces them (trimmed; the missing tokens missing)."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # codes already: read as they are
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        if not _textual(values):
            values = coerce_column(values, column)  # numbers and mixed values: each made text as the reference does
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), coerce_column(pd.Series(np.asarray(uniques, dtype=object)), column)


def _table(step: Transform, distinct: pd.Series) -> np.ndarray:
    """``step``'s outputs for a missing value (row 0) and for each of ``distinct`` (the rows after)."""
    values = pd.Series([None, *distinct.tolist()], dtype=object)
    return np.column_stack(step.apply(values)).astype(np.float64, copy=False)
