"""The ``lathe`` command: profile, train, predict, explain, info, registry, serve, batch, export, score,
stream, monitor, retrain.

Errors lathe raises on purpose are printed as one line, without a traceback, and the
command exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from lathe import _display, batch, workflows
from lathe._engine import CHOICES, advise, check_engine
from lathe._outputs import check_writable
from lathe.backends import DEFAULT_MASTER
from lathe.bundle import Bundle, load_bundle
from lathe.errors import InvalidParameterError, LatheError
from lathe.registry import STAGES, Registry, Version
from lathe.search import Leaderboard

EXIT_USAGE = 2
DEFAULT_BUDGET = 60.0  # train's seconds, where neither --budget nor --trials is given


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    # Run as a command, ``train --budget`` counts from the process's start: its imports come off it.
    args.started_seconds_ago = _seconds_running() if argv is None else 0.0
    try:
        status = args.run(args)
    except LatheError as exc:
        _display.console.quiet = False
        _display.console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _display.console.print(
            "interrupted; nothing was half-written (a `lathe batch` run resumes where it stopped when run again)"
        )
        return 130
    return status if isinstance(status, int) else 0


def _seconds_running() -> float:
    """Seconds since this process started (Linux's /proc; 0 where it cannot be read)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lathe", description="From a table to a deployed, explained model.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _train_parser(commands)
    predict = commands.add_parser("predict", parents=[_log_arguments()], help="score a table with a bundle")
    predict.add_argument("bundle", help="bundle folder")
    _source_arguments(predict, "to score")
    predict.add_argument("--out", required=True, help="output file: .csv or .parquet")
    predict.add_argument("--explain", action="store_true", help="add contributions and reason codes per row")
    predict.add_argument("--top", type=int, default=3, help="reason codes per row with --explain (default 3)")
    predict.set_defaults(run=_predict)
    explain = commands.add_parser("explain", help="chart why the model predicted what it did for one row")
    explain.add_argument("bundle", help="bundle folder")
    _source_arguments(explain, "holding the row")
    explain.add_argument("--row", type=int, default=0, help="row number, counted from 0 (default 0)")
    explain.set_defaults(run=_explain)
    profile = commands.add_parser("profile", help="what each column of a table holds, and its issues")
    _source_arguments(profile, "to profile")
    profile.add_argument("--out", default="profile.html", help="the HTML page to write (default profile.html)")
    _engine_arguments(profile)
    profile.set_defaults(run=_profile)
    info = commands.add_parser("info", help="what a bundle is: task, inputs, metrics, lineage")
    info.add_argument("bundle", help="bundle folder")
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info.set_defaults(run=_info)
    _registry_parser(commands)
    _serve_parser(commands)
    _batch_parser(commands)
    _export_parser(commands)
    _score_parser(commands)
    _stream_parser(commands)
    _monitor_parser(commands)
    _retrain_parser(commands)
    return parser


def _stream_parser(commands: Any) -> None:
    from lathe.stream import Options  # the stream package imports no broker client until it connects

    defaults = Options()

    stream = commands.add_parser(
        "stream", parents=[_registry_arguments(), _log_arguments()],
        help="score a broker's stream of JSON rows into another stream, at least once (Redis Streams, NATS JetStream)",
    )  # fmt: skip
    stream.add_argument("model", help="a bundle folder, NAME (its production version, followed) or NAME:N")
    stream.add_argument(
        "--source", required=True, metavar="URI",
        help="redis://HOST:PORT/DB?stream=S&group=G or nats://HOST:PORT/SUBJECT?durable=D",
    )  # fmt: skip
    stream.add_argument("--sink", required=True, metavar="URI", help="where outputs go (a broker URI)")
    stream.add_argument("--dead-letter", metavar="URI", help="where unscorable messages go, with the reason")
    stream.add_argument("--batch-size", type=int, default=defaults.batch_size, help="messages per batch (%(default)s)")
    stream.add_argument(
        "--max-wait-ms", type=float, default=defaults.max_wait_ms, help="ms a batch waits to fill (%(default)s)"
    )
    stream.add_argument("--in-flight", type=int, default=defaults.in_flight, help="batches per queue (%(default)s)")
    stream.add_argument("--explain", type=int, default=0, metavar="N", help="add contributions and N reasons")
    stream.add_argument("--metrics-port", type=int, help="serve Prometheus metrics at http://HOST:PORT/metrics")
    stream.add_argument("--metrics-host", default="127.0.0.1", help="address of the metrics (%(default)s)")
    stream.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the registry (%(default)s)")
    stream.add_argument(
        "--status-every", type=float, default=defaults.status_every, help="seconds between status lines (%(default)s)"
    )
    stream.set_defaults(run=_stream)


def _stream(args: argparse.Namespace) -> None:
    from lathe.stream import Options, stream

    options = Options(args.batch_size, args.max_wait_ms, args.in_flight, args.explain, args.status_every)
    stream(
        args.model, args.source, args.sink, dead_letter=args.dead_letter, options=options,
        metrics_port=args.metrics_port, metrics_host=args.metrics_host, registry=args.registry, store=args.store,
        poll=args.poll, log=args.log, log_table=args.log_table,
    )  # fmt: skip


def _monitor_parser(commands: Any) -> None:
    from lathe.log import TABLE
    from lathe.monitor import SAMPLE_ROWS, WINDOWS

    monitor = commands.add_parser(
        "monitor", parents=[_registry_arguments()],
        help="drift of a table or of the prediction log from the reference stored at training, and performance "
        "once labels arrive; exit 1 past a threshold",
    )  # fmt: skip
    monitor.add_argument("model", help="a bundle folder, NAME (its production version) or NAME:N")
    rows = monitor.add_mutually_exclusive_group(required=True)
    rows.add_argument("--current", metavar="SOURCE", help="the rows to compare: a file or database URI")
    rows.add_argument(
        "--log", metavar="URI", help="the prediction log: duckdb:///FILE, a path ending .duckdb, or postgresql://..."
    )
    _table_arguments(monitor)
    monitor.add_argument("--log-table", default=TABLE, metavar="NAME", help="the log's table (%(default)s)")
    monitor.add_argument("--by", choices=list(WINDOWS), default="week", help="with --log: the windows (%(default)s)")
    monitor.add_argument(
        "--labels", metavar="SOURCE",
        help="with --log: the labels, a file or database URI (--table/--query pick them) with --id and the target",
    )  # fmt: skip
    monitor.add_argument("--id", metavar="COL", help="with --labels: the id column joining a label to a logged row")
    monitor.add_argument(
        "--out", help="the page to write, its JSON beside it (default drift.html; with --log, monitor.html)"
    )
    monitor.add_argument(
        "--threshold", action="append", default=[], metavar="COL[:MEASURE]=VALUE",
        help="set a threshold by hand: COL=VALUE for its PSI, COL:js=VALUE (psi, js, wasserstein, missing, unseen)",
    )  # fmt: skip
    monitor.add_argument(
        "--sample-rows", type=int, default=SAMPLE_ROWS,
        help="rows scored for prediction drift; with --labels, the most rows per window the metrics read (%(default)s)",
    )  # fmt: skip
    monitor.set_defaults(run=_monitor)


def _monitor(args: argparse.Namespace) -> int:
    from lathe.registry import open_model

    if args.log is None and (args.labels or args.id):
        raise InvalidParameterError("--labels and --id apply to --log (the prediction log), not to --current")
    opened = open_model(args.model, args.registry, args.store)
    if args.log is not None:
        out = args.out or "monitor.html"
        logged = workflows.monitor_log(
            opened.bundle, args.log, log_table=args.log_table, by=args.by, labels=args.labels, id_column=args.id,
            table=args.table, query=args.query, out=out, thresholds=args.threshold, sample_rows=args.sample_rows,
            title=opened.label,
        )  # fmt: skip
        verdict, alarm = logged.verdict, bool(logged.drifted or logged.worse)
    else:
        out = args.out or "drift.html"
        report = workflows.monitor(
            opened.bundle, args.current, table=args.table, query=args.query, out=out, thresholds=args.threshold,
            sample_rows=args.sample_rows, title=opened.label,
        )  # fmt: skip
        verdict, alarm = report.verdict, bool(report.drifted)
    _display.results.print(verdict, highlight=False, markup=False, soft_wrap=True)
    _display.status(f"page: {out}; JSON: {Path(out).with_suffix('.json')}")
    return 1 if alarm else 0


def _retrain_parser(commands: Any) -> None:
    from lathe.retrain import MIN_BUDGET

    retrain = commands.add_parser(
        "retrain", parents=[_registry_arguments()],
        help="train a challenger on new rows; promote it over the champion only on evidence (exit 1 when promoted)",
    )  # fmt: skip
    retrain.add_argument("model", help="a registered NAME (its production version is the champion) or NAME:N")
    retrain.add_argument("--data", required=True, metavar="SOURCE", help="the new rows: a file or database URI")
    _table_arguments(retrain)
    retrain.add_argument(
        "--budget", type=float,
        help=f"the challenger's training time in seconds (default: half the champion's, at least {MIN_BUDGET:.0f})",
    )  # fmt: skip
    retrain.add_argument("--trials", type=int, help="stop after this many candidates (alone: no clock)")
    retrain.add_argument(
        "--min-gain", type=float, default=0.0,
        help="promote only where the gain's 95%% interval lies above this, in the metric's units (default 0)",
    )  # fmt: skip
    retrain.add_argument(
        "--out", default="retrain.html", help="the page to write, its JSON beside it (default retrain.html)"
    )
    retrain.set_defaults(run=_retrain)


def _retrain(args: argparse.Namespace) -> int:
    from lathe.retrain import retrain

    result = retrain(
        args.model, args.data, table=args.table, query=args.query, budget=args.budget, trials=args.trials,
        min_gain=args.min_gain, out=args.out, registry=args.registry, store=args.store,
    )  # fmt: skip
    _display.results.print(result.verdict, highlight=False, markup=False, soft_wrap=True)
    _display.status(f"retraining page: {args.out}; JSON: {Path(args.out).with_suffix('.json')}")
    return 1 if result.promoted else 0


def _export_parser(commands: Any) -> None:
    from lathe.export import DIALECTS, FORMATS

    export = commands.add_parser(
        "export", help="write the whole pipeline as ONNX, PMML or SQL, checked by an independent engine first"
    )
    export.add_argument("bundle", help="bundle folder; the export goes to its exports/ folder")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--dialect", choices=DIALECTS, help="with --format sql: the database's dialect")
    export.add_argument("--table", default="input", help="with --format sql: the table it reads (default input)")
    export.add_argument(
        "--verify-in", metavar="URI",
        help="with --dialect postgres or mysql: the database to check the SQL in (it gets a temporary table)",
    )  # fmt: skip
    export.add_argument(
        "--typed", action="store_true",
        help="with --format sql: the table's number inputs are in numeric columns and its datetimes in timestamp "
        "columns; read them as they are, without the check for written-out missing values (faster)",
    )  # fmt: skip
    export.set_defaults(run=_export)


def _score_parser(commands: Any) -> None:
    from lathe.export import BATCH_ROWS

    score = commands.add_parser(
        "score", help="score a table inside its database with the SQL export: no row leaves the database"
    )
    score.add_argument("bundle", help="bundle folder")
    score.add_argument(
        "--in-db", required=True, metavar="URI",
        help="the database: postgresql://, mysql://, sqlite:///FILE, duckdb:///FILE, or spark (the local SparkSession)",
    )  # fmt: skip
    score.add_argument("--table", required=True, help="the table to score")
    score.add_argument("--into", required=True, help="the table to write (replaced whole at the end if it exists)")
    score.add_argument("--view", action="store_true", help="define --into as a view that scores --table when read")
    score.add_argument("--key", help="a numeric column to score a large table by in ranges of, one batch at a time")
    score.add_argument(
        "--batch-rows", type=int, default=BATCH_ROWS, help=f"rows per range with --key (default {BATCH_ROWS:,})"
    )
    score.set_defaults(run=_score)


def _score(args: argparse.Namespace) -> None:
    from lathe.export import score_in_database

    score_in_database(
        args.bundle, args.in_db, args.table, args.into, view=args.view, key=args.key, batch_rows=args.batch_rows
    )


def _export(args: argparse.Namespace) -> None:
    from lathe.export import export

    _check_exports(Path(args.bundle) / "exports")
    export(args.bundle, args.format, dialect=args.dialect, table=args.table, verify_in=args.verify_in, typed=args.typed)


def _check_exports(exports: Path) -> None:
    """That the export, made and checked, can then be written into the bundle's ``exports/`` folder."""
    if not (exports.parent / "manifest.json").is_file():
        return  # the export itself says that there is no bundle there
    if exports.exists() and not exports.is_dir():
        raise InvalidParameterError(f"{exports}: is a file; exports go in the bundle's exports/ folder: move it away")
    check_writable(exports, "copy the bundle to a folder you can write in, and export it there")


def _registry_arguments() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--registry", help="a folder, sqlite:///FILE or postgresql://... ($LATHE_REGISTRY, else ./lathe-registry)"
    )
    where.add_argument("--store", help="folder for the bundles of a PostgreSQL registry ($LATHE_REGISTRY_STORE)")
    return where


