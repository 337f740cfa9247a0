"""Scoring speed of the exports, 1M rows in one run: the native model, onnxruntime, the SQL export
in DuckDB and inside PostgreSQL; and lathe's SQL against orbital's (Posit's scikit-learn-to-SQL, in
its own environment, build/bench-envs/orbital) for a pipeline both express.

The demo model (build/demo/models/late, as `make demo` makes it when missing; its size is in the
table's heading) scores the demo's flights, repeated to --rows. The shared pipeline is a standardised
logistic regression on eight numeric columns of the flights (no missing values): lathe's linear
bundle and scikit-learn's StandardScaler + LogisticRegression for orbital, each SQL run by DuckDB
over the same rows. Prints a table and writes it to bench/RESULTS.md (section "export").

Usage: python bench/export.py [--rows 1000000] [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import duckdb
import onnxruntime
import pandas as pd
import psycopg

import lathe
from _results import DEMO, DEMO_BUNDLE, demo_bundle, own_environment, record
from lathe.backends import close, open_table, to_frame
from lathe.datasets import flights
from lathe.export import export, onnx_feed, pipeline_of
from lathe.export._sql import score_in_database  # the run alone, without the check before it

NUMBERS = ["month", "day", "hour", "minute", "sched_dep_time", "sched_arr_time", "distance", "dep_delay"]
TABLE = "bench_export_flights"

ORBITAL = """
import json, sys, time
import duckdb, orbital, orbital.types, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

