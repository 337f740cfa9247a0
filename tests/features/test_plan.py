"""The feature plan: chosen per semantic type, saved as JSON and replayed exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lathe
from lathe.backends import read_frame, read_source
from lathe.errors import SchemaMismatchError
from lathe.features import (
    DateParts,
    FeaturePlan,
    Impute,
    InputColumn,
    OneHot,
    coerce_frame,
    plan_features,
    transform_from_dict,
)
from lathe.profile import profile_table
from lathe.testing import mixed_table


@pytest.fixture
def plan(parquet_file: Path, table: pd.DataFrame) -> FeaturePlan:
    """The table's plan with every feature its steps make (see ``selected`` for the redundant ones dropped)."""
    profile = profile_table(read_source(str(parquet_file)))
    return plan_features(profile, table, exclude=("target",), select=False)


@pytest.fixture(params=[False, True], ids=["every-feature", "selected"])
def either_plan(request: pytest.FixtureRequest, parquet_file: Path, table: pd.DataFrame) -> FeaturePlan:
    profile = profile_table(read_source(str(parquet_file)))
    return plan_features(profile, table, exclude=("target",), select=request.param)


def test_transforms_follow_the_semantic_types(plan: FeaturePlan) -> None:
    kinds = {step.column: step.kind for step in plan.steps}
    assert kinds == {
        "amount": "impute",
        "plan": "one_hot",
        "active": "impute",
        "signup": "date_parts",
        "note": "text_stats",
    }
    assert dict(plan.left_out).keys() == {"customer_id", "country", "unused"}
    assert "amount__missing" in plan.feature_names


def test_saved_plan_replays_exactly(either_plan: FeaturePlan, table: pd.DataFrame) -> None:
    again = FeaturePlan.from_dict(json.loads(json.dumps(either_plan.to_dict())))
    assert again == either_plan
    np.testing.assert_array_equal(again.transform(table), either_plan.transform(table))


def test_unseen_categories_and_missing_values_are_scored(plan: FeaturePlan, table: pd.DataFrame) -> None:
    rows = table.head(3).copy()
    rows["plan"] = ["enterprise", None, "basic"]
    rows["amount"] = [np.nan, 1.0, np.nan]
    rows["signup"] = [pd.NaT, pd.Timestamp("2030-01-01"), pd.NaT]
    X = plan.transform(rows)
    names = plan.feature_names
    assert not np.isnan(X).any()
    assert X[0, names.index("plan__other")] == 1.0
    assert X[1, names.index("plan__other")] == 0.0
    assert X[2, names.index("plan=basic")] == 1.0


def test_extra_columns_are_ignored(plan: FeaturePlan, table: pd.DataFrame) -> None:
    np.testing.assert_array_equal(plan.transform(table.assign(extra=1)), plan.transform(table))


def test_missing_column_is_named(plan: FeaturePlan, table: pd.DataFrame) -> None:
    with pytest.raises(SchemaMismatchError, match="amount"):
        plan.transform(table.drop(columns=["amount"]))


def test_uncoercible_value_is_named(plan: FeaturePlan, table: pd.DataFrame) -> None:
    rows = table.head(5).astype({"amount": object})
    rows.loc[rows.index[2], "amount"] = "lots"
    with pytest.raises(SchemaMismatchError, match=r"'amount' must hold number values.*row 2"):
        plan.transform(rows)


def test_empty_table_is_refused(plan: FeaturePlan, table: pd.DataFrame) -> None:
    with pytest.raises(SchemaMismatchError, match="no rows"):
        plan.transform(table.head(0))


def test_text_values_are_coerced_to_their_kind() -> None:
    inputs = (InputColumn("n", "number"), InputColumn("b", "boolean"), InputColumn("d", "datetime"))
    frame = pd.DataFrame({"n": ["1.5", None], "b": ["yes", "False"], "d": ["2024-01-02", "2024-03-04 05:06"]})
    coerced = coerce_frame(frame, inputs)
    assert coerced["n"].tolist()[0] == 1.5
    assert coerced["b"].tolist() == [1.0, 0.0]
    assert coerced["d"].dt.hour.tolist() == [0, 5]