def _log_arguments() -> argparse.ArgumentParser:
    """``--log`` and ``--log-table``: where a scoring command appends the rows it scores."""
    from lathe.log import TABLE

    logged = argparse.ArgumentParser(add_help=False)
    logged.add_argument(
        "--log", metavar="URI",
        help="append every row scored to a prediction log: duckdb:///FILE (or FILE.duckdb) or postgresql://HOST/DB",
    )  # fmt: skip
    logged.add_argument("--log-table", default=TABLE, metavar="NAME", help="the log's table (default %(default)s)")
    return logged


def _serve_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", parents=[_registry_arguments(), _log_arguments()], help="answer predictions and explanations over REST"
    )
    serve.add_argument("model", help="a bundle folder, NAME (its production version, followed as it changes) or NAME:N")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--api-key", help="require this key on every request but /health and /ready ($LATHE_API_KEY)")
    serve.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the registry (default 2)")
    serve.add_argument("--max-rows", type=int, help="rows per request at most (default 10,000)")
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> None:
    from lathe import serve  # only here: it needs the serve extra

    api_key = args.api_key or os.environ.get("LATHE_API_KEY")
    serve.serve(
        args.model, args.host, args.port, api_key=api_key, registry=args.registry, store=args.store,
        poll=args.poll, max_rows=args.max_rows or serve.MAX_ROWS, log=args.log, log_table=args.log_table,
    )  # fmt: skip