train, rows, columns = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2]), json.loads(sys.argv[3])
model = Pipeline([("scale", StandardScaler()), ("logit", LogisticRegression(max_iter=300))])
model.fit(train[columns], train["late"])
parsed = orbital.parse_pipeline(model, features={c: orbital.types.DoubleColumnType() for c in columns})
sql = orbital.export_sql("input", parsed, dialect="duckdb")
con = duckdb.connect()
con.execute("CREATE TABLE input AS SELECT * FROM rows")
started = time.perf_counter()
con.execute(f"CREATE TABLE scored AS {sql}")
print(time.perf_counter() - started)
"""


def _rows(count: int) -> pd.DataFrame:
    """The demo's flights with plane, destination and weather, repeated to ``count`` rows."""
    rows = open_table(str(DEMO / "train.toml"))[1]
    frame = to_frame(rows)
    close(rows)
    return pd.concat([frame] * (count // len(frame) + 1), ignore_index=True).head(count)


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def demo_model(count: int, postgres: str) -> list[tuple[str, float]]:
    """Seconds to score ``count`` rows with the demo model, each way."""
    folder = demo_bundle()
    bundle, frame = lathe.load(folder), _rows(count)
    print(f"{len(frame):,} rows, {len(bundle.plan.inputs)} inputs, {len(bundle.plan.feature_names)} features")
    seconds = [("native (Bundle.predict)", _timed(lambda: bundle.predict(frame)))]
    session = onnxruntime.InferenceSession(export(folder, "onnx").read_bytes(), providers=["CPUExecutionProvider"])
    seconds.append(("onnxruntime (feed built from the raw rows, then run)",
                    _timed(lambda: session.run(None, onnx_feed(bundle, frame)))))  # fmt: skip
    sql = export(folder, "sql", dialect="duckdb").read_text()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE input AS SELECT * FROM frame")
    seconds.append(("SQL export in DuckDB", _timed(lambda: con.execute(f"CREATE TABLE scored AS {sql}"))))
    typed = export(folder, "sql", dialect="duckdb", typed=True).read_text()
    seconds.append(("SQL export in DuckDB, typed columns (--typed)",
                    _timed(lambda: con.execute(f"CREATE TABLE scored_typed AS {typed}"))))  # fmt: skip
    export(folder, "sql", dialect="postgres", table=TABLE, verify_in=postgres)
    _load_postgres(postgres, frame)
    pipeline = pipeline_of(bundle)
    seconds.append(("SQL export in PostgreSQL (lathe score --in-db)",
                    _timed(lambda: score_in_database(pipeline, postgres, TABLE, f"{TABLE}_scored"))))  # fmt: skip
    return seconds


def _load_postgres(uri: str, frame: pd.DataFrame) -> None:
    types = {"float64": "double precision", "int64": "bigint", "bool": "boolean", "datetime64[us]": "timestamp",
             "datetime64[ns]": "timestamp"}  # fmt: skip
    columns = ", ".join(f'"{c}" {types.get(str(t), "text")}' for c, t in frame.dtypes.items())
    with psycopg.connect(uri, autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS {TABLE}, {TABLE}_scored")
        con.execute(f"CREATE TABLE {TABLE} ({columns})")
        with con.cursor().copy(f"COPY {TABLE} FROM STDIN") as copy:
            for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
                copy.write_row(row)
        con.execute(f"ANALYZE {TABLE}")


def shared_pipeline(count: int) -> list[tuple[str, float]]:
    """Seconds for lathe's and orbital's SQL of a standardised logistic regression, in DuckDB."""
    data = flights().dropna(subset=NUMBERS)[[*NUMBERS, "late"]]
    rows = pd.concat([data] * (count // len(data) + 1), ignore_index=True).head(count)[NUMBERS]
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "linear"
        lathe.train(data, "late", trials=1, budget=None, holdout=0.2, out=folder, verbose=False)
        sql = export(folder, "sql", dialect="duckdb").read_text()
        con = duckdb.connect()
        con.execute("CREATE TABLE input AS SELECT * FROM rows")
        ours = _timed(lambda: con.execute(f"CREATE TABLE scored AS {sql}"))
        typed = export(folder, "sql", dialect="duckdb", typed=True).read_text()
        ours_typed = _timed(lambda: con.execute(f"CREATE TABLE scored_typed AS {typed}"))
        data.to_parquet(Path(work) / "train.parquet")
        rows.to_parquet(Path(work) / "rows.parquet")
        python = own_environment("orbital", ["orbital", "scikit-learn", "duckdb", "pandas", "pyarrow"])
        command = [str(python), "-c", ORBITAL, f"{work}/train.parquet", f"{work}/rows.parquet", json.dumps(NUMBERS)]
        theirs = float(subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1])
    asked = "from importlib.metadata import version; print(version('orbital'))"
    orbital = subprocess.run([str(python), "-c", asked], check=True, capture_output=True, text=True).stdout.strip()
    return [("lathe SQL export in DuckDB", ours), ("lathe SQL export in DuckDB, typed columns (--typed)", ours_typed),
            (f"orbital {orbital} SQL in DuckDB", theirs)]  # fmt: skip


def _described(bundle: lathe.Bundle) -> str:
    model = bundle.manifest["model"]["family"]
    trees = f", {bundle.model.booster.num_trees()} trees" if model == "lightgbm" else ""  # type: ignore[attr-defined]
    return f"{model}{trees}, {len(bundle.plan.inputs)} inputs, {len(bundle.plan.feature_names)} features"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    demo = demo_model(args.rows, args.postgres)
    shared = shared_pipeline(args.rows)
    lines = [
        f"## export: scoring {args.rows:,} rows with each export, 2 cores, one run", "",
        f"### The demo model ({_described(lathe.load(DEMO_BUNDLE))})", "",
        "| engine | seconds | rows per second |", "| --- | ---: | ---: |",
        *(f"| {name} | {s:.2f} | {args.rows / s:,.0f} |" for name, s in demo), "",
        "### A standardised logistic regression on 8 numeric columns: lathe's SQL and orbital's, in DuckDB", "",
        "| SQL | seconds | rows per second |", "| --- | ---: | ---: |",
        *(f"| {name} | {s:.2f} | {args.rows / s:,.0f} |" for name, s in shared), "",
        f"duckdb {version('duckdb')}, onnxruntime {version('onnxruntime')}, PostgreSQL on loopback.",
    ]  # fmt: skip
    section = "\n".join(lines) + "\n"
    print(section)
    record(section)


if __name__ == "__main__":
    main()
