"""Monitoring: drift of a 10M-row x 100-column DuckDB table against a bundle's reference.

A table of 80 number and 20 category columns is generated inside DuckDB (5 % missing in a
tenth of the columns); a bundle is trained on 5,000 rows of it (one trial), and
``lathe monitor`` is run, each time in a fresh process, on the ROWS-row table as it is and on a
view of it with a planted shift (n0's mean moved by half a deviation, a new level in 10 % of
c0, a third of n1 missing). Wall time and the process's peak resident memory; which columns
each run flags.

Then, side by side on the first --compare rows of each table: lathe, and Evidently's data-drift
report (its DataDriftPreset, HTML saved, in an environment of its own under build/bench-envs/; the
current rows read into pandas, as Evidently needs), each in a fresh process whose address space is
capped at --memory-cap GiB and whose wall time at --limit seconds.

With --postgres N, instead: the first N rows of each table copied into PostgreSQL
($LATHE_POSTGRES_URI, by default the local server's ``test`` database) and monitored there.

Prints the tables and writes them to bench/RESULTS.md (sections "monitor" and "monitor in
PostgreSQL"). The data is generated once and reused while its row count matches.

Usage: python bench/monitor.py [--rows 10000000] [--compare 10000,100000,1000000] [--postgres 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from _results import own_environment, record

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


EVIDENTLY = ("evidently", ["evidently", "pandas<3", "pyarrow", "duckdb"])  # 0.7 imports a pandas 2 private


class Run:
    """One measured command in a fresh process: wall seconds, its own peak resident GiB (from
    ``wait4``), exit status, its JSON where it wrote one, and why it failed where it did."""

    def __init__(self, command: list[str], out: Path, cap_gib: float | None = None, limit: float | None = None):
        def capped() -> None:
            if cap_gib:
                size = int(cap_gib * 2**30)
                resource.setrlimit(resource.RLIMIT_AS, (size, size))

        started = time.perf_counter()
        output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
        child = subprocess.Popen(command, preexec_fn=capped, **output)
        timer = threading.Timer(limit, child.kill) if limit else None
        if timer:
            timer.start()
        printed = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)
        if timer:
            timer.cancel()
        self.wall = time.perf_counter() - started
        self.code = child.returncode = os.waitstatus_to_exitcode(status)
        self.peak = usage.ru_maxrss / 2**20
        written = out.with_suffix(".json")
        self.report: dict[str, object] = json.loads(written.read_text()) if written.exists() else {}
        self.failure = ""
        if limit is not None and self.wall >= limit:
            self.failure = f"stopped at the {limit:.0f} s limit"
        elif "MemoryError" in printed or "Unable to allocate" in printed or "bad_alloc" in printed:
            self.failure = f"out of memory at the {cap_gib:g} GiB cap"
        elif self.code not in (0, 1) or not self.report:  # a traceback exits 1 too, and writes no JSON
            self.failure = printed.strip().splitlines()[-1] if printed.strip() else f"exit {self.code}"

    def flagged(self) -> str:
        drifted = self.report.get("drifted")
        return ", ".join(str(name) for name in drifted) if isinstance(drifted, list) and drifted else "none"


def monitor(bundle: Path, source: Path | str, table: str, out: Path, **limits: float) -> Run:
    """``lathe monitor`` of ``table`` in a fresh process (``source``: a DuckDB file or a database URI)."""
    uri = f"duckdb:///{source}" if isinstance(source, Path) else source
    command = [sys.executable, "-m", "lathe.cli", "monitor", str(bundle), "--current", uri,
               "--table", table, "--out", str(out)]  # fmt: skip
    run = Run(command, out, **limits)
    if run.failure and not limits:
        raise SystemExit(run.failure)
    return run


def evidently(path: Path, table: str, rows: int, out: Path, cap_gib: float, limit: float) -> Run:
    """Evidently's data-drift report on the first ``rows`` rows of ``table`` in a fresh process."""
    python = str(own_environment(*EVIDENTLY))
    script = str(Path(__file__).with_name("_evidently_drift.py"))
    return Run([python, script, str(path), table, str(rows), str(out)], out, cap_gib=cap_gib, limit=limit)


def _cells(run: Run) -> str:
    """Wall, peak and the columns flagged: the cells of one run, or why it failed."""
    return f"{run.wall:.1f} s | {run.peak:.2f} GiB | {run.failure or run.flagged()} |"


def _generated(path: Path, rows: int) -> float | None:
    """Generate the tables unless ``path`` already holds ``rows`` current rows; the seconds it took."""
    if path.exists():
        con = duckdb.connect(str(path), read_only=True)
        try:
            if con.execute("SELECT count(*) FROM current").fetchone() == (rows,):
                return None
        except duckdb.Error:
            pass
        finally:
            con.close()
    started = time.perf_counter()
    generate(path, rows)
    return time.perf_counter() - started


def to_postgres(path: Path, rows: int, uri: str) -> str:
    """The first ``rows`` rows of ``current`` as the PostgreSQL table ``bench_monitor_current``, and
    the view ``bench_monitor_moved`` planting the same shift; the table's name."""
    import psycopg

    names = [f"n{i} DOUBLE PRECISION" for i in range(NUMBERS)] + [f"c{j} TEXT" for j in range(CATEGORIES)]
    csv = path.with_name("current.csv")
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute(f"COPY (SELECT * FROM current LIMIT {rows}) TO '{csv}' (HEADER false)")
    others = ", ".join([f"n{i}" for i in range(2, NUMBERS)] + [f"c{j}" for j in range(1, CATEGORIES)])
    with psycopg.connect(uri, autocommit=True) as con:
        con.execute("DROP VIEW IF EXISTS bench_monitor_moved; DROP TABLE IF EXISTS bench_monitor_current")
        con.execute(f"CREATE UNLOGGED TABLE bench_monitor_current ({', '.join(names)})")
        with con.cursor().copy("COPY bench_monitor_current FROM STDIN (FORMAT csv)") as copy, csv.open("rb") as f:
            while block := f.read(1 << 20):
                copy.write(block)
        con.execute(
            "CREATE VIEW bench_monitor_moved AS SELECT n0 + 2.5 AS n0, CASE WHEN random() < 0.3 THEN NULL "
            f"ELSE n1 END AS n1, CASE WHEN random() < 0.1 THEN 'new' ELSE c0 END AS c0, {others} "
            "FROM bench_monitor_current"
        )
        con.execute("ANALYZE bench_monitor_current")
    csv.unlink()
    return "bench_monitor_current"


