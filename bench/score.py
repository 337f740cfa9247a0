"""Scoring speed of the compiled scorer (Bundle.predict) against the reference path, LightGBM's own
predict, onnxruntime on the ONNX export and DuckDB on the SQL export, in one run; one row from a
dict; and the time to compile a bundle's scorer, first and from its cache.

The demo model (build/demo/models/late, as `make demo` makes it when missing) scores the demo's
flights repeated to --rows, read from a Parquet file (strings as dictionary codes, which reach
pandas as categoricals) and written to one: reading, scoring and writing are timed apart; and
scored again with the strings as plain text, which the scorer hashes into codes itself.
One row: ``Bundle.predict_rows`` on one dict, median and 99th percentile
of --repeat calls. Compile: a fresh process per measurement, numba's cache of the kernels empty
(first compile ever), the kernels cached but not the bundle's program (a new bundle), and both
cached (a load). Prints a table and writes it to bench/RESULTS.md (section "score").

Usage: flock /tmp/bench.lock env OMP_WAIT_POLICY=PASSIVE python bench/score.py [--rows 1000000] [--repeat 5000]
       [--bundle FOLDER]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import onnxruntime
import pandas as pd
import pyarrow.parquet as pq

import lathe
from _results import DEMO, demo_bundle, record
from lathe.backends import close, open_table, to_frame
from lathe.export import export, onnx_feed

# Seconds to load a bundle and make its scorer, then to score its first row (numba's kernels
# loaded from its cache or compiled), in a fresh process (imports not counted).
_LOAD = """
import sys, time
import lathe
started = time.perf_counter()
bundle = lathe.load(sys.argv[1])
assert bundle.scorer is not None
loaded = time.perf_counter()
bundle.predict_rows([{c.name: None for c in bundle.plan.inputs}])
print(loaded - started, time.perf_counter() - loaded)
"""


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _rows(count: int) -> pd.DataFrame:
    """The demo's flights, repeated to ``count`` rows."""
    rows = open_table(str(DEMO / "train.toml"))[1]
    frame = to_frame(rows)
    close(rows)
    return pd.concat([frame] * (count // len(frame) + 1), ignore_index=True).head(count)


def batch(folder: Path, frame: pd.DataFrame, work: Path) -> list[tuple[str, float]]:
    """Seconds per way of scoring ``frame``; the compiled scorer's Parquet read and write apart."""
    bundle = lathe.load(folder)
    source, target = work / "rows.parquet", work / "scored.parquet"
    frame.to_parquet(source, index=False)
    bundle.predict(frame.head(10))  # the scorer made, as a served or batch process has it
    strings = [c.name for c in bundle.plan.inputs if c.kind == "string"]

    def read_rows() -> pd.DataFrame:  # strings as dictionary codes: pandas categoricals
        return pq.read_table(source, read_dictionary=strings).to_pandas()

    read = _timed(read_rows)
    rows = read_rows()
    scored: list[pd.DataFrame] = []
    score = _timed(lambda: scored.append(bundle.predict(rows)))
    write = _timed(lambda: scored[0].to_parquet(target, index=False))
    seconds = [
        ("compiled: read Parquet", read), ("compiled: score (Bundle.predict)", score),
        ("compiled: write Parquet", write), ("compiled: end to end", read + score + write),
        ("reference: pandas features + the model's predict (compiled=False)",
         _timed(lambda: bundle.predict(rows, compiled=False))),
        ("compiled: score, strings as plain text (hashed)", _timed(lambda: bundle.predict(pd.read_parquet(source)))),
    ]  # fmt: skip
    X = bundle.plan.transform(rows)
    own = "the model's own predict (LightGBM's, scikit-learn's arithmetic) on the features alone"
    seconds.append((own, _timed(lambda: bundle.model.predict(X))))
    session = onnxruntime.InferenceSession(export(folder, "onnx").read_bytes(), providers=["CPUExecutionProvider"])
    seconds.append(
        ("onnxruntime (feed from the raw rows, then run)", _timed(lambda: session.run(None, onnx_feed(bundle, rows))))
    )
    sql = export(folder, "sql", dialect="duckdb").read_text()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE input AS SELECT * FROM rows")
    seconds.append(
        ("SQL export in DuckDB (table in, table out)", _timed(lambda: con.execute(f"CREATE TABLE scored AS {sql}")))
    )
    return seconds


def one_row(folder: Path, frame: pd.DataFrame, repeat: int) -> list[tuple[str, float, float]]:
    """Microseconds (median, 99th percentile) to score one row from a dict, each way."""
    bundle = lathe.load(folder)
    row = frame.head(1).astype(object).where(frame.head(1).notna(), None).to_dict("records")

    def spread(action: Callable[[], Any]) -> tuple[float, float]:
        for _ in range(100):
            action()
        times = np.empty(repeat)
        for i in range(repeat):
            started = time.perf_counter()
            action()
            times[i] = time.perf_counter() - started
        return float(np.median(times)) * 1e6, float(np.quantile(times, 0.99)) * 1e6

    return [
        ("compiled: Bundle.predict_rows", *spread(lambda: bundle.predict_rows(row))),
        ("reference: Bundle.predict_rows(compiled=False)", *spread(lambda: bundle.predict_rows(row, compiled=False))),
        ("compiled: Bundle.explain_rows", *spread(lambda: bundle.explain_rows(row))),
    ]


def compile_times(folder: Path, work: Path) -> list[tuple[str, float]]:
    """Seconds to load the bundle and make its scorer in a fresh process, from each cache's state."""
    copy = work / "bundle"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".compiled"))

    def load(numba_cache: Path) -> tuple[float, float]:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(numba_cache)}
        out = subprocess.run(
            [sys.executable, "-c", _LOAD, str(copy)], env=env, check=True, capture_output=True, text=True
        )
        loaded, first = out.stdout.split()[-2:]
        return float(loaded), float(first)

    first = load(work / "numba")  # an empty numba cache: the kernels compiled
    shutil.rmtree(copy / ".compiled")
    made = load(work / "numba")  # the kernels cached, the bundle's program made
    cached = load(work / "numba")
    return [
        ("first compile: program made, kernels compiled (numba's cache empty)", sum(first)),
        ("a new bundle: program made, kernels from numba's cache", sum(made)),
        ("cached load: load_bundle + program from BUNDLE/.compiled", cached[0]),
        ("cached load, then the first row (numba's cached kernels loaded)", sum(cached)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5000)
    parser.add_argument("--bundle", type=Path, help="a bundle trained on the demo's flights (default: the demo's)")
    args = parser.parse_args()
    folder = args.bundle or demo_bundle()
    frame = _rows(args.rows)
    bundle = lathe.load(folder)
    model = bundle.manifest["model"]["family"]
    trees = f", {bundle.model.booster.num_trees()} trees" if model == "lightgbm" else ""  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as work:
        compiled = compile_times(folder, Path(work))
        rows = one_row(folder, frame, args.repeat)
        batches = batch(folder, frame, Path(work))
    lines = [
        f"## score: the compiled scorer, {args.rows:,} rows of the demo's flights ({folder}), {os.cpu_count()} cores, "
        "one run", "",
        f"{model}{trees}, {len(bundle.plan.inputs)} inputs, {len(bundle.plan.feature_names)} features. "
        "The machine was shared with other work: read the numbers as a lower bound.", "",
        "| batch | seconds | rows per second |", "| --- | ---: | ---: |",
        *(f"| {name} | {s:.3f} | {args.rows / s:,.0f} |" for name, s in batches), "",
        "| one row from a dict | p50 µs | p99 µs |", "| --- | ---: | ---: |",
        *(f"| {name} | {p50:.1f} | {p99:.1f} |" for name, p50, p99 in rows), "",
        "| compile (fresh process, imports not counted) | seconds |", "| --- | ---: |",
        *(f"| {name} | {s:.3f} |" for name, s in compiled), "",
        f"numba {version('numba')}, lightgbm {version('lightgbm')}, onnxruntime {version('onnxruntime')}, "
        f"duckdb {version('duckdb')}.",
    ]  # fmt: skip
    section = "\n".join(lines) + "\n"
    print(section)
    record(section)


if __name__ == "__main__":
    main()