def _batch_parser(commands: Any) -> None:
    scoring = commands.add_parser(
        "batch", parents=[_registry_arguments(), _log_arguments()],
        help="score files or a table in parallel chunks into Parquet parts; run again to resume",
    )  # fmt: skip
    scoring.add_argument("model", help="a bundle folder, NAME (its production version) or NAME:N")
    scoring.add_argument(
        "sources", nargs="+", metavar="SOURCE",
        help="the rows to score: files (CSV, TSV, Parquet, JSON, NDJSON, Excel; a shell glob gives several) "
        "or a database URI with --table or --query",
    )  # fmt: skip
    scoring.add_argument("--out", required=True, help="folder for the Parquet parts; the same folder resumes a run")
    _table_arguments(scoring)
    scoring.add_argument(
        "--chunk-rows", type=int, default=batch.CHUNK_ROWS,
        help=f"rows per chunk, and per part file (default {batch.CHUNK_ROWS:,})",
    )  # fmt: skip
    scoring.add_argument("--workers", type=int, help="processes that score (default: one per core)")
    _engine_arguments(scoring)
    scoring.set_defaults(run=_batch)


def _batch(args: argparse.Namespace) -> None:
    if args.engine == "spark":
        _batch_on_spark(args)
        return
    check_engine(args.engine, args.master)
    for source in args.sources:
        advise(source)
    batch.score(
        args.model, args.sources, args.out, table=args.table, query=args.query, chunk_rows=args.chunk_rows,
        workers=args.workers, registry=args.registry, store=args.store, log=args.log, log_table=args.log_table,
    )  # fmt: skip