values = st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=1, max_size=30)
levels = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])), min_size=1, max_size=30)


@settings(max_examples=50, deadline=None)
@given(train=values, score=values)
def test_impute_round_trip(train: list[float | None], score: list[float | None]) -> None:
    step = Impute.fit("x", pd.Series(train, dtype="float64"))
    again = transform_from_dict(json.loads(json.dumps(step.to_dict())))
    column = pd.Series(score, dtype="float64")
    for a, b in zip(step.apply(column), again.apply(column), strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.isnan(a).any()


@settings(max_examples=50, deadline=None)
@given(train=levels, score=levels)
def test_one_hot_rows_are_one_hot(train: list[str | None], score: list[str | None]) -> None:
    step = OneHot.fit("c", pd.Series(train, dtype=object))
    X = np.column_stack(step.apply(pd.Series(score, dtype=object)))
    assert X.shape == (len(score), len(step.outputs))
    assert set(X.sum(axis=1)) <= {0.0, 1.0}


def test_categories_differing_only_in_case_are_one_level_at_training_and_scoring() -> None:
    step = OneHot.fit("plan", pd.Series(["Basic", "basic", "BASIC", "pro", "Pro", None], dtype=object))
    again = transform_from_dict(json.loads(json.dumps(step.to_dict())))
    scored = np.column_stack(again.apply(pd.Series(["bAsIc", "PRO", "gold", None], dtype=object)))

    assert (step.levels, step.fold_case) == (("basic", "pro"), True)
    np.testing.assert_array_equal(scored, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    assert not OneHot.fit("plan", pd.Series(["a", "a", "b", "b"], dtype=object)).fold_case


def test_dates_get_cyclic_parts_and_days_elapsed_replayed_exactly() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-12-31 23:00", "2025-01-01 01:00", "2025-01-11 12:00", None]))
    step = DateParts.fit("d", stamps)
    again = transform_from_dict(json.loads(json.dumps(step.to_dict())))
    columns = dict(zip(again.outputs, again.apply(stamps), strict=True))

    assert step.cyclic == ("month", "day", "weekday", "hour")
    np.testing.assert_allclose(columns["d__days"], [0.0, 2 / 24, 10.5 + 1 / 24, 2 / 24])  # missing: the median
    np.testing.assert_allclose(columns["d__month_cos"][:2], np.cos(2 * np.pi * np.array([12, 1]) / 12))
    assert abs(columns["d__month_sin"][0] - columns["d__month_sin"][1]) < 1.0  # December beside January
    for ours, replayed in zip(step.apply(stamps), again.apply(stamps), strict=True):
        np.testing.assert_array_equal(ours, replayed)


def test_date_parts_keep_only_varying_parts() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-01-01", "2024-02-03", None]))
    step = DateParts.fit("d", stamps)
    assert step.parts == ("month", "day", "weekday")
    assert step.indicator


# Raw values as they come in JSON rows: typed, as text with spaces, or written-out missing values.
missing_text = st.sampled_from(["", " NA ", "null", "?", "n/a"])
json_rows = st.fixed_dictionaries({
    "amount": st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-1000, 1000), missing_text,
                        st.floats(-1e3, 1e3).map(lambda x: f" {x} ")),
    "plan": st.one_of(st.none(), missing_text, st.sampled_from(["basic", "Plus", " pro ", "enterprise"])),
    "active": st.one_of(st.none(), st.booleans(), st.sampled_from([0, 1, 1.0, "yes", " No ", "TRUE", "f"])),
    "signup": st.one_of(st.none(), missing_text, st.datetimes(
        min_value=pd.Timestamp("2000-01-01").to_pydatetime(), max_value=pd.Timestamp("2040-01-01").to_pydatetime()
    ).map(lambda d: d.isoformat(sep=" ")),
        st.sampled_from(["2024-03-01T10:00:00+05:30", "2024-12-31T23:59:00Z", "2024-02-29"])),
    "note": st.one_of(st.none(), missing_text, st.text(max_size=20)),
})  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(json_rows, min_size=1, max_size=8))
def test_rows_are_transformed_as_their_data_frame_is(either_plan: FeaturePlan, rows: list[dict[str, object]]) -> None:
    # The plan is read, never changed, so one for every example is sound.
    expected = either_plan.transform(pd.DataFrame(rows))
    np.testing.assert_allclose(either_plan.transform_rows(rows), expected, rtol=1e-12, atol=1e-12)


