"""The same data, seed and trials give the same bundle, byte for byte, apart from time stamps."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import lathe
from lathe.testing import mixed_table

# What may differ between two runs: when the bundle was made and how long its steps took.
TIMED = ("created", "timings", "elapsed_seconds", "fit_seconds", "predict_seconds_per_1k", "latency_ms")


def _untimed(value: Any) -> Any:
    """``value`` less every time stamp and duration (and the checksums of files that carry them)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMED}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _leaderboard(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return [_untimed(row) for row in csv.DictReader(handle)]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# The portfolio's first 7 are linear, LightGBM, XGBoost, CatBoost, LightGBM, extra trees and random forest.
@pytest.mark.parametrize(("task", "trials"), [("binary", 7), ("multiclass", 4), ("regression", 4)])
def test_same_seed_and_trials_give_the_same_bundle(tmp_path: Path, task: str, trials: int) -> None:
    data = mixed_table(300, task, seed=3)
    for run in ("first", "again"):
        lathe.train(data, "target", budget=None, trials=trials, seed=7, out=tmp_path / run, verbose=False)
    assert_same_bundle(tmp_path / "first", tmp_path / "again")


def assert_same_bundle(first_folder: Path, again_folder: Path) -> None:
    """The two bundles are the same, byte for byte, apart from time stamps and durations."""
    first, again = _files(first_folder), _files(again_folder)
    assert sorted(first) == sorted(again)
    timed = {"manifest.json", "leaderboard.csv", "report.html"}  # their time fields are compared apart
    for name in sorted(set(first) - timed):
        assert first[name] == again[name], f"{name} differs between two runs"
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in (first_folder, again_folder)]
    for manifest in manifests:  # the checksums of the files with time fields, compared apart
        manifest["files"] = {k: v for k, v in manifest["files"].items() if k not in timed}
    assert _untimed(manifests[0]) == _untimed(manifests[1])
    assert _leaderboard(first_folder / "leaderboard.csv") == _leaderboard(again_folder / "leaderboard.csv")


def test_the_manifest_records_the_trials_that_replay_the_search(tmp_path: Path) -> None:
    bundle = lathe.train(mixed_table(200), "target", budget=None, trials=4, verbose=False)
    assert bundle.manifest["search"] == {"seed": 0, "trials": 4, "timed_out": 0}
    assert bundle.leaderboard.trials == len([c for c in bundle.leaderboard.candidates if c.family != "blend"])