def _batch_on_spark(args: argparse.Namespace) -> None:
    from lathe._spark_batch import score_on_spark

    if len(args.sources) > 1 or args.workers is not None:
        raise InvalidParameterError(
            "with --engine spark, give one SOURCE (a glob reads many files) and no --workers (Spark's executors score)"
        )
    score_on_spark(
        args.model, args.sources[0], args.out, table=args.table, query=args.query, master=args.master,
        batch_rows=args.chunk_rows, registry=args.registry, store=args.store,
    )  # fmt: skip


def _registry_parser(commands: Any) -> None:
    registry = commands.add_parser("registry", help="versions of bundles, by name, in stages")
    actions = registry.add_subparsers(required=True, metavar="ACTION")
    where = _registry_arguments()
    add = actions.add_parser("add", parents=[where], help="register a bundle as the next version of a name")
    add.add_argument("bundle", help="bundle folder")
    add.add_argument("--name", required=True, help="the model's name")
    add.add_argument("--stage", choices=STAGES, default="staging", help="its first stage (default staging)")
    add.add_argument("--parent", type=int, help="the version it descends from (default: production, else latest)")
    add.set_defaults(run=_registry_add)
    listed = actions.add_parser("list", parents=[where], help="every version of every name (or of one)")
    listed.add_argument("name", nargs="?")
    listed.set_defaults(run=_registry_list)
    show = actions.add_parser("show", parents=[where], help="one version: lineage, metrics, stage history")
    show.add_argument("name")
    show.add_argument("version", type=int, nargs="?", help="default: the production version, else the latest")
    show.set_defaults(run=_registry_show)
    promote = actions.add_parser("promote", parents=[where], help="move a version to a stage")
    promote.add_argument("name")
    promote.add_argument("version", type=int)
    promote.add_argument("--to", required=True, choices=STAGES, help="the stage")
    promote.set_defaults(run=_registry_promote)
    rollback = actions.add_parser("rollback", parents=[where], help="put the previous production version back")
    rollback.add_argument("name")
    rollback.set_defaults(run=_registry_rollback)


