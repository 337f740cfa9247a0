"""Monitoring: drift of a 10M-row x 100-column DuckDB table against a bundle's reference.

A table of 80 number and 20 category columns is generated inside DuckDB (5 % missing in a
tenth of the columns); a bundle is trained on 5,000 rows of it (one trial), and
``lathe monitor`` is run, each time in a fresh process, on the ROWS-row table as it is and on a
view of it with a planted shift (n0's mean moved by half a deviation, a new level in 10 % of
c0, a third of n1 missing). Wall time and the process's peak resident memory; which columns
each run flags. Evidently's data-drift report is not run here (not installed; see the note).

Prints the table and writes it to bench/RESULTS.md (section "monitor").

Usage: python bench/monitor.py [--rows 10000000] [--folder build/bench-monitor]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from _results import record

NUMBERS, CATEGORIES = 80, 20
MEMORY_NOTE = (
    "The peak memory is mostly DuckDB's buffer pool keeping the blocks of the table it has read "
    "(on 10M rows 1,623 MiB of BASE_TABLE in duckdb_memory() after one scan, the file's size); "
    "evictable, it is bounded by DuckDB's memory_limit (80 % of RAM by default), not by the counts, "
    "which are columns x bins: the same scan under memory_limit=256MB peaks at 0.31 GiB."
)


def _columns(shifted: bool) -> str:
    numbers = []
    for i in range(NUMBERS):
        value = f"round((random() + random() + random()) * 10 + {i}, 2)"
        if i < NUMBERS // 10:
            value = f"CASE WHEN random() < 0.05 THEN NULL ELSE {value} END"
        numbers.append(f"{value} AS n{i}")
    levels = "['a', 'b', 'c', 'd', 'e', 'f']"
    categories = [f"({levels})[1 + floor(random() * 6)::INT] AS c{j}" for j in range(CATEGORIES)]
    del shifted
    return ", ".join(numbers + categories)


def generate(path: Path, rows: int) -> None:
    """The tables ``train`` (5,000 rows, with a target) and ``current`` (``rows``), and the view ``moved``."""
    con = duckdb.connect(str(path))
    con.execute(f"CREATE OR REPLACE TABLE current AS SELECT {_columns(False)} FROM range({rows})")
    con.execute(f"CREATE OR REPLACE TABLE base AS SELECT {_columns(False)} FROM range(5000)")
    con.execute(
        "CREATE OR REPLACE TABLE train AS SELECT *, CASE WHEN coalesce(n0, 15) + n2 / 2 + (c0 = 'a')::INT * 5 "
        "+ random() * 4 > 21 THEN 'yes' ELSE 'no' END AS target FROM base"
    )
    others = ", ".join([f"n{i}" for i in range(2, NUMBERS)] + [f"c{j}" for j in range(1, CATEGORIES)])
    con.execute(
        "CREATE OR REPLACE VIEW moved AS SELECT n0 + 2.5 AS n0, CASE WHEN random() < 0.3 THEN NULL ELSE n1 END AS n1, "
        f"CASE WHEN random() < 0.1 THEN 'new' ELSE c0 END AS c0, {others} FROM current"
    )
    con.execute(f"COPY train TO '{path.with_name('train.parquet')}' (FORMAT parquet)")
    con.close()


def monitor(bundle: Path, path: Path, table: str, out: Path) -> tuple[float, float, int, dict[str, object]]:
    """Wall seconds, peak resident memory (GiB) and exit status of ``lathe monitor`` in a fresh
    process (its own peak, from ``wait4``), and its JSON."""
    command = [sys.executable, "-m", "lathe.cli", "monitor", str(bundle), "--current", f"duckdb:///{path}",
               "--table", table, "--out", str(out)]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = child.returncode = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(printed)
    return wall, usage.ru_maxrss / 2**20, code, json.loads(out.with_suffix(".json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--folder", type=Path, default=Path("build/bench-monitor"))
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    path = args.folder / "data.duckdb"
    started = time.perf_counter()
    generate(path, args.rows)
    made = time.perf_counter() - started
    bundle = args.folder / "model"
    from lathe import workflows

    workflows.train(args.folder / "train.parquet", "target", trials=1, budget=None, verbose=False, out=bundle)
    lines = [
        f"## monitor: drift of {args.rows:,} rows x {NUMBERS + CATEGORIES} columns in DuckDB",
        "",
        "| table | wall | peak memory | exit | columns past a threshold |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for table in ("current", "moved"):
        wall, peak, code, report = monitor(bundle, path, table, args.folder / f"{table}.html")
        drifted = report["drifted"]
        flagged = ", ".join(str(name) for name in drifted) if isinstance(drifted, list) and drifted else "none"
        lines.append(f"| {table} | {wall:.1f} s | {peak:.2f} GiB | {code} | {flagged} |")
    lines += [
        "",
        f"Generated in DuckDB in {made:.0f} s (not counted). Each run is `lathe monitor` in a fresh process, "
        "imports included: one aggregate query over every row for the 100 input columns, and 20,000 rows "
        "sampled and scored for the prediction. `moved` is a view that plants the shift as it is read. "
        "Evidently was not run (not installed here). 2 cores, one run, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; the machine was shared "
        f"(load average {os.getloadavg()[1]:.1f} over the last 5 minutes). {MEMORY_NOTE}",
        "",
    ]
    print("\n".join(lines))
    record("\n".join(lines))


if __name__ == "__main__":
    main()
