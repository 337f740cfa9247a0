"""The workflows that wire the stages: train, predict, load.

Each stage is a function from one plain value to the next; this module is the only
place that knows their order.
"""

from __future__ import annotations

import importlib.metadata
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lathe import _display
from lathe.backends import fingerprint, read_frame, read_source, to_frame
from lathe.bundle import Bundle, load_bundle
from lathe.errors import ColumnNotFoundError, InvalidParameterError, TargetError
from lathe.features import FeaturePlan, plan_features
from lathe.profile import Profile, Task, infer_task, profile_table
from lathe.report import render_report
from lathe.search import (
    FAMILIES,
    SEARCH_ROWS,
    Leaderboard,
    Metric,
    Model,
    SearchSpec,
    metric_for,
    metrics_for,
    run_search,
)

HOLDOUT_SHARE = 0.2
MIN_ROWS = 20
MIN_CLASS_ROWS = 3
MIN_FIT_ROWS = 2  # without a holdout: enough for two cross-validation folds
MIN_FIT_CLASS_ROWS = 2
REPORT_ROWS = 5000
LIBRARIES = ("lathe", "duckdb", "ibis-framework", "lightgbm", "scikit-learn", "numpy", "pandas", "optuna")


@dataclass(frozen=True)
class _Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    y_train: np.ndarray
    y_holdout: np.ndarray
    classes: list[Any]
    unlabelled: int
    w_train: np.ndarray | None = None


def train(
    source: str | Path | pd.DataFrame,
    target: str,
    *,
    budget: float | None = 60.0,
    trials: int | None = None,
    task: str | None = None,
    metric: str | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    verbose: bool = True,
    weight: str | None = None,
    holdout: float = HOLDOUT_SHARE,
) -> Bundle:
    """Train the best model for ``target`` from ``source`` (a file, a glob or a DataFrame); save it to ``out``.

    ``budget`` is the search's wall-clock limit in seconds; ``trials`` caps the number of
    candidates (for reproducible runs). ``weight`` names a column of non-negative row weights
    that every fit honours (it is not a feature). ``holdout`` is the share of rows kept back
    for the report's metrics; 0 fits on every row. Returns the bundle (saved when ``out`` is given).
    """
    _check_limits(budget, trials)
    _check_holdout(holdout)
    started = time.monotonic()
    _display.console.quiet = not verbose
    uri = f"a DataFrame of {len(source):,} rows" if isinstance(source, pd.DataFrame) else str(source)
    _display.status(f"reading {uri}")
    table = read_frame(source) if isinstance(source, pd.DataFrame) else read_source(uri)
    profile = profile_table(table)
    for role, name in (("target", target), ("weight", weight)):
        if name is not None and name not in profile.names:
            raise ColumnNotFoundError.for_name(name, profile.names, what=role)
    the_task = infer_task(profile.column(target), task)
    the_metric = metric_for(the_task, metric)
    frame = to_frame(table)
    _display.status(
        f"{len(frame):,} rows, {len(frame.columns)} columns; task: {the_task.value}, metric: {the_metric.name}"
    )
    split = _split(frame, target, the_task, seed, holdout, weight)
    plan = plan_features(profile, split.train, exclude=(target,) if weight is None else (target, weight))
    X = plan.transform(split.train)
    if X.shape[1] == 0:
        raise TargetError(f"no column besides {target!r} can be used as a feature: {_left_out(plan)}")
    spec = SearchSpec(
        the_task, len(split.classes), the_metric, budget, trials, seed, folds=min(len(X), 5 if len(X) <= 20_000 else 3)
    )
    search_started = time.monotonic()
    with _display.SearchDisplay(budget, enabled=verbose) as display:
        board = run_search(X, split.y_train, spec, display, weight=split.w_train)
    model = _refit(board, X, split, spec)
    timings = {
        "first_model_seconds": search_started - started + board.candidates[0].elapsed_seconds,
        "search_seconds": board.candidates[-1].elapsed_seconds,
        "train_seconds": time.monotonic() - started,
    }
    bundle = _assemble(uri, table, profile, plan, model, board, split, spec, (target, weight), timings)
    if out is not None:
        bundle.save(out)
        _display.status(f"saved the bundle to {out}; report: {Path(out) / 'report.html'}")
    return bundle