def _source_arguments(parser: argparse.ArgumentParser, purpose: str) -> None:
    parser.add_argument(
        "source",
        help=f"the rows {purpose}: a file or glob (CSV, TSV, Parquet, JSON, NDJSON, Excel), a database URI, "
        "or a project file (.toml)",
    )
    _table_arguments(parser)


def _table_arguments(parser: argparse.ArgumentParser) -> None:
    """``--table`` or ``--query``: which rows of a database (or sheet of a workbook) a command reads."""
    rows = parser.add_mutually_exclusive_group()
    rows.add_argument("--table", help="with a database URI: the table to read; with an Excel workbook: the sheet")
    rows.add_argument("--query", help="with a database URI: a SELECT whose rows to read")


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--master``: which engine reads the source (see ``lathe._engine``)."""
    parser.add_argument(
        "--engine", choices=CHOICES, default="auto",
        help="where the source is read and profiled: duckdb, spark, or auto (DuckDB; it says when Spark would suit)",
    )  # fmt: skip
    parser.add_argument(
        "--master",
        help=f"with --engine spark: the Spark master URL, such as spark://host:7077 (default {DEFAULT_MASTER})",
    )


def _train_parser(commands: Any) -> None:
    train = commands.add_parser("train", help="train a model bundle from a table")
    _source_arguments(train, "to learn from")
    train.add_argument("--target", help="column to predict (a project file declares it)")
    train.add_argument(
        "--budget", type=float, help="training time in seconds, all told (default 60; none with --trials alone)"
    )
    train.add_argument("--trials", type=int, help="stop after this many candidates (alone: a reproducible run)")
    train.add_argument("--max-latency-ms", type=float, help="the most the winner may take to score one row, in process")
    train.add_argument("--max-size-mb", type=float, help="the most the winner's saved model files may weigh")
    train.add_argument("--task", choices=["binary", "multiclass", "regression"], help="force the task")
    train.add_argument("--metric", help="metric to optimise (default per task)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--holdout", type=float, default=workflows.HOLDOUT_SHARE,
        help=f"share of rows kept back for the report's metrics (default {workflows.HOLDOUT_SHARE}; 0: learn from all)",
    )  # fmt: skip
    roles = train.add_mutually_exclusive_group()
    roles.add_argument(
        "--time", help="column of instants: the holdout is the latest rows and every fold learns from the past"
    )
    roles.add_argument("--group", help="column of group labels: a group's rows stay together in the holdout and folds")
    train.add_argument(
        "--max-rows", type=int, default=workflows.MAX_ROWS,
        help=f"learn from a random sample of about this many rows of a larger table (default {workflows.MAX_ROWS:,})",
    )  # fmt: skip
    train.add_argument(
        "--keep-suspected-leaks", action="store_true",
        help="keep columns that predict the target almost perfectly on their own (reported either way)",
    )  # fmt: skip
    train.add_argument("--keep-pii", action="store_true", help="use columns flagged as personal data as features")
    train.add_argument(
        "--memory-limit", type=float, help="GiB: search on as many rows as fit, then refit the winner on all"
    )
    train.add_argument("--out", required=True, help="bundle folder to write")
    train.add_argument(
        "--resume", metavar="DIR",
        help="checkpoint folder: each step is saved there; run the same command again after a kill to go on "
        "from it (removed once the bundle is saved)",
    )  # fmt: skip
    _engine_arguments(train)
    train.set_defaults(run=_train)


def _train(args: argparse.Namespace) -> None:
    bundle = workflows.train(
        args.source, args.target, table=args.table, query=args.query, budget=_budget_left(args),
        trials=args.trials, task=args.task, metric=args.metric, seed=args.seed, keep_pii=args.keep_pii,
        out=args.out, max_rows=args.max_rows, keep_suspected_leaks=args.keep_suspected_leaks, time=args.time,
        group=args.group, memory_limit=args.memory_limit, holdout=args.holdout, max_latency_ms=args.max_latency_ms,
        max_size_mb=args.max_size_mb, resume=args.resume, engine=args.engine, master=args.master,
    )  # fmt: skip
    del bundle


def _budget_left(args: argparse.Namespace) -> float | None:
    """``--budget`` less what the command's start-up has used of it (at most half: a tiny budget
    cannot pay for the imports)."""
    if args.budget is None and getattr(args, "trials", None) is not None:
        return None  # --trials alone: no clock, so a reproducible run
    budget: float = DEFAULT_BUDGET if args.budget is None else args.budget
    if not budget > 0:
        return budget  # refused, with the number given, by the training itself
    return max(budget / 2, budget - float(args.started_seconds_ago))


def _predict(args: argparse.Namespace) -> None:
    scored = workflows.predict(
        args.bundle, args.source, args.out, table=args.table, query=args.query, explain=args.explain, top=args.top,
        log=args.log, log_table=args.log_table,
    )  # fmt: skip
    _display.status(f"scored {len(scored):,} rows into {args.out}")


def _explain(args: argparse.Namespace) -> None:
    bundle, values, explained = workflows.explain_row(args.bundle, args.source, args.row, args.table, args.query)
    _display.results.print(_display.contribution_chart(explained, values, bundle.manifest["target"]))


def _profile(args: argparse.Namespace) -> None:
    described = workflows.profile(
        args.source, args.out, table=args.table, query=args.query, engine=args.engine, master=args.master
    )
    _display.results.print(_display.profile_summary(described))
    _display.status(f"profile page: {args.out}")


def _info(args: argparse.Namespace) -> None:
    bundle = load_bundle(args.bundle)
    if args.json:
        print(json.dumps(bundle.manifest, indent=1))
        return
    _display.results.print(_summary(bundle))
    _display.results.print(_display.leaderboard(bundle.leaderboard))


def _deployed(board: Leaderboard) -> str:
    """The winner's one-row latency and size, and the limits they kept."""
    best = board.best
    if best.latency_ms is None or best.size_mb is None:
        return "-"
    return f"one row in {best.latency_ms:.3g} ms in process, {best.size_mb:.3g} MB of model files ({board.limits()})"


