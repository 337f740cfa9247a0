"""Serving speed: one row in-process, and over HTTP against `mlflow models serve` on the same model.

The demo model (build/demo/models/late, made as `make demo` makes it when missing). In-process:
``Bundle.predict_rows`` of one row. Over HTTP: `lathe serve` and `mlflow models serve` (lathe's
MLflow flavor, MLflow in its own virtual environment, build/bench-envs/mlflow), one worker each,
loaded by wrk from a second process on loopback with one-row requests at rising concurrency.
The knee is the lowest concurrency reaching 90% of lathe's best throughput. Prints a table and
writes it to bench/RESULTS.md (section "serve").

With ``--log``, `lathe serve` without a prediction log against `lathe serve --log` (a DuckDB file)
instead, both in the same run: two servers, measured in turns at each level, then the rows the
log holds counted against the requests answered (section "serve with the prediction log").

Needs wrk (apt-get install wrk). Usage: python bench/serve.py [--seconds 8] [--levels 1,2,4,8,16,32] [--log]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

import lathe
from _results import DEMO, DEMO_BUNDLE, demo_bundle, own_environment, record
from lathe.backends import close, open_table, to_frame

BIN = Path(sys.executable).parent
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def _one_row() -> dict[str, object]:
    """A December flight with its plane, destination and weather joined in, as JSON values."""
    rows = open_table(str(DEMO / "score.toml"))[1]
    row = to_frame(rows.limit(1)).astype(object)
    close(rows)
    return {k: None if pd.isna(v) else v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.iloc[0].items()}


def in_process(bundle: lathe.Bundle, row: dict[str, object], count: int = 5000) -> tuple[float, float]:
    """p50 and p99 seconds of ``predict_rows`` on one row."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        bundle.predict_rows([row])
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    # Its log goes to a file: a pipe nobody reads fills up and stalls a server that logs every request.
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT) as server,
    ):
        try:
            _wait_up(url, server, log)
            yield
        finally:
            server.terminate()