def in_postgres(bundle: Path, path: Path, rows: int, folder: Path) -> None:
    """Copy the first ``rows`` rows into PostgreSQL, monitor them there, and record the section."""
    uri = os.environ.get("LATHE_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test")
    started = time.perf_counter()
    to_postgres(path, rows, uri)
    copied = time.perf_counter() - started
    lines = [
        f"## monitor in PostgreSQL: drift of {rows:,} rows x {NUMBERS + CATEGORIES} columns",
        "",
        "| table | wall | peak memory | exit | columns past a threshold |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for table in ("current", "moved"):
        run = monitor(bundle, uri, f"bench_monitor_{table}", folder / f"postgres_{table}.html")
        lines.append(f"| {table} | {run.wall:.1f} s | {run.peak:.2f} GiB | {run.code} | {run.flagged()} |")
    lines += [
        "",
        f"The first {rows:,} rows of bench/monitor.py's table, copied into PostgreSQL {_server(uri)} in "
        f"{copied:.0f} s (not counted; an unlogged table, analyzed); `moved` a view planting the same shift. "
        "Each run is `lathe monitor` in a fresh process, imports included: the aggregate query runs in "
        "PostgreSQL, 20,000 rows are sampled there and scored here. 2 cores shared with the database, "
        f"one run; load average {os.getloadavg()[1]:.1f} over the last 5 minutes.",
        "",
    ]
    print("\n".join(lines))
    record("\n".join(lines))


def _server(uri: str) -> str:
    import psycopg

    with psycopg.connect(uri) as con:
        row = con.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else ""


def _first(path: Path, sizes: list[int]) -> None:
    """Views ``current_N`` and ``moved_N``: the first N rows of each table."""
    con = duckdb.connect(str(path))
    for rows in sizes:
        for table in ("current", "moved"):
            con.execute(f"CREATE OR REPLACE VIEW {table}_{rows} AS SELECT * FROM {table} LIMIT {rows}")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--compare", default="10000,100000,1000000", help="row counts for lathe vs Evidently")
    parser.add_argument("--postgres", type=int, default=0, help="monitor this many rows in PostgreSQL instead")
    parser.add_argument("--memory-cap", type=float, default=12.0, help="GiB of address space per compared run")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds per compared run")
    parser.add_argument("--folder", type=Path, default=Path("build/bench-monitor"))
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    path = (args.folder / "data.duckdb").resolve()
    made = _generated(path, args.rows)
    sizes = [int(size) for size in args.compare.split(",") if size]
    _first(path, sizes)
    bundle = args.folder / "model"
    from lathe import workflows

    workflows.train(args.folder / "train.parquet", "target", trials=1, budget=None, verbose=False, out=bundle)
    if args.postgres:
        in_postgres(bundle, path, args.postgres, args.folder)
        return
    lines = [
        f"## monitor: drift of {args.rows:,} rows x {NUMBERS + CATEGORIES} columns in DuckDB",
        "",
        "| table | wall | peak memory | exit | columns past a threshold |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for table in ("current", "moved"):
        run = monitor(bundle, path, table, args.folder / f"{table}.html")
        lines.append(f"| {table} | {run.wall:.1f} s | {run.peak:.2f} GiB | {run.code} | {run.flagged()} |")
    limits = {"cap_gib": args.memory_cap, "limit": args.limit}
    lines += [
        "",
        "Against Evidently's data-drift report (DataDriftPreset, its defaults) on the first rows of each table:",
        "",
        "| rows | table | lathe wall | lathe peak | lathe flags | Evidently wall | Evidently peak | Evidently flags |",
        "| ---: | --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for rows in sizes:
        for table in ("current", "moved"):
            ours = monitor(bundle, path, f"{table}_{rows}", args.folder / f"{table}_{rows}.html", **limits)
            theirs = evidently(path, f"{table}_{rows}", rows, args.folder / f"evidently_{table}_{rows}.html", **limits)
            lines.append(f"| {rows:,} | {table} | {_cells(ours)} {_cells(theirs)}")
            print(lines[-1], flush=True)
    generated = f"Generated in DuckDB in {made:.0f} s (not counted)." if made else "Generated by an earlier run."
    lines += [
        "",
        f"{generated} Each run is a fresh process, imports included. lathe: one aggregate query over every "
        "row for the 100 input columns, and 20,000 rows sampled and scored for the prediction. Evidently: "
        "the reference (the 5,000 training rows) and the current rows read into pandas, its report run and "
        f"its HTML saved; each compared run capped at {args.memory_cap:g} GiB of address space and "
        f"{args.limit:.0f} s. `moved` is a view that plants the shift as it is read (n0, n1, c0 moved). "
        f"2 cores, one run, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; the machine was "
        f"shared (load average {os.getloadavg()[1]:.1f} over the last 5 minutes). {MEMORY_NOTE}",
        "",
    ]
    print("\n".join(lines))
    record("\n".join(lines))


if __name__ == "__main__":
    main()
