"""Semantic types and the task, inferred from aggregates."""

from __future__ import annotations

from pathlib import Path
from time import monotonic

import ibis
import numpy as np
import pandas as pd
import pytest

from lathe.backends import read_source
from lathe.errors import ColumnNotFoundError, InvalidParameterError, TargetError
from lathe.features import plan_features
from lathe.features._plan import UNPROFILED
from lathe.profile import Profile, SemanticType, Task, infer_task, profile_table
from lathe.profile._profile import CHUNK


def test_every_semantic_type_is_recognised(parquet_file: Path) -> None:
    profile = profile_table(read_source(str(parquet_file)))
    types = {c.name: c.semantic_type for c in profile.columns}
    assert types == {
        "customer_id": SemanticType.IDENTIFIER,
        "amount": SemanticType.NUMERIC,
        "plan": SemanticType.CATEGORICAL,
        "active": SemanticType.BOOLEAN,
        "signup": SemanticType.DATETIME,
        "note": SemanticType.TEXT,
        "country": SemanticType.CONSTANT,
        "unused": SemanticType.CONSTANT,
        "target": SemanticType.CATEGORICAL,
    }


def test_statistics(parquet_file: Path, table: pd.DataFrame) -> None:
    amount = profile_table(read_source(str(parquet_file))).column("amount")
    assert amount.rows == len(table)
    assert amount.present == table["amount"].notna().sum()
    assert amount.mean == pytest.approx(table["amount"].mean())
    assert amount.missing_share == pytest.approx(table["amount"].isna().mean())


def test_round_trip(parquet_file: Path) -> None:
    profile = profile_table(read_source(str(parquet_file)))
    assert Profile.from_dict(profile.to_dict()) == profile


def test_unknown_column_suggests_the_closest(parquet_file: Path) -> None:
    profile = profile_table(read_source(str(parquet_file)))
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'amount'"):
        profile.column("amout")


def _profile_of(tmp_path: Path, values: list[object]) -> Profile:
    pd.DataFrame({"y": values}).to_parquet(tmp_path / "t.parquet")
    return profile_table(read_source(str(tmp_path / "t.parquet")))


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([True, False] * 10, Task.BINARY),
        (["a", "b", "c"] * 10, Task.MULTICLASS),
        ([0, 1] * 10, Task.BINARY),
        ([0.5, 1.5, 2.25] * 10, Task.REGRESSION),
        (list(range(40)), Task.REGRESSION),
    ],
)
def test_task_is_inferred(tmp_path: Path, values: list[object], task: Task) -> None:
    assert infer_task(_profile_of(tmp_path, values).column("y")) is task


def test_task_can_be_forced(tmp_path: Path) -> None:
    column = _profile_of(tmp_path, [0, 1, 2] * 10).column("y")
    assert infer_task(column, "regression") is Task.REGRESSION
    with pytest.raises(InvalidParameterError, match="task must be one of"):
        infer_task(column, "clustering")


def test_target_with_one_class(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="single value"):
        infer_task(_profile_of(tmp_path, ["yes"] * 30).column("y"))


def test_text_target_cannot_be_regressed(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="regression needs numbers"):
        infer_task(_profile_of(tmp_path, ["a", "b"] * 10).column("y"), "regression")


def test_infinities_and_nan_are_profiled_apart(tmp_path: Path) -> None:
    values = [1.0, 2.0, float("inf"), float("-inf"), float("nan"), None, 3.0]
    pd.DataFrame({"x": values}).to_parquet(tmp_path / "t.parquet")
    table = read_source(str(tmp_path / "t.parquet"))
    column = profile_table(table.mutate(x=ibis.ifelse(table.x == 3.0, ibis.literal(float("nan")), table.x))).column("x")
    # statistics of the finite values; NaN is missing; each infinity counted and said
    assert (column.minimum, column.maximum, column.mean, column.present, column.infinite) == (1.0, 2.0, 1.5, 4, 2)
    assert column.distinct == 4  # 1, 2, inf, -inf
    assert "2 infinite values (inf or -inf)" in column.issues
    assert Profile.from_dict(Profile(7, (column,)).to_dict()).columns[0] == column


def test_a_target_with_infinities_is_refused_with_their_count(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"target 'y' holds 10 infinite value\(s\).*drop them"):
        infer_task(_profile_of(tmp_path, [0.5, 1.5, float("inf"), float("-inf")] * 5 + [2.5] * 5).column("y"))


def test_a_wide_table_is_profiled_in_chunks_of_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    width = 2 * CHUNK + 7
    frame = pd.DataFrame(rng.normal(size=(30, width)), columns=[f"x{i}" for i in range(width)])
    frame["s"] = ["a b", "c"] * 15
    frame.to_parquet(tmp_path / "wide.parquet")
    profile = profile_table(read_source(str(tmp_path / "wide.parquet")))
    assert len(profile.columns) == width + 1
    assert profile.rows == 30
    last = profile.column(f"x{width - 1}")
    assert last.mean == pytest.approx(frame[last.name].mean())
    assert last.distinct == 30
    assert profile.column("s").mean_words == 1.5


def test_a_deadline_profiles_the_first_columns_then_stops_and_names_the_rest(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    width = 2 * CHUNK + 7
    frame = pd.DataFrame(rng.normal(size=(30, width)), columns=[f"x{i}" for i in range(width)])
    frame["y"] = rng.integers(0, 2, 30)
    frame.to_parquet(tmp_path / "wide.parquet")
    profile = profile_table(read_source(str(tmp_path / "wide.parquet")), first=["y"], deadline=monotonic())
    # One chunk however late it is: the column named first, then the others in table order.
    assert profile.names == [f"x{i}" for i in range(CHUNK - 1)] + ["y"]
    assert profile.unprofiled == tuple(f"x{i}" for i in range(CHUNK - 1, width))
    assert Profile.from_dict(profile.to_dict()) == profile
    plan = plan_features(profile, frame, exclude=("y",))
    assert [c.name for c in plan.inputs] == [f"x{i}" for i in range(CHUNK - 1)]
    assert dict(plan.left_out)[f"x{width - 1}"] == UNPROFILED