def _summary(bundle: Bundle) -> Table:
    m = bundle.manifest
    rows = {
        "model": f"{m['model']['family']} {json.dumps(m['model']['params'])}",
        "classes": ", ".join(map(str, m["classes"])) or "-",
        "inputs": ", ".join(f"{c['name']}:{c['kind']}" for c in m["inputs"]),
        "ids": ", ".join(m["ids"]) or "-",
        "cv": _metrics(m["metrics"]["cv"]),
        "deployed": _deployed(bundle.leaderboard),
        "holdout": _metrics(m["metrics"]["holdout"]),
        "source": m["data"]["source"],
        "rows": f"{m['data']['rows']:,} ({m['data']['train_rows']:,} train, {m['data']['holdout_rows']:,} holdout)",
        "fingerprint": m["data"]["fingerprint"],
        "created": m["created"],
        "versions": ", ".join(f"{k} {v}" for k, v in m["libraries"].items()),
    }
    return _facts(f"bundle {m['target']} ({m['task']})", rows)


def _facts(title: str, rows: dict[str, str]) -> Table:
    """A titled table of named facts, a row each."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, value)
    return table


def _registry_add(args: argparse.Namespace) -> None:
    version = Registry(args.registry, args.store).add(args.bundle, args.name, args.stage, args.parent)
    _display.status(f"{version.label} ({version.stage}), stored in {version.folder}")


def _registry_list(args: argparse.Namespace) -> None:
    versions = Registry(args.registry, args.store).versions(args.name)
    table = Table(title="registry", title_justify="left")
    for column in ("name", "version", "stage", "model", "cv", "parent", "created"):
        table.add_column(column)
    for v in versions:
        cv = _metrics(v.metrics.get("cv", {}))
        table.add_row(v.name, str(v.number), v.stage, v.family, cv, str(v.parent or "-"), v.created[:10])
    _display.results.print(table if versions else "the registry is empty; add a bundle with `lathe registry add`")


def _registry_show(args: argparse.Namespace) -> None:
    registry = Registry(args.registry, args.store)
    version = registry.version(args.name, args.version)
    _display.results.print(_version_table(version))
    history = Table(title="stage history", title_justify="left")
    for column in ("version", "from", "to", "at"):
        history.add_column(column)
    for change in registry.history(args.name):
        history.add_row(str(change["version"]), change["from"] or "-", change["to"], change["at"][:19])
    _display.results.print(history)


def _version_table(v: Version) -> Table:
    rows = {
        "model": f"{v.family}, {v.task} of {v.target}",
        "cv": _metrics(v.metrics.get("cv", {})),
        "holdout": _metrics(v.metrics.get("holdout", {})),
        "parent": str(v.parent or "-"),
        "data": f"{v.source} (fingerprint {v.fingerprint})",
        "created": v.created,
        "bundle": str(v.folder),
    }
    return _facts(f"{v.label}: {v.stage}", rows)


def _registry_promote(args: argparse.Namespace) -> None:
    version = Registry(args.registry, args.store).promote(args.name, args.version, args.to)
    _display.status(f"{version.label} is now in {version.stage}")


def _registry_rollback(args: argparse.Namespace) -> None:
    version = Registry(args.registry, args.store).rollback(args.name)
    _display.status(f"{version.name}: version {version.number} is back in production")


def _metrics(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in values.items())


if __name__ == "__main__":
    sys.exit(main())