def predict(bundle: str | Path, source: str | Path, out: str | Path | None = None) -> pd.DataFrame:
    """Score the table at ``source`` with the bundle at ``bundle``; write to ``out`` (.csv or .parquet)."""
    if out is not None:
        _check_output(Path(out))
    scored = load_bundle(bundle).predict(to_frame(read_source(str(source))))
    if out is not None:
        write_table(scored, Path(out))
    return scored


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


def _check_output(path: Path) -> None:
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise InvalidParameterError(f"{path}: the output file must end in .csv or .parquet")


def _check_limits(budget: float | None, trials: int | None) -> None:
    if budget is None and trials is None:
        raise InvalidParameterError("give a budget in seconds or a number of trials (or both)")
    if budget is not None and not budget > 0:
        raise InvalidParameterError(f"budget must be a positive number of seconds, got {budget}")
    if trials is not None and trials < 1:
        raise InvalidParameterError(f"trials must be at least 1, got {trials}")


def _check_holdout(holdout: float) -> None:
    if not 0 <= holdout < 1:
        raise InvalidParameterError(
            f"holdout must be a share of the rows from 0 up to (not including) 1, got {holdout}"
        )


def _left_out(plan: FeaturePlan) -> str:
    return "; ".join(f"{column} ({reason.split(':')[0]})" for column, reason in plan.left_out) or "no other columns"


def _split(frame: pd.DataFrame, target: str, task: Task, seed: int, holdout: float, weight: str | None) -> _Split:
    known = frame[frame[target].notna()].reset_index(drop=True)
    minimum = MIN_ROWS if holdout else MIN_FIT_ROWS
    if len(known) < minimum:
        raise TargetError(f"only {len(known)} rows have a value for {target!r}; at least {minimum} are needed")
    unlabelled = len(frame) - len(known)
    weights = None if weight is None else _weights(known[weight])
    if task is Task.REGRESSION:
        y = known[target].to_numpy(dtype="float64")
        return _holdout(known, (y, weights), [], None, seed, unlabelled, holdout)
    classes, codes = _encode(known[target], MIN_CLASS_ROWS if holdout else MIN_FIT_CLASS_ROWS)
    return _holdout(known, (codes, weights), classes, codes, seed, unlabelled, holdout)


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
    frame: pd.DataFrame, labels: tuple[np.ndarray, np.ndarray | None], classes: list[Any],
    strata: np.ndarray | None, seed: int, unlabelled: int, share: float,
) -> _Split:  # fmt: skip
    y, weights = labels
    index = np.arange(len(frame))
    if share:
        train, hold = train_test_split(index, test_size=share, random_state=seed, stratify=strata)
        train, hold = np.sort(train), np.sort(hold)
    else:
        train, hold = index, index[:0]
    w_train = None if weights is None else weights[train]
    return _Split(frame.iloc[train], frame.iloc[hold], y[train], y[hold], classes, unlabelled, w_train)


def _refit(board: Leaderboard, X: np.ndarray, split: _Split, spec: SearchSpec) -> Model:
    best = board.best
    _display.status(f"refitting the winner ({best.family}) on all {len(X):,} training rows")
    params = {**best.params, **({"rounds": best.rounds} if best.rounds else {})}
    learner = FAMILIES[best.family]
    fit = learner.fit(
        X, split.y_train, spec.task, params, n_classes=spec.n_classes, seed=spec.seed, weight=split.w_train
    )
    return fit.model


