"""The command line as a new user meets it: each bad input is one clear line and exit 2."""

from __future__ import annotations

import argparse
import json
import os
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


def _failed_fast(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run the command, which must fail with exit 2 and one error line, before any profiling or search."""
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    statuses = [line for line in err.splitlines() if line.startswith("lathe ")]
    assert statuses in ([], ["lathe reading the source"]), err  # not profiling, searching, scoring nor writing
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1, err
    return err


def _train_mistakes(tmp_path: Path) -> dict[str, tuple[list[object], str]]:
    (tmp_path / "existing.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    return {
        "out is a file": (["--out", tmp_path / "existing.csv"], "existing.csv: is a file; --out names a folder"),
        "out under a file": (["--out", tmp_path / "existing.csv" / "model"], "existing.csv is a file, not a folder"),
        "out holds other files": (["--out", tmp_path / "notes"], "notes: exists and is not a lathe bundle"),
        "no such target": (["--target", "targt"], "target 'targt' is not in the table. Did you mean 'target'?"),
        "no such time": (["--time", "signupp"], "time 'signupp' is not in the table. Did you mean 'signup'?"),
        "no such group": (["--group", "plna"], "group 'plna' is not in the table. Did you mean 'plan'?"),
        "unknown metric": (["--metric", "aucc"], "unknown metric 'aucc'; choose one of"),
        "metric of another task": (["--task", "regression", "--metric", "roc_auc"], "does not apply to regression"),
        "memory limit of 0": (["--memory-limit", "0"], "memory_limit must be a positive number"),
    }


@pytest.mark.parametrize(
    "case",
    ["out is a file", "out under a file", "out holds other files", "no such target", "no such time", "no such group",
     "unknown metric", "metric of another task", "memory limit of 0"],
)  # fmt: skip
def test_train_fails_before_the_work(
    tmp_path: Path, csv_file: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args, message = _train_mistakes(tmp_path)[case]
    out = [] if "--out" in args else ["--out", tmp_path / "model"]
    target = [] if "--target" in args else ["--target", "target"]
    # A budget of an hour, and no cap on trials: only a check made before the search ends this quickly.
    err = _failed_fast(capsys, "train", csv_file, *target, "--budget", "3600", *args, *out)
    assert message in err
    assert not (tmp_path / "model").exists()
    assert (tmp_path / "existing.csv").read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["todo.txt"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no half-written bundle


def test_train_to_an_existing_file_is_one_line_from_the_command(tmp_path: Path, csv_file: Path) -> None:
    (tmp_path / "existing.csv").write_text("a\n1\n")
    run = _lathe("train", csv_file, "--target", "target", "--budget", "3600", "--out", tmp_path / "existing.csv")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'existing.csv'}: is a file; --out names a folder to write; choose a new or empty folder"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_train_into_a_folder_it_cannot_write_in(
    tmp_path: Path, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        err = _failed_fast(capsys, "train", csv_file, "--target", "target", "--out", locked / "sub" / "model")
    finally:
        locked.chmod(0o700)
    assert "locked: cannot be written in (permission denied); choose another --out" in err


def test_predict_profile_and_batch_check_their_out_first(
    tmp_path: Path, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file.csv").write_text("x\n")
    (tmp_path / "folder.csv").mkdir()
    nowhere = tmp_path / "no-bundle"  # the output is checked before the bundle is even looked for
    err = _failed_fast(capsys, "predict", nowhere, csv_file, "--out", tmp_path / "folder.csv")
    assert "folder.csv: is a folder; --out names a file to write" in err
    err = _failed_fast(capsys, "predict", nowhere, csv_file, "--out", tmp_path / "file.csv" / "scored.csv")
    assert "file.csv is a file, not a folder" in err
    err = _failed_fast(capsys, "predict", nowhere, csv_file, "--out", tmp_path / "scored.txt")
    assert "must end in .csv or .parquet" in err
    err = _failed_fast(capsys, "profile", csv_file, "--out", tmp_path / "folder.csv")
    assert "folder.csv: is a folder" in err
    err = _failed_fast(capsys, "batch", nowhere, csv_file, "--out", tmp_path / "file.csv")
    assert "file.csv: is a file; --out names a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "file.csv", "folder.csv"]


def test_export_checks_the_exports_folder_first(
    tmp_path: Path, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    assert main(["train", str(csv_file), "--target", "target", "--trials", "1", "--out", str(model)]) == 0
    capsys.readouterr()
    (model / "exports").write_text("not a folder")
    err = _failed_fast(capsys, "export", model, "--format", "onnx")
    assert "exports: is a file; exports go in the bundle's exports/ folder" in err
