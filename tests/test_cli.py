"""The command line as a new user meets it: each bad input is one clear line and exit 2."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lathe.cli import _budget_left, _seconds_running, main


def _lathe(*args: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lathe.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_train_predict_info(tmp_path: Path, csv_file: Path, table: pd.DataFrame) -> None:
    model, scored = tmp_path / "model", tmp_path / "scored.csv"
    assert main(["train", str(csv_file), "--target", "target", "--trials", "2", "--out", str(model)]) == 0
    table.drop(columns=["target"]).to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "new.csv"), "--out", str(scored)]) == 0
    out = pd.read_csv(scored)
    assert list(out.columns) == ["customer_id", "prediction", "probability_no", "probability_yes"]
    assert out["customer_id"].tolist() == table["customer_id"].tolist()
    info = _lathe("info", model)
    assert info.returncode == 0
    assert "binary" in info.stdout
    assert "roc_auc" in info.stdout


def _bad_files(tmp_path: Path, csv_file: Path) -> dict[str, tuple[list[object], str]]:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "bad.csv").write_text("a,target\n1,2\n3,4,5\n6,7\n")
    (tmp_path / "latin.csv").write_bytes("a,target\nJosé,1\n".encode("latin-1"))
    one = pd.read_csv(csv_file).assign(target="yes")
    one.to_csv(tmp_path / "one.csv", index=False)
    return {
        "missing file": ([tmp_path / "nope.csv"], "no such file"),
        "not a column": ([csv_file, "--target", "targt"], "Did you mean 'target'"),
        "one class": ([tmp_path / "one.csv"], "single value"),
        "empty file": ([tmp_path / "empty.csv"], "no rows"),
        "malformed row": ([tmp_path / "bad.csv"], "same number of fields"),
        "not utf-8": ([tmp_path / "latin.csv"], "not UTF-8"),
        "budget of 0": ([csv_file, "--budget", "0"], "budget must be a positive number"),
    }


@pytest.mark.parametrize(
    "case", ["missing file", "not a column", "one class", "empty file", "malformed row", "not utf-8", "budget of 0"]
)
def test_bad_input_is_one_clear_line(tmp_path: Path, csv_file: Path, case: str) -> None:
    args, message = _bad_files(tmp_path, csv_file)[case]
    if "--target" not in args:
        args = [*args, "--target", "target"]
    run = _lathe("train", *args, "--out", tmp_path / "model")
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "model").exists()


def test_predict_with_a_missing_column(tmp_path: Path, csv_file: Path, table: pd.DataFrame) -> None:
    assert main(["train", str(csv_file), "--target", "target", "--trials", "1", "--out", str(tmp_path / "m")]) == 0
    table.drop(columns=["amount"]).to_csv(tmp_path / "new.csv", index=False)
    run = _lathe("predict", tmp_path / "m", tmp_path / "new.csv", "--out", tmp_path / "o.csv")
    assert run.returncode == 2
    assert "amount" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "o.csv").exists()


def test_predict_with_an_uncoercible_value(tmp_path: Path, csv_file: Path, table: pd.DataFrame) -> None:
    assert main(["train", str(csv_file), "--target", "target", "--trials", "1", "--out", str(tmp_path / "m")]) == 0
    table.astype({"amount": object}).assign(amount="plenty").to_csv(tmp_path / "new.csv", index=False)
    run = _lathe("predict", tmp_path / "m", tmp_path / "new.csv", "--out", tmp_path / "o.csv")
    assert run.returncode == 2
    assert "'amount' must hold number values" in run.stderr


def test_predict_to_an_unknown_format_writes_nothing(tmp_path: Path, csv_file: Path) -> None:
    run = _lathe("predict", tmp_path / "m", csv_file, "--out", tmp_path / "scored.txt")
    assert run.returncode == 2
    assert "must end in .csv or .parquet" in run.stderr
    assert not (tmp_path / "scored.txt").exists()


def test_train_takes_a_time_role_a_holdout_a_memory_limit_and_a_cost(tmp_path: Path, csv_file: Path) -> None:
    model = tmp_path / "model"
    options = ["--time", "signup", "--holdout", "0", "--memory-limit", "1", "--metric", "cost:1,5", "--trials", "1"]
    assert main(["train", str(csv_file), "--target", "target", *options, "--out", str(model)]) == 0
    manifest = json.loads((model / "manifest.json").read_text())
    assert (manifest["data"]["time"], manifest["data"]["holdout_rows"], manifest["metric"]) == ("signup", 0, "cost:1,5")
    assert 0 < manifest["threshold"] < 1


def test_the_budget_counts_the_commands_start_up() -> None:
    assert 0 < _seconds_running() < 24 * 3600  # this test process has been running a while
    assert _budget_left(argparse.Namespace(budget=60.0, started_seconds_ago=4.0)) == 56.0
    assert _budget_left(argparse.Namespace(budget=2.0, started_seconds_ago=4.0)) == 1.0  # at most half of it
    assert _budget_left(argparse.Namespace(budget=-1.0, started_seconds_ago=4.0)) == -1.0  # refused as given


def test_a_target_holding_infinity_is_one_line_and_exit_2(tmp_path: Path, csv_file: Path) -> None:
    rows = pd.read_csv(csv_file)
    values = [f"{i}.5" if (i + 1) % 7 else "Infinity" for i in range(len(rows))]  # DuckDB reads a double
    rows.assign(target=values).to_csv(tmp_path / "i.csv", index=False)
    run = _lathe("train", tmp_path / "i.csv", "--target", "target", "--trials", "1", "--out", tmp_path / "model")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "target 'target' holds 57 infinite value(s)" in run.stderr
    assert not (tmp_path / "model").exists()