def _assemble(
    uri: str, table: Any, profile: Profile, plan: FeaturePlan, model: Model, board: Leaderboard,
    split: _Split, spec: SearchSpec, roles: tuple[str, str | None], timings: dict[str, float],
) -> Bundle:  # fmt: skip
    target, weight = roles
    raw = model.predict(plan.transform(split.holdout)) if len(split.holdout) else None
    holdout = {} if raw is None else {name: m(split.y_holdout, raw) for name, m in metrics_for(spec.task).items()}
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
        "metric": spec.metric.name,
        "metrics": {"cv": {spec.metric.name: board.best.cv_score}, "holdout": holdout},
        "model": {"family": board.best.family, "params": board.best.params, "rounds": board.best.rounds},
        "data": {
            "source": uri,
            "fingerprint": fingerprint(table),
            "rows": profile.rows,
            "train_rows": len(split.train),
            "holdout_rows": len(split.holdout),
            "unlabelled_rows": split.unlabelled,
            "weight": weight,
        },
        "profile": profile.to_dict(),
        "importance": _importance(plan, model),
        "libraries": {name: _version(name) for name in LIBRARIES} | {"python": platform.python_version()},
        "timings": timings,
    }
    report = render_report(_report_data(manifest, board, split, raw, spec.metric))
    return Bundle(manifest=manifest, plan=plan, model=model, leaderboard=board, report_html=report)


def _inputs(plan: FeaturePlan) -> list[dict[str, Any]]:
    categories = plan.categories()
    return [c.to_dict() | ({"categories": categories[c.name]} if c.name in categories else {}) for c in plan.inputs]


def _importance(plan: FeaturePlan, model: Model) -> list[dict[str, Any]]:
    per_feature = model.importance()
    totals: dict[str, float] = {}
    for source, value in zip(plan.feature_sources, per_feature, strict=True):
        totals[source] = totals.get(source, 0.0) + float(value)
    grand = sum(totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return [{"column": column, "importance": value / grand} for column, value in ranked]


def _report_data(
    manifest: dict[str, Any], board: Leaderboard, split: _Split, raw: np.ndarray | None, metric: Metric
) -> dict[str, Any]:
    task = Task(manifest["task"])
    return {
        "title": f"{manifest['target']} — {task.value}{'' if task is Task.REGRESSION else ' classification'}",
        "task": task.value,
        "target": manifest["target"],
        "created": manifest["created"],
        "source": manifest["data"]["source"],
        "lathe_version": manifest["lathe_version"],
        "metric": metric.name,
        "data": {**manifest["data"], "columns": _column_rows(manifest)},
        "leaderboard": [{**row, "learner": row["family"]} for row in board.rows()],
        "holdout": manifest["metrics"]["holdout"],
        "evaluation": {} if raw is None else _evaluation(task, split, raw),
        "importance": manifest["importance"],
        "notes": _notes(manifest),
    }


def _notes(manifest: dict[str, Any]) -> list[str]:
    data, notes = manifest["data"], []
    if data["unlabelled_rows"]:
        notes.append(f"{data['unlabelled_rows']:,} rows have no value for the target and were left out.")
    if data["train_rows"] > SEARCH_ROWS:
        notes.append(
            f"The search compared candidates on a sample of {SEARCH_ROWS:,} of the {data['train_rows']:,} "
            "training rows; the winner was refitted on all of them."
        )
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


def _evaluation(task: Task, split: _Split, raw: np.ndarray) -> dict[str, Any]:
    rows = np.random.default_rng(0).permutation(len(split.y_holdout))[:REPORT_ROWS]
    if task is Task.REGRESSION:
        truth = split.y_holdout[rows]
        return {"classes": None, "y_true": truth.tolist(), "y_pred": raw[rows].tolist(), "proba": None}
    labels = [str(c) for c in split.classes]
    picked = raw[rows]
    return {
        "classes": labels,
        "y_true": [labels[i] for i in split.y_holdout[rows]],
        "y_pred": [labels[i] for i in np.argmax(picked, axis=1)],
        "proba": picked.tolist(),
    }


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


__all__ = ["load_bundle", "predict", "train", "write_table"]
