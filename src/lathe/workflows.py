"""The workflows that wire the stages: profile, train, predict, explain, load.

Each stage is a function from one plain value to the next; this module is the only
place that knows their order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from lathe import _display
from lathe._engine import check_engine, open_on
from lathe._outputs import check_output_file, check_output_folder
from lathe.backends import close, fetch, is_project, open_table, read_project, sampled, to_frame
from lathe.bundle import SAMPLE_ROWS, Bundle, check_bundle_folder, load_bundle
from lathe.errors import BundleError, ColumnNotFoundError, InvalidParameterError, TargetError
from lathe.explain import Explainer, Explanation, mean_contribution, partial_dependence, permutation_importance
from lathe.features import (
    FeaturePlan,
    Leak,
    coerce_frame,
    encoding_targets,
    find_leaks,
    plan_features,
    usable_inputs,
)
from lathe.log import TABLE as LOG_TABLE
from lathe.log import Log, checksum, read
from lathe.monitor import SAMPLE_ROWS as MONITOR_SAMPLE_ROWS
from lathe.monitor import (
    DriftReport,
    LogReport,
    Reference,
    build_reference,
    check_overrides,
    join_labels,
    keyed_labels,
    measure_drift,
    measure_windows,
    model_rows,
    parse_overrides,
    performance,
)
from lathe.profile import Profile, Task, infer_task, profile_in_detail, profile_table
from lathe.report import (
    bootstrap_interval,
    holdout_evaluation,
    render_drift,
    render_log,
    render_profile,
    render_report,
)
from lathe.search import (
    SEARCH_ROWS,
    Checkpoint,
    Layout,
    Leaderboard,
    Metric,
    Model,
    SearchSpec,
    check_checkpoint_folder,
    decided,
    median_ms,
    metric_for,
    metrics_for,
    open_checkpoint,
    refit,
    run_search,
    useless_features,
)

HOLDOUT_SHARE = 0.2
MIN_ROWS = 20
MAX_ROWS = 1_000_000  # rows learnt from; a larger table is sampled where it lives
AFTER = 0.12  # share of the budget kept for what follows the search: explanations, report, saving
BUDGET_REFERENCE_COLUMNS = 100  # under a budget, the input columns monitoring watches: those that matter most
PROFILE_SHARE = 0.25  # of the budget left when profiling starts, the most a wide table's profile may take
MIN_SEARCH = 0.25  # the search gets at least this share of the budget, however long the reading took
SEARCH_COPIES = 7  # feature matrices' worth of memory the search holds at once (two folds, learners' data)
MIN_CLASS_ROWS = 3
MIN_FIT_ROWS = 2  # without a holdout: enough for two cross-validation folds
MIN_FIT_CLASS_ROWS = 2
REPORT_ROWS = 5000
EXPLAIN_ROWS = 2000
EXPLAIN_FIRST = 50  # rows explained before the time they take is known
EXPLAIN_SHARE = 0.5  # of the budget's time left, the most the mean contributions may take
DEPENDENCE_ROWS = 500
DEPENDENCE_COLUMNS = 4
LIBRARIES = ("lathe", "duckdb", "ibis-framework", "lightgbm", "xgboost-cpu", "catboost", "scikit-learn", "numpy",
             "pandas", "optuna")  # fmt: skip


@dataclass(frozen=True)
class _Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    y_train: np.ndarray
    y_holdout: np.ndarray
    classes: list[Any]
    unlabelled: int
    duplicates: int
    layout: Layout = field(default_factory=Layout)  # the training rows' weights, times or groups


@dataclass(frozen=True)
class _Roles:
    """The columns that say how rows relate: weight, time and group (see ``train``)."""

    weight: str | None = None
    time: str | None = None
    group: str | None = None


def train(
    source: str | Path | pd.DataFrame,
    target: str | None = None,
    *,
    table: str | None = None,
    query: str | None = None,
    budget: float | None = 60.0,
    trials: int | None = None,
    task: str | None = None,
    metric: str | None = None,
    seed: int = 0,
    keep_pii: bool = False,
    out: str | Path | None = None,
    verbose: bool = True,
    weight: str | None = None,
    holdout: float = HOLDOUT_SHARE,
    drop_duplicates: bool = True,
    max_rows: int | None = MAX_ROWS,
    keep_suspected_leaks: bool = False,
    time: str | None = None,
    group: str | None = None,
    memory_limit: float | None = None,
    max_latency_ms: float | None = None,
    max_size_mb: float | None = None,
    resume: str | Path | None = None,
    starts: Sequence[tuple[str, dict[str, Any]]] = (),
    engine: str = "auto",
    master: str | None = None,
) -> Bundle:
    """Train the best model for ``target`` from ``source``; save it to ``out``.

    ``source`` is a file or glob, a DataFrame, a database URI with ``table`` or ``query``, or a
    project file (``.toml``: several sources joined, and the target declared). ``budget`` is the
    wall-clock limit in seconds for the whole training, from reading the source to the saved
    report; ``trials`` caps the number of candidates: with ``budget=None``, the same data, seed
    and trials give the same bundle, byte for byte but for its time stamps and durations (the
    manifest's ``search.trials`` says how many a budgeted run reached). ``max_latency_ms`` (one
    row scored in process, as ``Bundle.predict_rows`` does) and ``max_size_mb`` (the saved model
    files) limit the winner and the blend; each candidate's are in the leaderboard. ``memory_limit``
    (GiB) bounds the rows the search compares candidates on; the winner is refitted on every
    row. ``weight`` names a column of non-negative row weights that every fit
    honours (it is not a feature). ``holdout`` is the share of rows kept back for the report's
    metrics; 0 fits on every row. Duplicate rows are dropped unless ``drop_duplicates`` is
    false. ``time`` names a column of instants (or sortable numbers): the holdout is then the
    latest rows, every fold learns from earlier rows than it is scored on, and a date column
    later than it is a suspected leak. ``group`` names a column of group labels (a customer, a
    patient): a group's rows then stay together, in the holdout or not and in one fold; it is
    not a feature. A table of more than ``max_rows`` rows is profiled whole but learnt from a random
    sample of about ``max_rows`` (``None``: every row), drawn where it lives and reported.
    Columns that look like label leaks (see ``lathe.features.find_leaks``) are reported, and
    the strong suspects left out unless ``keep_suspected_leaks``. Columns flagged as personal
    data are left out of the features unless ``keep_pii``. ``resume`` names a checkpoint folder:
    each trial of the search, the blend and each model refitted on every row is saved there as it
    ends, and a training killed at any moment, run again with the same arguments, goes on from
    there (with ``trials`` alone, to the bundle an uninterrupted run gives); the folder is removed
    once the bundle is made (see ``docs/training.md``). ``starts`` are configurations (family,
    parameters) the search tries first, before its portfolio: a warm start (``lathe retrain``). ``engine`` reads,
    profiles and samples the source: ``duckdb``, ``spark`` (a SparkSession at ``master``, default
    ``local[*]``) or ``auto`` (DuckDB, saying when the source is large enough for Spark). Returns
    the bundle (saved when ``out`` is given).
    """
    _check_limits(budget, trials)
    _check_holdout(holdout)
    _check_training(time, group, max_rows, memory_limit, (task, metric))
    _check_costs(max_latency_ms, max_size_mb)
    check_engine(engine, master)
    if out is not None:
        _check_bundle_out(Path(out))
    if resume is not None:
        _check_resume(Path(resume), out)
    target = _target_of(source, target)
    started = monotonic()
    _display.console.quiet = not verbose
    _display.status("reading the source")
    uri, rows = open_on(engine, master, source, table, query)
    try:
        _check_roles(list(rows.columns), target, _Roles(weight, time, group))  # the schema is free; profiling is not
        profile = _profiled(rows, uri, (target, weight, time, group), None if budget is None else started + budget)
        the_task = infer_task(profile.column(target), task)
        the_metric = metric_for(the_task, metric)
    except BaseException:
        close(rows)
        raise
    fraction = 1.0 if max_rows is None or profile.rows <= max_rows else max_rows / profile.rows
    read = rows.select(*profile.names) if profile.unprofiled else rows
    frame = to_frame(read if fraction == 1.0 else sampled(read, fraction, seed))
    if fraction < 1.0:
        _display.status(f"learning from a random sample of {len(frame):,} of the {profile.rows:,} rows (max_rows)")
    _display.status(
        f"{len(frame):,} rows, {len(frame.columns)} columns; task: {the_task.value}, metric: {the_metric.name}"
    )
    relations = _Roles(weight, time, group)
    split = _split(frame, target, the_task, seed, (holdout, drop_duplicates), relations)
    roles = tuple(name for name in (target, weight, group) if name is not None)
    leaks = _leaks(profile, split, roles, keep_pii, the_task, time)
    removed = {} if keep_suspected_leaks else {leak.column: leak.finding for leak in leaks if leak.strong}
    targets = encoding_targets(split.y_train, the_task, split.classes)
    plan = plan_features(profile, split.train, exclude=roles, keep_personal=keep_pii, leaks=removed, targets=targets)
    if plan.left_out:
        _display.status(f"left out of the features: {_left_out(plan)}")
    if plan.dropped:
        _display.status(
            f"dropped {len(plan.dropped)} redundant feature(s) (constant, duplicate or correlated): "
            + ", ".join(name for name, _ in plan.dropped[:8]) + (", ..." if len(plan.dropped) > 8 else "")
        )  # fmt: skip
    X = plan.training_matrix(split.train, targets, seed)
    if X.shape[1] == 0:
        raise TargetError(f"no column besides {target!r} can be used as a feature: {_left_out(plan)}")
    spec = SearchSpec(
        the_task, len(split.classes), the_metric, None, trials, seed,
        folds=min(len(X), 5 if len(X) <= 20_000 else 3), rows=_search_rows(X, memory_limit),
    )  # fmt: skip
    plan, X = _pruned(plan, X, split, spec)
    search_budget = (
        None if budget is None else max(MIN_SEARCH * budget, budget - (monotonic() - started) - AFTER * budget)
    )
    spec = dataclasses.replace(
        spec, budget=search_budget, max_latency_ms=max_latency_ms, max_size_mb=max_size_mb,
        plan_latency_ms=_plan_latency_ms(plan, split.train), starts=tuple(starts),
    )  # fmt: skip
    if len(X) > spec.rows:
        _display.status(f"comparing candidates on a sample of {spec.rows:,} of the {len(X):,} training rows")
    checkpoint = None if resume is None else _checkpoint(resume, X, split, spec)
    search_started = monotonic()
    with _display.SearchDisplay(search_budget, enabled=verbose) as display:
        board = run_search(X, split.y_train, spec, display, split.layout, checkpoint)
    _display.status(f"refitting the winner ({board.best.family}) on all {len(X):,} training rows")
    model = refit(board, X, split.y_train, spec, split.layout.weight, checkpoint)
    timings = {
        "first_model_seconds": search_started - started + board.candidates[0].elapsed_seconds,
        "search_seconds": board.candidates[-1].elapsed_seconds,
        "train_seconds": monotonic() - started,
    }
    fetched = (fingerprint(frame), len(frame))
    deadline = None if budget is None else started + budget
    bundle = _assemble(
        uri, fetched, profile, plan, model, board, split, spec, (target, relations), (timings, deadline), leaks
    )
    if out is not None:
        bundle.save(out)
        _display.status(f"saved the bundle to {out}; report: {Path(out) / 'report.html'}")
    if checkpoint is not None:
        checkpoint.remove()
    return bundle


def _check_resume(folder: Path, out: str | Path | None) -> None:
    """The checks on the checkpoint folder that need no data: a folder, writable, new or a checkpoint."""
    check_output_folder(folder, "--resume")
    check_checkpoint_folder(folder)
    if out is not None and Path(out).resolve() in (folder.resolve(), *folder.resolve().parents):
        raise InvalidParameterError(f"{folder}: is --out or in it (saving the bundle replaces it); keep it apart")


def _checkpoint(folder: str | Path, X: np.ndarray, split: _Split, spec: SearchSpec) -> Checkpoint:
    """The checkpoint in ``folder`` of this search, new or resumed (said in a status line)."""
    versions = {name: _version(name) for name in LIBRARIES}
    checkpoint = open_checkpoint(folder, X, split.y_train, spec, split.layout, versions)
    _display.status(
        f"resuming from {folder}: {checkpoint.progress()}" if checkpoint.trials else f"checkpointing to {folder}"
    )
    return checkpoint


def _plan_latency_ms(plan: FeaturePlan, rows: pd.DataFrame) -> float:
    """The milliseconds ``plan.transform_rows`` takes for one row as a client sends it (parsed JSON)."""
    sent = json.loads(rows[[c.name for c in plan.inputs]].head(1).to_json(orient="records", date_format="iso"))
    return median_ms(lambda: plan.transform_rows(sent))


def _profiled(rows: Any, uri: str, roles: tuple[str | None, ...], deadline: float | None) -> Profile:
    """The profile of ``rows``; under a budget ending at ``deadline``, of the role columns and
    as many others as ``PROFILE_SHARE`` of it allows (a wide table), the rest said and left out."""
    _display.status(f"profiling {uri}")
    until = None if deadline is None else deadline - (1 - PROFILE_SHARE) * (deadline - monotonic())
    profile = profile_table(rows, [name for name in roles if name is not None], until)
    if profile.unprofiled:
        done, left = len(profile.columns), len(profile.unprofiled)
        _display.warning(
            f"profiled {done:,} of the {done + left:,} columns within the budget; the other {left:,} are left out "
            "of the features (a larger --budget profiles them all)"
        )
    return profile


def predict(
    bundle: str | Path,
    source: str | Path | pd.DataFrame,
    out: str | Path | None = None,
    *,
    table: str | None = None,
    query: str | None = None,
    explain: bool = False,
    top: int = 3,
    log: str | None = None,
    log_table: str = LOG_TABLE,
) -> pd.DataFrame:
    """Score the table at ``source`` with the bundle at ``bundle``; write to ``out`` (.csv or .parquet).

    With ``explain``, each row also gets its contributions and ``top`` reason codes
    (see ``Bundle.explain``). ``log``: a prediction log (``duckdb:///FILE`` or
    ``postgresql://...``; see ``lathe.log``) that the rows scored are appended to, in its table
    ``log_table``, as the model named after the bundle's folder.
    """
    if out is not None:
        _check_output(Path(out))
    if explain and top < 0:
        raise InvalidParameterError(f"top must be a number of reason codes, 0 or more; got {top}")
    destination = Log(log, log_table) if log is not None else None
    model = load_bundle(bundle)
    writer = destination.writer(model, Path(bundle).resolve().name, None, wait=True) if destination else None
    try:
        frame = to_frame(open_table(source, table, query)[1])
        scored = model.explain(frame, top) if explain else model.predict(frame)
        if out is not None:
            write_table(scored, Path(out))
        if writer is not None:
            writer.append(scored, frame)
    finally:
        if writer is not None:
            writer.close()
    return scored


def profile(
    source: str | Path | pd.DataFrame,
    out: str | Path | None = "profile.html",
    *,
    table: str | None = None,
    query: str | None = None,
    engine: str = "auto",
    master: str | None = None,
) -> Profile:
    """Profile ``source`` in the engine that holds it; write the page to ``out`` (``None``: no page).

    ``engine`` and ``master`` as for ``train``: with ``spark``, the profile's aggregates run in Spark.
    """
    check_engine(engine, master)
    if out is not None:
        check_output_file(out)
    where, rows = open_on(engine, master, source, table, query)
    _display.status(f"profiling {where}")
    described = profile_in_detail(rows)
    close(rows)
    if out is not None:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        write_text(Path(out), render_profile(described.to_dict(), where, created))
    return described


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file beside it, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def explain_row(
    bundle: str | Path, source: str | Path, row: int, table: str | None = None, query: str | None = None
) -> tuple[Bundle, pd.Series, pd.Series]:
    """The bundle at ``bundle``, row ``row`` (counted from 0) of ``source``, and its explanation."""
    model, frame = load_bundle(bundle), to_frame(open_table(source, table, query)[1])
    if not 0 <= row < len(frame):
        raise InvalidParameterError(f"row must be between 0 and {len(frame) - 1}; got {row}")
    picked = frame.iloc[[row]].reset_index(drop=True)
    return model, picked.iloc[0], model.explain(picked, top=len(model.plan.inputs)).iloc[0]


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as CSV or Parquet by extension, whole or not at all."""
    _check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() == ".csv":
        frame.to_csv(partial, index=False)
    else:
        frame.to_parquet(partial, index=False)
    partial.replace(path)


def fingerprint(frame: pd.DataFrame) -> str:
    """A digest of a table's column names, types and values, for lineage."""
    digest = hashlib.sha256(repr([(str(n), str(t)) for n, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return f"sha256:{digest.hexdigest()[:32]}"


def _check_output(path: Path) -> None:
    check_output_file(path, (".csv", ".parquet"))


def _check_bundle_out(folder: Path) -> None:
    """The checks ``Bundle.save`` makes, and that its folder can be written, before the training."""
    check_output_folder(folder)
    check_bundle_folder(folder)


def _check_training(
    time: str | None, group: str | None, max_rows: int | None, memory_limit: float | None,
    chosen: tuple[str | None, str | None],
) -> None:  # fmt: skip
    """What ``train`` can check of its arguments before it reads a row."""
    if time is not None and group is not None:
        raise InvalidParameterError("give a time column or a group column, not both")
    if max_rows is not None and max_rows < MIN_ROWS:
        raise InvalidParameterError(f"max_rows must be at least {MIN_ROWS}, got {max_rows}")
    if memory_limit is not None and not memory_limit > 0:
        raise InvalidParameterError(f"memory_limit must be a positive number of GiB, got {memory_limit}")
    task, metric = chosen
    if task is not None and task not in {t.value for t in Task}:
        raise InvalidParameterError(f"task must be one of {', '.join(t.value for t in Task)}; got {task!r}")
    known = sorted({name for t in Task for name in metrics_for(t)})
    if task is None and metric is not None and not metric.startswith("cost") and metric not in known:
        raise InvalidParameterError(f"unknown metric {metric!r}; choose one of {', '.join(known)}, cost:FP,FN")
    if task is not None or (metric or "").startswith("cost"):
        metric_for(Task(task or Task.BINARY), metric)  # the metric fits the task; a cost has its two numbers


def _check_roles(columns: list[str], target: str, roles: _Roles) -> None:
    """Every column named for a role is in the table (its schema: known before any row is read)."""
    named = (("target", target), ("weight", roles.weight), ("time", roles.time), ("group", roles.group))
    for role, name in named:
        if name is not None and name not in columns:
            raise ColumnNotFoundError.for_name(name, columns, what=role)


def _leaks(
    profile: Profile, split: _Split, roles: tuple[str, ...], keep_pii: bool, task: Task, time: str | None
) -> list[Leak]:
    """The suspected label leaks among the usable columns, each said as a warning."""
    inputs = tuple(c for c in usable_inputs(profile, roles, keep_pii) if c.name != time)
    when = None if time is None else split.train[time].reset_index(drop=True)
    leaks = find_leaks(coerce_frame(split.train, inputs).reset_index(drop=True), split.y_train, task, roles[0], when)
    for leak in leaks:
        _display.warning(f"suspected leak: {leak.column} {leak.finding}")
    return leaks


def _target_of(source: str | Path | pd.DataFrame, target: str | None) -> str:
    if isinstance(source, str | Path) and is_project(str(source)):
        declared = read_project(source).target_column
        if target not in (None, declared):
            raise InvalidParameterError(
                f"{source} declares the target {declared!r}; leave out --target or make them agree"
            )
        return declared
    if target is None:
        raise InvalidParameterError("name the column to predict: --target COL (target= in Python)")
    return target


def _search_rows(X: np.ndarray, memory_limit: float | None) -> int:
    """The rows the search compares candidates on: at most ``SEARCH_ROWS``, and with a
    ``memory_limit`` (GiB), as many as ``SEARCH_COPIES`` feature matrices of them fit in it."""
    if memory_limit is None:
        return SEARCH_ROWS
    fitting = int(memory_limit * 2**30 / (SEARCH_COPIES * X.itemsize * max(1, X.shape[1])))
    if fitting < MIN_ROWS:
        raise InvalidParameterError(
            f"memory_limit {memory_limit} GiB holds too few rows of {X.shape[1]} features to search on; raise it"
        )
    return min(SEARCH_ROWS, fitting)


def _check_limits(budget: float | None, trials: int | None) -> None:
    if budget is None and trials is None:
        raise InvalidParameterError("give a budget in seconds or a number of trials (or both)")
    if budget is not None and not budget > 0:
        raise InvalidParameterError(f"budget must be a positive number of seconds, got {budget}")
    if trials is not None and trials < 1:
        raise InvalidParameterError(f"trials must be at least 1, got {trials}")


def _check_costs(max_latency_ms: float | None, max_size_mb: float | None) -> None:
    for name, limit, unit in (("max_latency_ms", max_latency_ms, "milliseconds"), ("max_size_mb", max_size_mb, "MB")):
        if limit is not None and not limit > 0:
            raise InvalidParameterError(f"{name} must be a positive number of {unit}, got {limit}")


def _check_holdout(holdout: float) -> None:
    if not 0 <= holdout < 1:
        raise InvalidParameterError(
            f"holdout must be a share of the rows from 0 up to (not including) 1, got {holdout}"
        )


def _left_out(plan: FeaturePlan, shown: int = 8) -> str:
    """The columns the plan left out, by reason: at most ``shown`` named for each."""
    by_reason: dict[str, list[str]] = {}
    for column, reason in plan.left_out:
        by_reason.setdefault(reason.split(":")[0], []).append(column)
    said = [
        f"{why}: {', '.join(names[:shown])}" + (f" and {len(names) - shown:,} more" if len(names) > shown else "")
        for why, names in by_reason.items()
    ]
    return "; ".join(said) or "no other columns"


def holdout_rows(
    frame: pd.DataFrame, target: str, task: Task, *, seed: int = 0, holdout: float = HOLDOUT_SHARE,
    drop_duplicates: bool = True, weight: str | None = None, time: str | None = None, group: str | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[Any]]:  # fmt: skip
    """The rows ``train`` keeps back as its holdout when it learns ``task`` from every row of
    ``frame`` with these settings, their target (class codes, or numbers for regression) and the
    classes: so that other models can be scored on the very rows the trained one was."""
    split = _split(frame, target, task, seed, (holdout, drop_duplicates), _Roles(weight, time, group))
    return split.holdout, split.y_holdout, split.classes


def _split(frame: pd.DataFrame, target: str, task: Task, seed: int, rules: tuple[float, bool], roles: _Roles) -> _Split:
    holdout, deduplicate = rules
    labelled = frame[frame[target].notna()]
    known = (labelled.drop_duplicates() if deduplicate else labelled).reset_index(drop=True)
    minimum = MIN_ROWS if holdout else MIN_FIT_ROWS
    if len(known) < minimum:
        raise TargetError(f"only {len(known)} rows have a value for {target!r}; at least {minimum} are needed")
    dropped = (len(frame) - len(labelled), len(labelled) - len(known))
    layout = Layout(
        weight=None if roles.weight is None else _weights(known[roles.weight]),
        time=None if roles.time is None else _instants(known[roles.time]),
        group=None if roles.group is None else _groups(known[roles.group]),
    )
    if task is Task.REGRESSION:
        y = known[target].to_numpy(dtype="float64")
        return _holdout(known, (y, layout), [], None, seed, dropped, holdout)
    classes, codes = _encode(known[target], MIN_CLASS_ROWS if holdout else MIN_FIT_CLASS_ROWS)
    return _holdout(known, (codes, layout), classes, codes, seed, dropped, holdout)


def _instants(column: pd.Series) -> np.ndarray:
    """A time column as sortable numbers: numbers as they are, anything else read as instants."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
    else:
        stamps = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
        values = np.where(stamps.isna(), np.nan, stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64))
    unreadable = np.flatnonzero(~np.isfinite(values))
    if len(unreadable):
        raise InvalidParameterError(
            f"time column {column.name!r} has no readable time in {len(unreadable):,} labelled row(s) "
            f"(the first: {column.iloc[unreadable[0]]!r}); fill them in or drop those rows"
        )
    return values


def _groups(column: pd.Series) -> np.ndarray:
    codes = pd.factorize(column.astype(str).where(column.notna(), None), use_na_sentinel=True)[0]
    if (codes < 0).any():
        raise InvalidParameterError(
            f"group column {column.name!r} is missing in {int((codes < 0).sum()):,} labelled row(s); "
            "give every row its group or drop those rows"
        )
    if codes.max() < 1:
        raise InvalidParameterError(f"group column {column.name!r} has one group only; folds need two or more")
    return codes


def _weights(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InvalidParameterError(
            f"weight column {column.name!r} must hold a non-negative number in every labelled row; fix or drop the rows"
        )
    if not values.sum() > 0:
        raise InvalidParameterError(f"weight column {column.name!r} is zero in every row; give some rows weight")
    return values


def _encode(labels: pd.Series, minimum: int) -> tuple[list[Any], np.ndarray]:
    values, codes = np.unique(labels.to_numpy(dtype=object), return_inverse=True)
    counts = np.bincount(codes)
    rare = [str(values[i]) for i in np.flatnonzero(counts < minimum)]
    if rare:
        raise TargetError(
            f"class(es) {', '.join(rare[:10])} of the target have fewer than {minimum} rows; "
            "remove those rows or merge the classes"
        )
    return [v.item() if hasattr(v, "item") else v for v in values], codes


def _holdout(
    frame: pd.DataFrame, labels: tuple[np.ndarray, Layout], classes: list[Any],
    strata: np.ndarray | None, seed: int, dropped: tuple[int, int], share: float,
) -> _Split:  # fmt: skip
    """Keep back ``share`` of the rows: the latest by time, whole groups, or a (stratified) random draw."""
    y, layout = labels
    index = np.arange(len(frame))
    if not share:
        train, hold = index, index[:0]
    elif layout.time is not None:
        order = np.argsort(layout.time, kind="stable")
        cut = len(index) - max(1, round(share * len(index)))
        train, hold = np.sort(order[:cut]), np.sort(order[cut:])
    elif layout.group is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
        train, hold = next(splitter.split(index, groups=layout.group))
        train, hold = np.sort(train), np.sort(hold)
    else:
        train, hold = train_test_split(index, test_size=share, random_state=seed, stratify=strata)
        train, hold = np.sort(train), np.sort(hold)
    return _Split(frame.iloc[train], frame.iloc[hold], y[train], y[hold], classes, *dropped, layout.picked(train))


def _assemble(
    uri: str, fetched: tuple[str, int], profile: Profile, plan: FeaturePlan, model: Model, board: Leaderboard,
    split: _Split, spec: SearchSpec, roles: tuple[str, _Roles], clock: tuple[dict[str, float], float | None],
    leaks: list[Leak],
) -> Bundle:  # fmt: skip
    target, relations = roles
    timings, deadline = clock
    raw = model.predict(plan.transform(split.holdout)) if len(split.holdout) else None
    scored = {**metrics_for(spec.task), spec.metric.name: spec.metric}
    threshold = board.threshold
    holdout = {} if raw is None else {name: m(split.y_holdout, raw, threshold) for name, m in scored.items()}
    if holdout:
        _display.status("holdout: " + ", ".join(f"{k}={v:.4f}" for k, v in holdout.items()))
    ids = [c.name for c in profile.columns if c.semantic_type.value == "identifier" and c.name not in roles]
    manifest = {
        "lathe_version": _version("lathe"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "task": spec.task.value,
        "target": target,
        "classes": split.classes,
        "ids": ids,
        "inputs": _inputs(plan),
        "left_out": plan.to_dict()["left_out"],
        "leakage": [leak.to_dict() for leak in leaks],
        "metric": spec.metric.name,
        "threshold": threshold,
        "metrics": {"cv": {spec.metric.name: board.best.cv_score}, "holdout": holdout},
        "model": {"family": board.best.family, "params": board.best.params, "rounds": board.best.rounds},
        "search": {"seed": spec.seed, "trials": board.trials, "timed_out": board.timed_out},
        "data": {
            "source": uri,
            "fingerprint": fetched[0],
            "rows": profile.rows,
            "fetched_rows": fetched[1],
            "train_rows": len(split.train),
            "search_rows": min(len(split.train), spec.rows),
            "holdout_rows": len(split.holdout),
            "unlabelled_rows": split.unlabelled,
            "duplicate_rows_dropped": split.duplicates,
            "weight": relations.weight,
            "time": relations.time,
            "group": relations.group,
        },
        "profile": profile.to_dict(),
        "explanations": _global_explanations(plan, model, split, spec, (target, deadline)),
        "libraries": {name: _version(name) for name in LIBRARIES} | {"python": platform.python_version()},
        "timings": timings,
    }
    watched = None if deadline is None else BUDGET_REFERENCE_COLUMNS
    manifest["monitoring"] = _monitoring(manifest, plan, (model, split, raw), spec.seed, watched)
    report = render_report(_report_data(manifest, plan, board, split, raw, spec.metric))
    kept = split.holdout if len(split.holdout) else split.train
    sample = coerce_frame(kept.head(SAMPLE_ROWS), plan.inputs).reset_index(drop=True)
    return Bundle(manifest=manifest, plan=plan, model=model, leaderboard=board, report_html=report, sample=sample)


def _inputs(plan: FeaturePlan) -> list[dict[str, Any]]:
    categories = plan.categories()
    return [c.to_dict() | ({"categories": categories[c.name]} if c.name in categories else {}) for c in plan.inputs]


def _pruned(plan: FeaturePlan, X: np.ndarray, split: _Split, spec: SearchSpec) -> tuple[FeaturePlan, np.ndarray]:
    """The plan and training matrix less the features that helped no fold (``useless_features``)."""
    _display.status("screening the features out of fold")
    useless = useless_features(X, split.y_train, spec, split.layout, plan.feature_names)
    if not useless:
        return plan, X
    _display.status(
        f"left out {len(useless)} feature(s) that added nothing out of fold: "
        + ", ".join(name for name, _ in useless[:8]) + (", ..." if len(useless) > 8 else "")
    )  # fmt: skip
    gone = {name for name, _ in useless}
    kept = [j for j, name in enumerate(plan.feature_names) if name not in gone]
    return plan.dropping(useless), X[:, kept]


def _global_explanations(
    plan: FeaturePlan, model: Model, split: _Split, spec: SearchSpec, ends: tuple[str, float | None]
) -> dict[str, Any]:
    """Mean contributions, permutation importance and partial dependence, on a holdout sample.

    Without a holdout the contributions and partial dependence use training rows, and there is
    no permutation importance (it would measure the fit, not the model). ``ends`` is the target's
    name and the budget's deadline, if any, which bounds the rows the mean contributions average
    and the columns shuffled for permutation importance (those that matter most first).
    """
    _display.status("explaining the model")
    target, deadline = ends
    rows_from, truth_from = (split.holdout, split.y_holdout) if len(split.holdout) else (split.train, split.y_train)
    rows = np.random.default_rng(spec.seed).permutation(len(rows_from))[:EXPLAIN_ROWS]
    sample, truth = rows_from.iloc[rows], truth_from[rows]
    importance = mean_contribution(_explained(Explainer(plan, model), sample, deadline))
    coerced = coerce_frame(sample, plan.inputs)  # once: the rows below are scored many times over
    predict = _pdp_output(plan, model, spec.task)
    names = [target] if spec.task is Task.REGRESSION else [str(c) for c in split.classes[spec.task is Task.BINARY :]]
    top = [d["column"] for d in importance[:DEPENDENCE_COLUMNS]]
    permutation = (
        permutation_importance(
            lambda frame: spec.metric.signed(spec.metric(truth, model.predict(plan.transform_coerced(frame)))),
            coerced, [d["column"] for d in importance], spec.seed,  # the columns that matter most first
            None if deadline is None else monotonic() + EXPLAIN_SHARE * max(0.0, deadline - monotonic()),
        )
        if len(split.holdout)
        else []
    )  # fmt: skip
    return {
        "importance": importance,
        "permutation": permutation,
        "partial_dependence": [
            partial_dependence(predict, coerced[:DEPENDENCE_ROWS], column, names)
            for i, column in enumerate(top)
            if i == 0 or deadline is None or monotonic() < deadline  # the budget spent: the first column only
        ],
    }


def _explained(explainer: Explainer, sample: pd.DataFrame, deadline: float | None) -> Explanation:
    """The explanation of ``sample``'s rows: all of them, or where the budget has a ``deadline``, as
    many as EXPLAIN_SHARE of the time left allows, judged by the first EXPLAIN_FIRST rows (a
    large forest's exact contributions take milliseconds a row)."""
    started = monotonic()
    first = explainer.explain(sample[:EXPLAIN_FIRST])
    if deadline is None or len(sample) <= EXPLAIN_FIRST:
        rest = len(sample)
    else:
        per_row = (monotonic() - started) / EXPLAIN_FIRST
        rest = EXPLAIN_FIRST + int(max(0.0, EXPLAIN_SHARE * (deadline - monotonic())) / max(per_row, 1e-9))
    if rest <= EXPLAIN_FIRST:
        return first
    more = explainer.explain(sample[EXPLAIN_FIRST:rest])
    return Explanation(first.columns, np.concatenate([first.base, more.base]),
                       np.concatenate([first.values, more.values]))  # fmt: skip


def _pdp_output(plan: FeaturePlan, model: Model, task: Task) -> Callable[[pd.DataFrame], np.ndarray]:
    def output(frame: pd.DataFrame) -> np.ndarray:
        raw = model.predict(plan.transform_coerced(frame))
        return raw[:, 1:] if task is Task.BINARY else raw

    return output


def _report_data(
    manifest: dict[str, Any],
    plan: FeaturePlan,
    board: Leaderboard,
    split: _Split,
    raw: np.ndarray | None,
    metric: Metric,
) -> dict[str, Any]:
    task, kept = Task(manifest["task"]), set(plan.feature_names)
    return {
        "title": f"{manifest['target']} — {task.value}{'' if task is Task.REGRESSION else ' classification'}",
        "task": task.value,
        "target": manifest["target"],
        "created": manifest["created"],
        "source": manifest["data"]["source"],
        "lathe_version": manifest["lathe_version"],
        "metric": metric.name,
        "data": {**manifest["data"], "columns": _column_rows(manifest)},
        "features": [
            {"column": step.column, "transform": step.described, "features": [n for n in step.outputs if n in kept]}
            for step in plan.steps
        ],
        "dropped": [{"feature": name, "reason": reason} for name, reason in plan.dropped],
        "leakage": [{**leak, "fate": _fate(leak, manifest)} for leak in manifest["leakage"]],
        "leaderboard": [{**row, "learner": row["family"]} for row in board.rows()],
        "greater_is_better": metric.greater_is_better,
        "holdout": manifest["metrics"]["holdout"],
        "interval": None if raw is None else _interval(metric, split, raw, manifest["threshold"]),
        "baseline": None if raw is None else _baseline(task, split, metric),
        "evaluation": {} if raw is None else _evaluation(task, split, raw, manifest["threshold"]),
        **manifest["explanations"],
        "notes": _notes(manifest, len(plan.dropped)),
        "limits": {"max_latency_ms": board.max_latency_ms, "max_size_mb": board.max_size_mb},
    }


def _fate(leak: dict[str, Any], manifest: dict[str, Any]) -> str:
    if leak["column"] in {item["column"] for item in manifest["left_out"]}:
        return "left out"
    return "kept" if leak["strong"] else "reported only"


def _notes(manifest: dict[str, Any], dropped: int = 0) -> list[str]:
    """The report's warnings, the gravest first: leaks, personal data, columns left out, then the rows."""
    data, notes = manifest["data"], []
    for leak in manifest["leakage"]:
        notes.append(f"Suspected leak ({_fate(leak, manifest)}): {leak['column']} {leak['finding']}.")
    notes.extend(_left_out_notes(manifest))
    if dropped:
        notes.append(f"{dropped:,} feature(s) dropped as redundant or adding nothing out of fold (see Features).")
    if data["fetched_rows"] < data["rows"]:
        notes.append(f"lathe learnt from a random sample of {data['fetched_rows']:,} of the {data['rows']:,} rows.")
    if data["unlabelled_rows"]:
        notes.append(f"{data['unlabelled_rows']:,} rows have no value for the target and were left out.")
    if data["duplicate_rows_dropped"]:
        notes.append(f"{data['duplicate_rows_dropped']:,} duplicate rows were dropped before training.")
    if data["train_rows"] > data["search_rows"]:
        notes.append(
            f"The search compared candidates on a sample of {data['search_rows']:,} of the {data['train_rows']:,} "
            "training rows; the winner was refitted on all of them."
        )
    return notes


def _left_out_notes(manifest: dict[str, Any]) -> list[str]:
    """Personal data used or left out, and the other columns left out, by reason (leaks have their own note)."""
    used = {c["name"] for c in manifest["inputs"]}
    personal = {c["name"]: c["personal"]["kind"] for c in manifest["profile"]["columns"] if c.get("personal")}
    reasons: dict[str, list[str]] = {}
    for item in manifest["left_out"]:
        kind = item["reason"].split(":")[0].split(" (")[0]
        if kind != "suspected leak":
            reasons.setdefault(kind, []).append(item["column"])
    notes = []
    if kept := [f"{name} ({kind})" for name, kind in personal.items() if name in used]:
        notes.append(f"Personal data used as features (--keep-pii): {', '.join(kept)}.")
    if gone := [f"{name} ({personal[name]})" for name in reasons.pop("personal data", [])]:
        notes.append(f"Personal data left out of the features: {', '.join(gone)}; --keep-pii would use it.")
    if reasons:
        listed = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in reasons.items())
        notes.append(f"Left out of the features ({sum(map(len, reasons.values()))} columns, see Data): {listed}.")
    return notes


def _column_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    used = {c["name"] for c in manifest["inputs"]}
    reasons = {d["column"]: d["reason"] for d in manifest["left_out"]}
    rows = []
    for column in manifest["profile"]["columns"]:
        name = column["name"]
        reason = {manifest["target"]: "target", manifest["data"]["weight"]: "weight"}.get(name, reasons.get(name))
        rows.append({
            "name": name, "semantic_type": column["semantic_type"],
            "missing_share": 1 - column["present"] / max(1, column["rows"]), "distinct": column["distinct"],
            "used": name in used, "reason": reason,
        })  # fmt: skip
    return rows


def _evaluation(task: Task, split: _Split, raw: np.ndarray, threshold: float | None) -> dict[str, Any]:
    """What the report's holdout charts draw, from every holdout row (a scatter draws REPORT_ROWS)."""
    if task is Task.REGRESSION:
        return holdout_evaluation(task.value, split.y_holdout, raw, points=REPORT_ROWS)
    labels = np.array([str(c) for c in split.classes])
    truth, decisions = labels[split.y_holdout], labels[decided(raw, threshold)]
    return holdout_evaluation(task.value, truth, decisions, raw, labels.tolist())


def _interval(metric: Metric, split: _Split, raw: np.ndarray, threshold: float | None) -> dict[str, Any] | None:
    """The bootstrap interval of the holdout ``metric``, computed as the holdout table's is."""
    return bootstrap_interval(
        lambda rows: metric(split.y_holdout[rows], raw[rows], threshold), len(split.y_holdout),
        classes=raw.shape[1] if raw.ndim > 1 else 1,
    )  # fmt: skip


def _baseline(task: Task, split: _Split, metric: Metric) -> dict[str, Any]:
    """The holdout metrics of a model that learns nothing but the training target's mean or class shares."""
    weight, y = split.layout.weight, split.y_train
    if task is Task.REGRESSION:
        mean = float(np.average(y, weights=weight))
        constant: np.ndarray = np.full(len(split.y_holdout), mean)
        name, described = "mean", f"predicts the training mean, {mean:.4g}, for every row"
    else:
        counts = np.bincount(y, weights=weight, minlength=len(split.classes))
        shares = counts / counts.sum()
        constant = np.tile(shares, (len(split.y_holdout), 1))
        most = split.classes[int(np.argmax(shares))]
        name, described = "class prior", f"gives every row the training share of each class, so decides {most}"
    scored = {**metrics_for(task), metric.name: metric}
    holdout = {key: scorer(split.y_holdout, constant) for key, scorer in scored.items()}
    return {"name": name, "described": described, "holdout": holdout}


def monitor(
    model: Bundle | str | Path, current: str | Path | pd.DataFrame, *, table: str | None = None,
    query: str | None = None, out: str | Path | None = "drift.html", thresholds: Sequence[str] | None = None,
    sample_rows: int = MONITOR_SAMPLE_ROWS, seed: int = 0, title: str | None = None,
) -> DriftReport:  # fmt: skip
    """The drift of the table at ``current`` from the reference ``model`` (a bundle or its
    folder) stored at training, measured where the table lives; see ``docs/monitoring.md``.

    ``thresholds`` sets some by hand: ``COL=VALUE`` (the column's PSI) or ``COL:MEASURE=VALUE``.
    The outputs are measured on a random sample of ``sample_rows`` rows. With ``out`` (.html),
    the page is written there and the report as JSON beside it (``.json``); nothing is
    written when the input is bad.
    """
    if out is not None:
        check_output_file(out, (".html",))  # its JSON goes beside it
    bundle = model if isinstance(model, Bundle) else load_bundle(model)
    if sample_rows < 1:
        raise InvalidParameterError(f"sample_rows must be at least 1, got {sample_rows}")
    overrides = parse_overrides(thresholds or [])
    reference = _reference_of(bundle, title or str(model))
    where, rows = open_table(current, table, query)
    report = measure_drift(reference, rows, where, bundle.predict, overrides, sample_rows, seed)
    if out is not None:
        data = report.to_dict()
        heading = f"Drift of {bundle.manifest['target']} model {title or ''}".rstrip()
        write_text(Path(out).with_suffix(".json"), json.dumps(data, indent=1, default=str))
        write_text(Path(out), render_drift(data, heading))
    return report


def monitor_log(
    model: Bundle | str | Path, log: str, *, log_table: str = LOG_TABLE, by: str = "week",
    labels: str | Path | pd.DataFrame | None = None, id_column: str | None = None, table: str | None = None,
    query: str | None = None, out: str | Path | None = "monitor.html", thresholds: Sequence[str] | None = None,
    sample_rows: int = MONITOR_SAMPLE_ROWS, seed: int = 0, title: str | None = None,
) -> LogReport:  # fmt: skip
    """The drift of ``model``'s rows in the prediction log ``log`` (its table ``log_table``) per
    window of ``by`` (day, week, month), measured where the log lives; with ``labels`` (a source,
    ``table``/``query`` picking its rows) joined by ``id_column``, the performance per window,
    and for classification its estimate from the probabilities. ``out`` (.html) and its JSON as
    for ``monitor``; see ``docs/monitoring.md``."""
    if out is not None:
        check_output_file(out, (".html",))
    if labels is None and (id_column or table or query):
        raise InvalidParameterError("--id, --table and --query with --log describe the labels; give --labels SOURCE")
    if labels is not None and not id_column:
        raise InvalidParameterError("--labels needs --id COL: the column that ties a label to a logged row")
    if sample_rows < 1:
        raise InvalidParameterError(f"sample_rows must be at least 1, got {sample_rows}")
    bundle = model if isinstance(model, Bundle) else load_bundle(model)
    overrides = parse_overrides(thresholds or [])
    reference = _reference_of(bundle, title or str(model))
    check_overrides(overrides, [b.name for b in (*reference.columns, *reference.predictions)] + ["overall"])
    keyed = None if labels is None else _labels(labels, table, query, id_column or "", bundle.manifest["target"])
    where, rows = str(Log(log, log_table)), read(log, log_table)
    try:
        logged = model_rows(rows, checksum(bundle), where, _logged_columns(bundle, reference), by)
        joined = None if keyed is None else join_labels(logged, ibis.memtable(keyed[1]), id_column or "", keyed[0])
        _display.status(f"{where}: {logged.rows:,} rows of this model in {len(logged.windows)} {by}(s)")
        total, windows = measure_windows(reference, logged, where, by, overrides)
        measured = None
        if keyed is not None and joined is not None:
            measured = performance(joined, logged, bundle.manifest, by, keyed[0], sample_rows, seed)
    finally:
        close(rows)
    report = LogReport(where, by, total.to_dict(), tuple(windows), measured, logged.others)
    if out is not None:
        data = report.to_dict()
        heading = f"Monitoring of {bundle.manifest['target']} model {title or ''}".rstrip()
        write_text(Path(out).with_suffix(".json"), json.dumps(data, indent=1, default=str))
        write_text(Path(out), render_log(data, heading))
    return report


def _labels(
    labels: str | Path | pd.DataFrame, table: str | None, query: str | None, id_column: str, target: str
) -> tuple[str, pa.Table]:  # fmt: skip
    """The labels' description and their ids and labels, two columns brought here to be joined to the log."""
    where, rows = open_table(labels, table, query)
    try:
        return where, fetch(keyed_labels(rows, id_column, target, where))
    finally:
        close(rows)


def _logged_columns(bundle: Bundle, reference: Reference) -> list[str]:
    """The columns a log of ``bundle`` holds that monitoring reads: the binned inputs and the outputs."""
    outputs = ["prediction"] + [f"probability_{c}" for c in bundle.classes]
    return [b.name for b in reference.columns] + outputs


def _reference_of(bundle: Bundle, label: str) -> Reference:
    stored = bundle.manifest.get("monitoring")
    if not stored:
        raise BundleError(
            f"{label}: this bundle has no monitoring reference (it was trained with an older lathe); "
            "train it again with this version of lathe to monitor it"
        )
    return Reference.from_dict(stored)


def _monitoring(
    manifest: dict[str, Any], plan: FeaturePlan, fitted: tuple[Model, _Split, np.ndarray | None], seed: int,
    watched: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The monitoring reference (``lathe.monitor``) of the labelled rows and of the model's
    outputs on the holdout (the training rows where there is none), as a JSON-ready dict; of at
    most ``watched`` input columns, those that matter most (a wide table under a budget)."""
    model, split, raw = fitted
    flagged = {c["name"]: c["personal"]["kind"] for c in manifest["profile"]["columns"] if c.get("personal")}
    skipped = {c.name: f"personal data ({flagged[c.name]}): its bin edges would be its values" for c in plan.inputs
               if c.name in flagged}  # fmt: skip
    ranked = [d["column"] for d in manifest["explanations"]["importance"] if d["column"] not in flagged]
    if watched is not None and len(ranked) > watched:
        skipped |= dict.fromkeys(ranked[watched:], f"not among the {watched} columns that matter most (a budget)")
    kinds = {c.name: c.kind for c in plan.inputs if c.name not in skipped}
    rows = coerce_frame(pd.concat([split.train, split.holdout]), plan.inputs)[list(kinds)].reset_index(drop=True)
    if raw is None:
        picked = split.train.iloc[np.random.default_rng(seed).permutation(len(split.train))[: REPORT_ROWS * 4]]
        raw = model.predict(plan.transform(picked))
    outputs, output_kinds = _outputs(Task(manifest["task"]), manifest["classes"], raw, manifest["threshold"])
    importance = {d["column"]: d["importance"] for d in manifest["explanations"]["importance"]}
    return build_reference(rows, kinds, outputs, output_kinds, importance, skipped, seed).to_dict()


def _outputs(
    task: Task, classes: list[Any], raw: np.ndarray, threshold: float | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The model's outputs as ``Bundle.predict`` names them, and their kinds."""
    if task is Task.REGRESSION:
        return pd.DataFrame({"prediction": raw}), {"prediction": "number"}
    labels = np.asarray([str(c) for c in classes], dtype=object)
    shown = classes[1:] if task is Task.BINARY else classes
    frame = pd.DataFrame({"prediction": labels[decided(raw, threshold)]})
    for label in shown:
        frame[f"probability_{label}"] = raw[:, classes.index(label)]
    return frame, {name: "string" if name == "prediction" else "number" for name in frame.columns}


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


__all__ = [
    "explain_row",
    "holdout_rows",
    "load_bundle",
    "monitor",
    "monitor_log",
    "predict",
    "profile",
    "train",
    "write_table",
    "write_text",
]
