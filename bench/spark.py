"""Spark against DuckDB on one machine: profile, train and score the same generated table.

A table of N rows (12 numbers, 4 categories, a binary target) in Parquet files, for each N:

1. profile: ``lathe profile --engine duckdb`` and ``--engine spark`` (local mode), each in a fresh process;
2. train: ``lathe train --engine duckdb`` and ``--engine spark`` (both learn from a sample of
   --max-rows rows; the engine reads, profiles and samples), the holdout ROC AUC of each;
3. score the whole table with the bundle trained on DuckDB: ``lathe batch`` (DuckDB, process
   workers), ``lathe batch --engine spark`` (Arrow batches through the bundle, ``mapInArrow``),
   and the bundle's SQL export run in Spark SQL (``lathe.export.score_in_database`` on a view).

Wall seconds and peak memory of each fresh process (the peak of the Python process and the
processes it waited for: Spark's JVM is counted only where it ended before its parent). Prints one
table and writes it to bench/RESULTS.md (section "spark"). Run alone: `flock /tmp/bench.lock`.

Usage: python bench/spark.py [--rows 1000000 10000000] [--master local[2]] [--budget 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _results import measured, record

SQL_SCRIPT = """
import os, sys
os.chdir(sys.argv[4])  # Spark's warehouse, where the scored table is written
from lathe.backends import spark_session
from lathe.export import score_in_database
spark = spark_session(sys.argv[3])
spark.read.parquet(sys.argv[2]).createOrReplaceTempView("rows")
score_in_database(sys.argv[1], "spark", "rows", "scored")
"""
PARTS = 8


def generate(folder: Path, rows: int, seed: int = 0) -> str:
    """``rows`` rows in ``PARTS`` Parquet files under ``folder``; the glob that reads them."""
    rng = np.random.default_rng(seed)
    per = -(-rows // PARTS)
    for part in range(PARTS):
        n = min(per, rows - part * per)
        numbers = rng.normal(0, 1, (n, 12))
        frame = pd.DataFrame({f"x{i}": numbers[:, i] for i in range(12)})
        for i in range(4):
            frame[f"c{i}"] = np.array([f"level_{k}" for k in range(5 + 10 * i)])[rng.integers(0, 5 + 10 * i, n)]
        signal = (
            numbers[:, 0] + 0.5 * numbers[:, 1] * numbers[:, 2] + (frame["c0"] == "level_1") + np.sin(numbers[:, 3])
        )
        frame["y"] = np.where(signal + rng.normal(0, 1, n) > 0.5, "yes", "no")
        frame.insert(0, "row_id", np.arange(part * per, part * per + n))
        frame.to_parquet(folder / f"part-{part}.parquet", index=False)
    return str(folder / "*.parquet")


def run(rows: int, master: str, budget: int) -> list[dict[str, object]]:
    lathe = str(Path(sys.executable).with_name("lathe"))
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        data = generate(folder / "data", rows)
        spark = ["--engine", "spark", "--master", master]
        for engine, extra in (("duckdb", ["--engine", "duckdb"]), ("spark", spark)):
            wall, peak = measured([lathe, "profile", data, "--out", str(folder / f"{engine}.html"), *extra])
            results.append({"rows": rows, "step": "profile", "how": engine, "seconds": wall, "peak": peak})
        for engine, extra in (("duckdb", ["--engine", "duckdb"]), ("spark", spark)):
            out = folder / f"model-{engine}"
            train = [lathe, "train", data, "--target", "y", "--budget", str(budget), "--out", str(out), *extra]
            wall, peak = measured(train)
            auc = json.loads((out / "manifest.json").read_text())["metrics"]["holdout"]["roc_auc"]
            how = f"{engine}, sample of 1,000,000" if rows > 1_000_000 else f"{engine}, all rows"
            results.append({"rows": rows, "step": "train", "how": how, "seconds": wall, "peak": peak, "auc": auc})
        model = str(folder / "model-duckdb")
        scoring = {
            "DuckDB batch": [lathe, "batch", model, data, "--out", str(folder / "scored-duckdb")],
            "Spark Arrow": [lathe, "batch", model, data, "--out", str(folder / "scored-arrow"), *spark],
            "Spark SQL": [sys.executable, "-c", SQL_SCRIPT, model, str(folder / "data"), master, tmp],
        }
        for how, command in scoring.items():
            wall, peak = measured(command)
            results.append({"rows": rows, "step": "score", "how": how, "seconds": wall, "peak": peak})
    return results


def table(results: list[dict[str, object]], master: str) -> str:
    lines = [
        f"## spark: DuckDB against Spark local mode ({master}) on one machine, {time.strftime('%Y-%m-%d')}",
        "",
        f"`python bench/spark.py` on {os.cpu_count()} cores, a machine shared with other work (timings vary).",
        "Fresh process per step; seconds include starting Python and, for Spark, the JVM.",
        "",
        "| rows | step | how | seconds | peak GiB | holdout ROC AUC |",
        "| ---: | --- | --- | ---: | ---: | ---: |",
    ]
    for r in results:
        auc = f"{r['auc']:.4f}" if "auc" in r else ""
        lines.append(f"| {r['rows']:,} | {r['step']} | {r['how']} | {r['seconds']:.1f} | {r['peak']:.2f} | {auc} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--budget", type=int, default=60)
    args = parser.parse_args()
    results = [r for rows in args.rows for r in run(rows, args.master, args.budget)]
    section = table(results, args.master)
    print(section)
    record(section)


if __name__ == "__main__":
    main()