def _wait_up(url: str, server: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + 180
    while True:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{server.args} exited: {log.read().decode()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer within 180 s") from None
            time.sleep(0.3)


def load(url: str, body: str, connections: int, seconds: float) -> dict[str, float]:
    """wrk's throughput and latency percentiles for one-row POSTs at ``connections``."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "body.json").write_text(body)
        script = Path(folder) / "post.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f'local f = io.open("{folder}/body.json"); wrk.body = f:read("*a"); f:close()\n'
        )
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url]
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"wrk failed at {connections} connection(s) on {url}: {done.stdout}{done.stderr}")
        out = done.stdout
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)  # connect, read, write, timeout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50": _latency(out, "50%"),
        "p99": _latency(out, "99%"),
        "failed": float(failed.group(1)) if failed else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def _latency(out: str, quantile: str) -> float:
    number, unit = re.search(rf"{quantile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def sweep(url: str, body: str, levels: list[int], seconds: float) -> dict[int, dict[str, float]]:
    load(url, body, 1, 2)  # warm up
    return {c: load(url, body, c, seconds) for c in levels}


def with_and_without_log(levels: list[int], seconds: float, body: str) -> tuple[dict[int, dict[str, float]], ...]:
    """`lathe serve` and `lathe serve --log FILE.duckdb`, measured in turns at each level (the
    first of the two alternating); and the rows the log holds, once its server has stopped,
    against the requests wrk counted answered by it (key 0: ``rows``, ``answered``)."""
    request = json.dumps({"rows": [json.loads(body)]})
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "log.duckdb"
        ports = _free_port(), _free_port()
        plain = [str(BIN / "lathe"), "serve", str(DEMO_BUNDLE), "--port", str(ports[0])]
        logged = [*plain[:-1], str(ports[1]), "--log", str(log)]
        results: tuple[dict[int, dict[str, float]], dict[int, dict[str, float]]] = ({}, {})
        with (
            _server(plain, f"http://127.0.0.1:{ports[0]}/ready"),
            _server(logged, f"http://127.0.0.1:{ports[1]}/ready"),
        ):
            urls = [f"http://127.0.0.1:{port}/predict" for port in ports]
            load(urls[0], request, 1, 2)  # warm up
            answered = load(urls[1], request, 1, 2)["requests"]
            for turn, c in enumerate(levels):
                for which in (0, 1) if turn % 2 == 0 else (1, 0):
                    results[which][c] = load(urls[which], request, c, seconds)
            answered += sum(r["requests"] for r in results[1].values())
        rows = _log_rows(log)
    return results[0], results[1], {0: {"rows": float(rows), "answered": answered}}


def _log_rows(log: Path) -> int:
    """The rows the (closed) log holds: its server has stopped, and wrote its last rows as it did."""
    from lathe.backends import fetch
    from lathe.log import read

    return int(fetch(read(str(log)).count().as_table()).column(0)[0].as_py())


def lathe_server(levels: list[int], seconds: float, body: str) -> dict[int, dict[str, float]]:
    port = _free_port()
    command = [str(BIN / "lathe"), "serve", str(DEMO_BUNDLE), "--port", str(port)]
    with _server(command, f"http://127.0.0.1:{port}/ready"):
        return sweep(f"http://127.0.0.1:{port}/predict", json.dumps({"rows": [json.loads(body)]}), levels, seconds)


def mlflow_server(levels: list[int], seconds: float, body: str) -> tuple[dict[int, dict[str, float]], str]:
    mlflow_version = version("mlflow")
    python = own_environment("mlflow", [f"mlflow=={mlflow_version}", "-e", ".[mlflow]"])
    model = Path("build/bench-serve/mlflow-model")
    shutil.rmtree(model, ignore_errors=True)
    model.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(python), "-c", f"import lathe.mlflow; lathe.mlflow.save_model({str(DEMO_BUNDLE)!r}, {str(model)!r})"],
        check=True,
    )
    port = _free_port()
    command = [str(python.parent / "mlflow"), "models", "serve", "-m", str(model), "--env-manager", "local"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "MLFLOW_DISABLE_TELEMETRY": "true"}
    with _server(command, f"http://127.0.0.1:{port}/ping", env):
        request = json.dumps({"dataframe_records": [json.loads(body)]})
        return sweep(f"http://127.0.0.1:{port}/invocations", request, levels, seconds), mlflow_version


def _knee(results: dict[int, dict[str, float]]) -> int:
    best = max(r["rps"] for r in results.values())
    return min(c for c, r in results.items() if r["rps"] >= 0.9 * best)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--levels", default="1,2,4,8,16,32")
    parser.add_argument("--log", action="store_true", help="lathe serve with and without --log, not MLflow")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/serve.py needs wrk: apt-get install wrk")
    levels = [int(c) for c in args.levels.split(",")]
    bundle, row = lathe.load(demo_bundle()), _one_row()
    if args.log:
        log_comparison(bundle, levels, args.seconds, json.dumps(row))
        return
    p50, p99 = in_process(bundle, row)
    body = json.dumps(row)
    ours = lathe_server(levels, args.seconds, body)
    theirs, mlflow_version = mlflow_server(levels, args.seconds, body)
    knee = _knee(ours)
    lines = [
        f"## serve: the demo model ({bundle.manifest['model']['family']}, {len(bundle.plan.feature_names)} features), "
        f"one-row requests, one worker each, wrk -t1 for {args.seconds:g} s per level, 2 cores\n",
        f"In-process `predict_rows`, one row: p50 {p50 * 1e6:.0f} µs, p99 {p99 * 1e6:.0f} µs (target p50 ≤ 100 µs).\n",
        f"| connections | lathe req/s | lathe p50 ms | lathe p99 ms | MLflow {mlflow_version} req/s "
        "| MLflow p50 ms | MLflow p99 ms | lathe ÷ MLflow |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in levels:
        a, b = ours[c], theirs[c]
        mark = " (knee)" if c == knee else ""
        lines.append(
            f"| {c}{mark} | {a['rps']:.0f} | {_ms(a['p50'])} | {_ms(a['p99'])} | {b['rps']:.0f} | {_ms(b['p50'])} "
            f"| {_ms(b['p99'])} | {a['rps'] / b['rps']:.1f}x |"
        )
    failed = {name: sum(r["failed"] for r in runs.values()) for name, runs in (("lathe", ours), ("MLflow", theirs))}
    errors = [f"{name} at {c}" for name, runs in (("lathe", ours), ("MLflow", theirs)) for c, r in runs.items()
              if r["socket_errors"]]  # fmt: skip
    lines.append(
        f"\nAt the knee ({knee} connections): p50 {_ms(ours[knee]['p50'])} ms (target ≤ 2), "
        f"p99 {_ms(ours[knee]['p99'])} ms (target ≤ 10), {ours[knee]['rps'] / theirs[knee]['rps']:.1f}x "
        f"MLflow's throughput (target ≥ 5x). Non-2xx answers: lathe {failed['lathe']:.0f}, MLflow "
        f"{failed['MLflow']:.0f}; wrk's socket errors (timeouts included): {', '.join(errors) or 'none'}.\n"
    )
    table = "\n".join(lines)
    print(table)
    record(table)


def log_comparison(bundle: lathe.Bundle, levels: list[int], seconds: float, body: str) -> None:
    """Print and record `lathe serve` against `lathe serve --log`."""
    plain, logged, counts = with_and_without_log(levels, seconds, body)
    kept = {c: logged[c]["rps"] / plain[c]["rps"] for c in levels}
    lines = [
        f"## serve with the prediction log: the demo model ({bundle.manifest['model']['family']}), one-row "
        f"requests, one worker, `lathe serve` against `lathe serve --log FILE.duckdb` in turns, wrk -t1 for "
        f"{seconds:g} s per level, 2 cores shared with other work\n",
        "| connections | without log req/s | p50 ms | p99 ms | with --log req/s | p50 ms | p99 ms | kept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in levels:
        a, b = plain[c], logged[c]
        lines.append(
            f"| {c} | {a['rps']:.0f} | {_ms(a['p50'])} | {_ms(a['p99'])} | {b['rps']:.0f} | {_ms(b['p50'])} "
            f"| {_ms(b['p99'])} | {kept[c]:.0%} |"
        )
    best = max(r["rps"] for r in plain.values()), max(r["rps"] for r in logged.values())
    failed = sum(r["failed"] for r in (*plain.values(), *logged.values()))
    lines.append(
        f"\nBest throughput: {best[0]:.0f} req/s without the log, {best[1]:.0f} with it: {best[1] / best[0]:.0%} kept "
        f"(target ≥ 90%); the smallest share kept at any level: {min(kept.values()):.0%}. The log holds "
        f"{counts[0]['rows']:,.0f} rows for the {counts[0]['answered']:,.0f} requests wrk counted answered "
        f"(it does not count those in flight as a run ends). Non-2xx answers: {failed:.0f}.\n"
    )
    table = "\n".join(lines)
    print(table)
    record(table)


if __name__ == "__main__":
    main()
