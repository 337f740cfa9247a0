"""Profiling: lathe against ydata-profiling, and lathe's profile pushed down to PostgreSQL.

1. A generated table of 1M rows x 30 columns (numbers, integers, categories, booleans, dates,
   text) in Parquet, profiled by ``lathe profile`` and by ydata-profiling in minimal mode
   (in its own environment, build/bench-envs/ydata, made with uv on first use), each in a
   fresh process: wall time and peak memory (the process's maximum resident set).
2. A 2M-row PostgreSQL table made by the server itself (``generate_series``), profiled in
   detail where it lives: every statement lathe sends and the bytes of every result it
   fetches are counted, against the table's size on disk.

Prints the tables and writes them to bench/RESULTS.md (section "profile").

Usage: python bench/profile.py [--rows 1000000] [--pg-rows 2000000] [--postgres URI]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from _results import measured, own_environment, record

YDATA_SCRIPT = """
import sys, pandas as pd
from ydata_profiling import ProfileReport
frame = pd.read_parquet(sys.argv[1])
ProfileReport(frame, minimal=True, progress_bar=False).to_file(sys.argv[2])
"""
LATHE_SCRIPT = """
import sys
import lathe
lathe.profile(sys.argv[1], out=sys.argv[2])
"""


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    """30 columns of every kind lathe profiles."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(10):
        values = rng.normal(i, 1 + i, rows)
        values[rng.random(rows) < 0.05] = np.nan
        columns[f"number_{i}"] = values
    for i in range(5):
        columns[f"count_{i}"] = rng.poisson(3 + i, rows)
    for i in range(8):
        levels = np.array([f"level_{k}" for k in range(5 + 20 * i)])
        columns[f"category_{i}"] = levels[rng.integers(0, len(levels), rows)]
    for i in range(3):
        columns[f"flag_{i}"] = rng.random(rows) < 0.3 + 0.2 * i
    for i in range(2):
        columns[f"date_{i}"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
    words = np.array(["late", "refund", "thanks", "broken", "great", "slow", "help", "order", "box", "call"])
    for i in range(2):
        columns[f"text_{i}"] = [" ".join(words[rng.integers(0, 10, 6)]) for _ in range(rows)]
    return pd.DataFrame(columns)


def _ydata_python() -> Path:
    return own_environment("ydata", ["ydata-profiling", "setuptools<81", "pyarrow"])  # it imports pkg_resources


def against_ydata(rows: int) -> list[str]:
    """Both profilers on the same Parquet file, each in its own fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "table.parquet"
        table(rows).to_parquet(data, index=False)
        ydata = measured([str(_ydata_python()), "-c", YDATA_SCRIPT, str(data), f"{folder}/ydata.html"])
        ours = measured([sys.executable, "-c", LATHE_SCRIPT, str(data), f"{folder}/lathe.html"])
        version = subprocess.run(
            [str(_ydata_python()), "-c", "import ydata_profiling; print(ydata_profiling.__version__)"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    return [
        f"### {rows:,} rows x 30 columns (Parquet), each tool in a fresh process",
        "",
        "| tool | wall | peak memory |",
        "| --- | ---: | ---: |",
        f"| lathe profile (detailed, with profile.html) | {ours[0]:.1f} s | {ours[1]:.2f} GiB |",
        f"| ydata-profiling {version} (minimal=True, to_file) | {ydata[0]:.1f} s | {ydata[1]:.2f} GiB |",
        "",
    ]


def pushed_down(uri: str, rows: int) -> list[str]:
    """Profile a server-made table in PostgreSQL, counting what lathe sends and fetches."""
    import ibis

    from lathe.backends import open_table
    from lathe.profile import _details, _profile, profile_in_detail

    sent: list[str] = []
    fetched: list[int] = []
    original = _profile.fetch

    def counting(expression: ibis.Table) -> pa.Table:
        sent.append(str(ibis.to_sql(expression)))
        result = original(expression)
        fetched.append(result.nbytes)
        return result

    _sql(uri, "DROP TABLE IF EXISTS lathe_bench_profile")
    _sql(
        uri,
        f"""
            CREATE TABLE lathe_bench_profile AS
            SELECT g AS id, (g % 97)::float8 / 7 + random() AS amount, (random() * 100)::int AS visits,
                   (ARRAY['basic', 'plus', 'pro', 'team'])[1 + g % 4] AS plan, random() < 0.3 AS active,
                   TIMESTAMP '2024-01-01' + (g % 1000) * INTERVAL '1 hour' AS signup,
                   CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) END AS token
            FROM generate_series(1, {rows}) AS g""",
    )
    size = _sql(uri, "SELECT pg_total_relation_size('lathe_bench_profile')")[0][0]
    _profile.fetch = _details.fetch = counting
    try:
        started = time.perf_counter()
        _, rows_table = open_table(uri, table="lathe_bench_profile")
        profile = profile_in_detail(rows_table)
        wall = time.perf_counter() - started
    finally:
        _profile.fetch = _details.fetch = original
        _sql(uri, "DROP TABLE lathe_bench_profile")
    largest = max(sent, key=len)
    return [
        f"### {profile.rows:,}-row PostgreSQL table, profiled in detail where it lives",
        "",
        "| what | figure |",
        "| --- | ---: |",
        f"| table size in PostgreSQL (pg_total_relation_size) | {size / 2**20:,.1f} MiB |",
        f"| statements sent | {len(sent)} |",
        f"| bytes fetched, all results together (Arrow; with the 500 values per text column read to look for "
        f"personal data) | {sum(fetched):,} B |",
        f"| wall | {wall:.1f} s |",
        "",
        f"The largest statement sent ({len(largest):,} characters) begins: `{' '.join(largest.split())[:160]}...`",
        "",
    ]


def _sql(uri: str, statement: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(statement)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def main() -> None:
    """Run both parts, print and record them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-rows", type=int, default=2_000_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("LATHE_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    lines = ["## profile: lathe versus ydata-profiling; the profile pushed down to PostgreSQL", ""]
    lines += pushed_down(args.postgres, args.pg_rows)
    lines += against_ydata(args.rows)
    lines += ["2 cores, one run."]
    text = "\n".join(lines) + "\n"
    print(text)
    record(text)


if __name__ == "__main__":
    main()
