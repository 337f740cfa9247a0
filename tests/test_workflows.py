"""Train, save, load and predict end to end, from Python."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from time import monotonic

import numpy as np
import pandas as pd
import pytest

import lathe
from lathe import workflows
from lathe.errors import (
    BundleError,
    BundleIntegrityError,
    BundleNotFoundError,
    ColumnNotFoundError,
    InvalidParameterError,
    SchemaMismatchError,
    TargetError,
)
from lathe.explain import Explainer
from lathe.profile import Task
from lathe.testing import mixed_table, small_bundle


def _train(source: Path, **options: object) -> lathe.Bundle:
    return lathe.train(source, target="target", budget=None, trials=3, verbose=False, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_train_save_load_predict(tmp_path: Path, task: str) -> None:
    data = mixed_table(300, task)
    data.to_parquet(tmp_path / "data.parquet")
    bundle = _train(tmp_path / "data.parquet", out=tmp_path / "model")
    scored = lathe.load(tmp_path / "model").predict(data)
    assert bundle.manifest["task"] == task
    assert list(scored.columns[:2]) == ["customer_id", "prediction"]
    assert scored["customer_id"].tolist() == data["customer_id"].tolist()
    if task == "regression":
        assert list(scored.columns) == ["customer_id", "prediction"]
    else:
        classes = sorted(set(data["target"]))
        assert list(scored.columns[2:]) == [f"probability_{c}" for c in classes]
        assert set(scored["prediction"]) <= set(classes)
    pd.testing.assert_frame_equal(scored, bundle.predict(data))


def test_manifest_says_what_the_bundle_is(tmp_path: Path, parquet_file: Path) -> None:
    _train(parquet_file, out=tmp_path / "model")
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["task"] == "binary"
    assert manifest["classes"] == ["no", "yes"]
    assert manifest["ids"] == ["customer_id"]
    assert {c["name"]: c["kind"] for c in manifest["inputs"]}["signup"] == "datetime"
    assert {c["name"] for c in manifest["inputs"]} == {"amount", "plan", "active", "signup", "note"}
    assert next(c for c in manifest["inputs"] if c["name"] == "plan")["categories"] == ["basic", "plus", "pro"]
    assert {d["column"] for d in manifest["left_out"]} == {"customer_id", "country", "unused"}
    assert set(manifest["metrics"]["holdout"]) == {"roc_auc", "log_loss", "accuracy", "balanced_accuracy", "f1"}
    assert manifest["data"]["fingerprint"].startswith("sha256:")
    assert {"lightgbm", "duckdb", "python"} <= set(manifest["libraries"])
    listed = set(manifest["files"])
    assert listed == {p.name for p in (tmp_path / "model").iterdir()} - {"manifest.json"}
    assert {"plan.json", "leaderboard.csv", "report.html"} <= listed
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in listed)


def test_reloads_in_a_new_process_and_predicts_identically(tmp_path: Path, parquet_file: Path) -> None:
    bundle = _train(parquet_file, out=tmp_path / "model")
    here = bundle.predict(pd.read_parquet(parquet_file))
    script = (
        "import sys, lathe, pandas as pd;"
        "lathe.load(sys.argv[1]).predict(pd.read_parquet(sys.argv[2])).to_parquet(sys.argv[3])"
    )
    subprocess.run([sys.executable, "-c", script, tmp_path / "model", parquet_file, tmp_path / "o.parquet"], check=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o.parquet"), here)


def test_holdout_is_never_searched(tmp_path: Path, parquet_file: Path) -> None:
    bundle = _train(parquet_file)
    data = bundle.manifest["data"]
    assert data["train_rows"] + data["holdout_rows"] == data["rows"]
    assert data["holdout_rows"] == pytest.approx(0.2 * data["rows"], abs=1)


def test_target_not_a_column_lists_the_columns(parquet_file: Path) -> None:
    with pytest.raises(ColumnNotFoundError, match=r"target 'targt'.*Did you mean 'target'.*Columns: customer_id"):
        lathe.train(parquet_file, target="targt", trials=1, verbose=False)


def test_target_with_one_class(tmp_path: Path, table: pd.DataFrame) -> None:
    table.assign(target="yes").to_parquet(tmp_path / "one.parquet")
    with pytest.raises(TargetError, match="single value"):
        _train(tmp_path / "one.parquet", out=tmp_path / "model")
    assert not (tmp_path / "model").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["one.parquet"]


def test_budget_of_zero() -> None:
    with pytest.raises(InvalidParameterError, match="budget must be a positive number"):
        lathe.train("any.csv", target="target", budget=0, verbose=False)


def test_all_null_column_is_left_out_and_reported(parquet_file: Path) -> None:
    bundle = _train(parquet_file)
    reasons = {d["column"]: d["reason"] for d in bundle.manifest["left_out"]}
    assert reasons["unused"].startswith("constant")
    assert "unused" in bundle.report_html


def test_failed_retrain_keeps_the_saved_bundle(tmp_path: Path, parquet_file: Path, table: pd.DataFrame) -> None:
    _train(parquet_file, out=tmp_path / "model")
    before = {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()}
    table.assign(target="yes").to_parquet(tmp_path / "one.parquet")
    with pytest.raises(TargetError):
        _train(tmp_path / "one.parquet", out=tmp_path / "model")
    assert {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet", "model", "one.parquet"]


def test_predict_checks_the_schema(tmp_path: Path, parquet_file: Path, table: pd.DataFrame) -> None:
    bundle = _train(parquet_file)
    with pytest.raises(SchemaMismatchError, match=r"lack 1 input column.*plan"):
        bundle.predict(table.drop(columns=["plan"]))
    with pytest.raises(SchemaMismatchError, match="no rows"):
        bundle.predict(table.head(0))
    unseen = table.head(4).assign(plan=["gold", None, "basic", "pro"], amount=np.nan)
    assert len(bundle.predict(unseen.drop(columns=["target"]))) == 4


def test_tampered_bundle_is_refused(tmp_path: Path, parquet_file: Path) -> None:
    _train(parquet_file, out=tmp_path / "model")
    plan = tmp_path / "model" / "plan.json"
    plan.write_text(plan.read_text().replace('"impute"', '"impute" '))
    with pytest.raises(BundleIntegrityError, match=r"plan\.json does not match its checksum"):
        lathe.load(tmp_path / "model")


def test_missing_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleNotFoundError, match="no bundle here"):
        lathe.load(tmp_path)


def test_save_never_replaces_a_folder_that_is_not_a_bundle(tmp_path: Path, parquet_file: Path) -> None:
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    bundle = _train(parquet_file)
    with pytest.raises(BundleError, match="not a lathe bundle"):
        bundle.save(tmp_path / "precious")
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def test_rows_without_a_target_are_left_out_and_said(tmp_path: Path, table: pd.DataFrame) -> None:
    table.loc[:9, "target"] = None
    table.to_parquet(tmp_path / "data.parquet")
    bundle = _train(tmp_path / "data.parquet")
    assert bundle.manifest["data"]["unlabelled_rows"] == 10
    assert bundle.manifest["data"]["train_rows"] + bundle.manifest["data"]["holdout_rows"] == len(table) - 10
    assert "10 rows have no value for the target" in bundle.report_html


def test_a_table_larger_than_max_rows_is_learnt_from_a_repeatable_sample(parquet_file: Path) -> None:
    first, again = (lathe.train(parquet_file, target="target", trials=1, max_rows=200, verbose=False) for _ in range(2))
    data = first.manifest["data"]

    assert data["rows"] == 400
    assert 140 < data["fetched_rows"] < 260
    assert data["train_rows"] + data["holdout_rows"] == data["fetched_rows"]
    assert data["fingerprint"] == again.manifest["data"]["fingerprint"]
    assert f"random sample of {data['fetched_rows']:,} of the 400 rows" in first.report_html
    with pytest.raises(InvalidParameterError, match="max_rows must be at least 20"):
        lathe.train(parquet_file, target="target", trials=1, max_rows=5)


def test_trains_from_a_dataframe(table: pd.DataFrame) -> None:
    bundle = lathe.train(table, target="target", budget=None, trials=2, verbose=False)
    assert bundle.manifest["data"]["source"] == "a DataFrame of 400 rows"
    assert len(bundle.predict(table)) == len(table)


def test_fingerprint_follows_the_content(table: pd.DataFrame) -> None:
    from lathe.workflows import fingerprint

    changed = table.copy()
    changed.loc[5, "amount"] = 1.0
    assert fingerprint(table) == fingerprint(table.copy())
    assert fingerprint(table) != fingerprint(changed)
    assert fingerprint(table) != fingerprint(table.rename(columns={"amount": "sum"}))


def test_duplicate_rows_are_dropped_before_training(table: pd.DataFrame) -> None:
    doubled = pd.concat([table, table.head(30)], ignore_index=True)
    bundle = lathe.train(doubled, target="target", trials=1, budget=None, verbose=False)
    data = bundle.manifest["data"]
    assert data["duplicate_rows_dropped"] == 30
    assert data["train_rows"] + data["holdout_rows"] == len(table)
    assert "30 duplicate rows were dropped before training" in bundle.report_html


def test_missing_tokens_and_white_space_are_cleaned_alike_at_scoring(table: pd.DataFrame) -> None:
    bundle = lathe.train(table, target="target", trials=1, budget=None, verbose=False)
    messy = table.head(4).astype({"amount": object}).copy()
    messy["amount"] = ["N/A", " 12.5 ", "?", "null"]
    messy["plan"] = [" basic", "pro ", "NA", "plus"]
    clean = table.head(4).copy()
    clean["amount"] = [np.nan, 12.5, np.nan, np.nan]
    clean["plan"] = ["basic", "pro", None, "plus"]
    pd.testing.assert_frame_equal(bundle.predict(messy), bundle.predict(clean))


def test_weight_column_is_honoured_and_not_a_feature(table: pd.DataFrame) -> None:
    basic = table["plan"] == "basic"
    silenced = table.assign(w=np.where(basic & (table["target"] == "yes"), 0.0, 1.0))
    bundle = lathe.train(silenced, target="target", weight="w", trials=1, budget=None, verbose=False, holdout=0)
    plain = lathe.train(table, target="target", trials=1, budget=None, verbose=False, holdout=0)
    assert "w" not in {c["name"] for c in bundle.manifest["inputs"]}
    assert bundle.manifest["data"]["weight"] == "w"
    assert bundle.manifest["data"]["train_rows"] == len(table)
    assert bundle.manifest["metrics"]["holdout"] == {}
    rows = table[basic]
    assert bundle.predict(rows)["probability_yes"].mean() < plain.predict(rows)["probability_yes"].mean() - 0.05


def test_weights_must_be_non_negative(table: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="non-negative"):
        lathe.train(table.assign(w=-1.0), target="target", weight="w", trials=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="holdout must be"):
        lathe.train(table, target="target", trials=1, verbose=False, holdout=1.0)


def _dated(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 365, rows), unit="D")
    amount = rng.normal(size=rows)
    return pd.DataFrame({
        "created": created,
        "signed_up": created - pd.to_timedelta(rng.uniform(1, 900, rows), unit="D"),
        "closed": created + pd.to_timedelta(rng.uniform(1, 60, rows), unit="D"),
        "amount": amount,
        "customer": rng.integers(0, 40, rows).astype(str),
        "target": np.where(amount + rng.normal(scale=0.5, size=rows) > 0, "yes", "no"),
    })  # fmt: skip


def test_a_date_later_than_the_time_is_a_leak_left_out_and_the_holdout_is_the_latest_rows() -> None:
    data = _dated()
    bundle = lathe.train(data, target="target", time="created", trials=2, budget=None, verbose=False)
    leaks = {leak["column"]: leak for leak in bundle.manifest["leakage"]}
    assert leaks["closed"]["strong"]
    assert "later than the time column 'created'" in leaks["closed"]["finding"]
    assert "signed_up" not in leaks  # earlier than the time: known when the prediction is made
    assert "closed" not in [c.name for c in bundle.plan.inputs]
    assert bundle.manifest["data"]["time"] == "created"
    assert bundle.sample is not None
    assert bundle.sample["created"].min() >= data["created"].quantile(0.79)  # the latest fifth was held out


def test_a_group_stays_on_one_side_of_the_holdout_and_is_not_a_feature() -> None:
    data = _dated()
    split = workflows._split(data, "target", Task.BINARY, 0, (0.2, True), workflows._Roles(group="customer"))
    assert not set(split.train["customer"]) & set(split.holdout["customer"])
    bundle = lathe.train(data, target="target", group="customer", trials=2, budget=None, verbose=False)
    assert "customer" not in [c.name for c in bundle.plan.inputs]
    assert bundle.manifest["data"]["group"] == "customer"


def test_time_and_group_roles_are_checked() -> None:
    data = _dated()
    with pytest.raises(InvalidParameterError, match="not both"):
        lathe.train(data, target="target", time="created", group="customer", trials=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="no readable time in 1 labelled row"):
        lathe.train(data.assign(created=data["created"].astype(str).where(data.index != 5, "soon")),
                    target="target", time="created", trials=1, verbose=False)  # fmt: skip
    with pytest.raises(InvalidParameterError, match="one group only"):
        lathe.train(data.assign(customer="a"), target="target", group="customer", trials=1, verbose=False)
    with pytest.raises(ColumnNotFoundError, match="time"):
        lathe.train(data, target="target", time="createdd", trials=1, verbose=False)


def test_a_memory_limit_samples_the_search_and_refits_on_every_row() -> None:
    data = mixed_table(3000, "binary")
    bundle = lathe.train(data, target="target", memory_limit=0.0005, trials=2, budget=None, verbose=False)
    rows = bundle.manifest["data"]
    assert 20 < rows["search_rows"] < rows["train_rows"] == 2400
    assert f"a sample of {rows['search_rows']:,} of the 2,400" in bundle.report_html
    with pytest.raises(InvalidParameterError, match="too few rows"):
        lathe.train(data, target="target", memory_limit=1e-7, trials=1, verbose=False)


def test_the_mean_contributions_average_the_rows_the_budget_leaves_time_for() -> None:
    bundle, rows = small_bundle(), mixed_table(300, "binary")
    explainer = Explainer(bundle.plan, bundle.model)
    assert len(workflows._explained(explainer, rows, None).base) == 300
    assert len(workflows._explained(explainer, rows, monotonic() + 600).base) == 300
    spent = workflows._explained(explainer, rows, monotonic() - 1)  # the budget is spent: the first rows only
    assert len(spent.base) == workflows.EXPLAIN_FIRST
    np.testing.assert_allclose(spent.values, explainer.explain(rows[: workflows.EXPLAIN_FIRST]).values)


def test_infinities_in_a_feature_are_read_as_missing(tmp_path: Path, table: pd.DataFrame) -> None:
    numbers = [c for c in table.columns if c != "target" and pd.api.types.is_float_dtype(table[c])]
    spoilt = table.copy()
    spoilt.loc[[1, 5, 9], numbers[0]] = [np.inf, -np.inf, np.nan]
    spoilt.to_parquet(tmp_path / "inf.parquet")
    bundle = _train(tmp_path / "inf.parquet")
    column = next(c for c in bundle.manifest["profile"]["columns"] if c["name"] == numbers[0])
    assert column["infinite"] == 2
    assert np.isfinite(column["std"])
    assert np.isfinite(bundle.predict(spoilt.head(12)).select_dtypes("number").to_numpy()).all()


def test_a_target_with_infinities_is_one_clear_error(tmp_path: Path) -> None:
    data = mixed_table(200, "regression")
    data.loc[[3, 4], "target"] = [np.inf, -np.inf]
    data.to_csv(tmp_path / "inf.csv", index=False)  # written as inf and -inf, read by DuckDB as doubles
    with pytest.raises(TargetError, match=r"'target' holds 2 infinite value\(s\)"):
        _train(tmp_path / "inf.csv")