def test_rows_that_do_not_fit_are_named(plan: FeaturePlan, table: pd.DataFrame) -> None:
    rows = table.head(2).to_dict("records")
    del rows[1]["plan"]
    with pytest.raises(SchemaMismatchError, match="row 1 lacks 1 input column"):
        plan.transform_rows(rows)
    rows = table.head(2).to_dict("records")
    rows[1]["amount"] = "lots"
    with pytest.raises(SchemaMismatchError, match="row 1: column 'amount' must hold number values"):
        plan.transform_rows(rows)


def test_features_that_add_nothing_are_dropped_with_the_reason() -> None:
    rng = np.random.default_rng(0)
    size = rng.normal(100, 20, 500)
    table = pd.DataFrame({
        "size": size,
        "size_again": size,  # a duplicate column
        "size_cm": size * 2.54 + rng.normal(0, 0.01, 500),  # almost perfectly correlated
        "other": rng.normal(0, 1, 500),
        "kind": rng.choice(["a", "b", "c"], 500),  # every level frequent: kind__other is always 0
        "target": rng.integers(0, 2, 500),
    })  # fmt: skip
    plan = plan_features(profile_table(read_frame(table)), table, exclude=("target",))

    dropped = dict(plan.dropped)
    assert dropped.keys() == {"size_again", "size_cm", "kind__other"}
    assert dropped["size_again"] == "duplicate of size"
    assert dropped["size_cm"].startswith("correlated with size (r = 1.000")
    assert dropped["kind__other"] == "constant: the same value in every training row"
    assert plan.feature_names[:2] == ["size", "other"]
    assert sorted(plan.feature_names[2:]) == ["kind=a", "kind=b", "kind=c"]
    assert plan.transform(table).shape == (500, 5)
    assert plan.transform_rows(table.head(3).to_dict("records")).shape == (3, 5)
    # A raw column none of whose features is kept is not an input: not asked for, ignored when given.
    assert [c.name for c in plan.inputs] == ["size", "other", "kind"]
    left_out = dict(plan.left_out)
    assert left_out["size_again"].startswith("adds nothing")
    assert left_out["size_cm"].startswith("adds nothing")
    assert plan.transform(table.drop(columns=["size_again", "size_cm"])).shape == (500, 5)
    np.testing.assert_array_equal(plan.transform(table), plan.transform(table.drop(columns=["size_again"])))


def test_a_column_whose_features_the_search_left_out_is_no_input_of_the_bundle() -> None:
    table = mixed_table(300)
    table["noise"] = np.random.default_rng(1).normal(size=300)
    bundle = lathe.train(table, target="target", trials=1, budget=None, verbose=False)
    pruned = {name for name, reason in bundle.plan.dropped if "out of fold" in reason}
    made = {step.column: step.outputs for step in plan_features(
        profile_table(read_frame(table)), table, exclude=("target",)).steps}  # fmt: skip
    unread = {column for column, names in made.items() if set(names) <= pruned}
    assert unread, "the screening should leave some column's every feature out"
    names = {c["name"] for c in bundle.manifest["inputs"]}
    assert not names & unread
    assert {name for name, reason in bundle.plan.left_out if reason.startswith("adds nothing")} == unread
    rows = table.drop(columns=[*unread, "target"])
    pd.testing.assert_frame_equal(bundle.predict(rows), bundle.predict(table))
