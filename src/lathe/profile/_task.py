"""The learning task, inferred from the target column or forced by the user."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from lathe.errors import InvalidParameterError, TargetError

if TYPE_CHECKING:
    from lathe.profile._profile import ColumnProfile

MAX_CLASSES = 100
MAX_INTEGER_CLASSES = 20


class Task(StrEnum):
    """What is predicted: one of two classes, one of many, or a number."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


def infer_task(target: ColumnProfile, forced: str | None = None) -> Task:
    """The task for ``target``; ``forced`` (a ``Task`` value) overrides the guess."""
    if target.present == 0:
        raise TargetError(f"target {target.name!r} has no values: every row is missing; choose another column")
    if target.distinct < 2:
        raise TargetError(
            f"target {target.name!r} has a single value in every row; there is nothing to learn. "
            "Choose a column with at least two different values."
        )
    if target.infinite:
        raise TargetError(
            f"target {target.name!r} holds {target.infinite:,} infinite value(s) (inf or -inf), which no "
            "model can learn from: fix those rows, or drop them (an empty target marks a row unlabelled)"
        )
    task = _parse(forced) if forced else _guess(target)
    _check(target, task)
    return task


def _parse(forced: str) -> Task:
    try:
        return Task(forced)
    except ValueError:
        choices = ", ".join(t.value for t in Task)
        raise InvalidParameterError(f"task must be one of {choices}; got {forced!r}") from None


def _guess(target: ColumnProfile) -> Task:
    if target.storage == "number" and target.distinct > 2:
        return Task.REGRESSION
    if target.storage == "integer" and target.distinct > MAX_INTEGER_CLASSES:
        return Task.REGRESSION
    return Task.BINARY if target.distinct == 2 else Task.MULTICLASS


def _check(target: ColumnProfile, task: Task) -> None:
    if task is Task.REGRESSION and target.storage not in ("number", "integer"):
        raise TargetError(f"target {target.name!r} holds {target.storage} values; regression needs numbers")
    if task is Task.BINARY and target.distinct != 2:
        raise TargetError(
            f"target {target.name!r} has {target.distinct} classes; binary needs exactly 2 (try --task multiclass)"
        )
    if task is Task.MULTICLASS and target.distinct > MAX_CLASSES:
        raise TargetError(
            f"target {target.name!r} has {target.distinct} distinct values, too many classes "
            f"(at most {MAX_CLASSES}); if it is a number, use --task regression"
        )
