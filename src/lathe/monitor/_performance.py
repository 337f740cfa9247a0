"""A model's performance per window of its log: realised once labels arrive, estimated before.

Labels (an id column and the target, named as at training) are joined to the log by id where
the log lives; per window the engine counts the rows and those labelled, and draws a random
sample of at most ``sample_rows`` labelled rows and as many of all rows. Here, on the labelled
sample, the bundle's metrics (``lathe.search``'s own functions) with a bootstrap interval of its
metric; rows without a label are left out of it, and counted. For classification, on the sample
of all rows, the confidence-based estimate (as NannyML's CBPE): labels drawn from the model's
own probabilities, as many times as ``DRAWS``, scored like real ones: their mean is the
estimate, their middle 95 % its stated error. It holds as far as the probabilities are calibrated.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import numpy as np
import pandas as pd

from lathe.backends import fetch
from lathe.errors import ColumnNotFoundError, SchemaMismatchError
from lathe.monitor._logged import WINDOW, Logged, window_label
from lathe.profile import Task
from lathe.report import bootstrap_interval
from lathe.search import Metric, metric_for

DRAWS = 100
LEVEL = 0.95
MIN_LABELLED = 30  # fewer labelled rows in a window: no realised metric there yet
_ID, _LABEL, _HAS = "__lathe_id", "__lathe_label", "__lathe_has_label"
_PICK, _LABELLED = "__lathe_pick", "__lathe_pick_labelled"


def keyed_labels(labels: ibis.Table, id_column: str, target: str, where: str) -> ibis.Table:
    """The id (as text) and the label of each row of ``labels`` (the file or table ``where``)."""
    for name in (id_column, target):
        if name not in labels.columns:
            raise ColumnNotFoundError.for_name(name, list(labels.columns), what=f"a column of the labels {where}")
    return labels.select(**{_ID: labels[id_column].cast("string"), _LABEL: labels[target]})


def join_labels(logged: Logged, keyed: ibis.Table, id_column: str, where: str) -> ibis.Table:
    """``logged``'s rows with their label (``_LABEL``, NULL where none came) from ``keyed``
    (``keyed_labels`` of the labels ``where``) by ``id_column``."""
    if id_column not in logged.table.columns:
        raise ColumnNotFoundError.for_name(id_column, list(logged.table.columns), what="a column of the log")
    [counted] = fetch(keyed.aggregate(n=keyed.count(), ids=keyed[_ID].nunique())).to_pylist()
    if int(counted["n"]) != int(counted["ids"]):
        raise SchemaMismatchError(
            f"{where}: {int(counted['n']) - int(counted['ids']):,} label rows repeat an id of {id_column!r}; "
            "keep one label per id (the latest) and run again"
        )
    log = logged.table.mutate(**{_ID: logged.table[id_column].cast("string")})
    joined = log.left_join(keyed, _ID).drop(f"{_ID}_right")
    joined = joined.mutate(**{_HAS: joined[_LABEL].notnull()})
    if not fetch(joined.aggregate(n=joined[_HAS].sum())).to_pylist()[0]["n"]:
        raise SchemaMismatchError(
            f"{where}: none of its ids matches an id of the log's {logged.rows:,} rows; check --id and that "
            "the labels are of this model's rows"
        )
    return joined


def performance(
    joined: ibis.Table, logged: Logged, manifest: dict[str, Any], by: str, where: str,
    sample_rows: int, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Per window of ``logged`` its rows and labelled rows, the bundle's metrics on the labelled
    ones against the holdout's, and for classification the estimate from the probabilities."""
    scoring = _Scoring(manifest, where, seed)
    tallies = _tallies(joined)
    sample = _sample(joined, scoring.outputs, sample_rows)
    windows = []
    for start in logged.windows:
        tally = tallies.get(start.to_pydatetime(), {"rows": 0, "labelled": 0})
        entry = {"start": start.isoformat(), "label": window_label(start, by), **tally,
                 "unlabelled": tally["rows"] - tally["labelled"]}  # fmt: skip
        windows.append(entry | scoring.scored(sample[sample[WINDOW] == start]))
    return _summary(windows, manifest, scoring.primary, scoring.task)


class _Scoring:
    """The bundle's metrics, and how its logged outputs and the labels are read."""

    def __init__(self, manifest: dict[str, Any], where: str, seed: int) -> None:
        self.task, self.where, self.seed = Task(manifest["task"]), where, seed
        self.classes = [str(c) for c in manifest.get("classes") or []]
        self.primary, self.threshold = manifest["metric"], manifest["threshold"]
        self.holdout = (manifest["metrics"]["holdout"].get(self.primary), int(manifest["data"]["holdout_rows"]))
        names = list(manifest["metrics"]["holdout"]) or [self.primary]
        self.metrics = {name: metric_for(self.task, name) for name in names}
        regression = self.task is Task.REGRESSION
        self.outputs = ["prediction"] if regression else [f"probability_{c}" for c in self.classes]

    def scored(self, rows: pd.DataFrame) -> dict[str, Any]:
        """The realised metrics on the labelled ``rows``, the estimate on the picked ones, and whether worse."""
        known, every = rows[rows[_LABELLED]], rows[rows[_PICK]]
        truth = _truth(known, self.task, self.classes, self.where)
        realised = _realised(truth, self.predictions(known), self.metrics, self.primary, self.threshold)
        estimated = None
        if self.task is not Task.REGRESSION and not every.empty:
            estimated = _estimated(self.predictions(every), self.metrics[self.primary], self.threshold, self.seed)
        worse = _worse(realised, self.metrics[self.primary], self.holdout)
        return {"realised": realised, "estimated": estimated, "worse": worse}

    def predictions(self, rows: pd.DataFrame) -> np.ndarray:
        """The logged outputs as the metrics read them: numbers, or probabilities (rows x classes)."""
        if self.task is Task.REGRESSION:
            return rows["prediction"].to_numpy(dtype="float64")
        return rows[self.outputs].to_numpy(dtype="float64")


def _tallies(joined: ibis.Table) -> dict[Any, dict[str, int]]:
    query = joined.group_by(WINDOW).aggregate(rows=joined.count(), labelled=joined[_HAS].sum())
    return {r[WINDOW]: {"rows": int(r["rows"]), "labelled": int(r["labelled"] or 0)} for r in fetch(query).to_pylist()}


def _sample(joined: ibis.Table, outputs: list[str], most: int) -> pd.DataFrame:
    """At most ``most`` rows of each window (``_PICK``) and ``most`` of its labelled rows
    (``_HAS``, ``_LABELLED``), drawn at random where the log lives (fresh each run; the
    metrics on them are seeded)."""
    every = ibis.window(group_by=[joined[WINDOW]], order_by=ibis.random())
    labelled = ibis.window(group_by=[joined[WINDOW], joined[_HAS]], order_by=ibis.random())
    picked = joined.select(
        WINDOW, _HAS, _LABEL, *outputs,
        **{_PICK: ibis.row_number().over(every) < most, _LABELLED: ibis.row_number().over(labelled) < most},
    )  # fmt: skip
    frame: pd.DataFrame = fetch(picked.filter(picked[_PICK] | (picked[_HAS] & picked[_LABELLED]))).to_pandas()
    frame[WINDOW] = pd.to_datetime(frame[WINDOW])
    frame[_LABELLED] = frame[_HAS] & frame[_LABELLED]
    return frame


def _truth(rows: pd.DataFrame, task: Task, classes: list[str], where: str) -> np.ndarray:
    if task is Task.REGRESSION:
        numbers = pd.to_numeric(rows[_LABEL], errors="coerce")
        if numbers.isna().any():
            raise SchemaMismatchError(
                f"{where}: labels such as {rows[_LABEL][numbers.isna()].iloc[0]!r} are not numbers"
            )
        return numbers.to_numpy(dtype="float64")
    text = rows[_LABEL].astype(str).to_numpy()
    unknown = sorted(set(text) - set(classes))
    if unknown:
        raise SchemaMismatchError(
            f"{where}: labels {', '.join(map(repr, unknown[:5]))} are not classes of the model "
            f"({', '.join(classes)}); check the target column"
        )
    codes = {c: i for i, c in enumerate(classes)}
    return np.array([codes[t] for t in text], dtype="int64")


def _realised(
    truth: np.ndarray, pred: np.ndarray, metrics: dict[str, Metric], primary: str, threshold: float | None
) -> dict[str, Any] | None:  # fmt: skip
    if len(truth) < MIN_LABELLED:
        return None
    values = {name: _finite(m(truth, pred, threshold)) for name, m in metrics.items()}
    metric = metrics[primary]
    classes = pred.shape[1] if pred.ndim > 1 else 1
    interval = bootstrap_interval(lambda rows: metric(truth[rows], pred[rows], threshold), len(truth), classes=classes)
    return {"rows": len(truth), "metrics": values, "interval": interval}


def _estimated(proba: np.ndarray, metric: Metric, threshold: float | None, seed: int) -> dict[str, Any] | None:
    """The metric expected were the labels drawn from ``proba`` (CBPE), and its middle ``LEVEL``."""
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(proba / proba.sum(axis=1, keepdims=True), axis=1)
    values = []
    for _ in range(DRAWS):
        drawn = (rng.random((len(proba), 1)) > cumulative[:, :-1]).sum(axis=1)
        value = _finite(metric(drawn, proba, threshold))
        if value is not None:
            values.append(value)
    if len(values) < DRAWS // 2:
        return None
    low, high = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return {"value": float(np.mean(values)), "low": float(low), "high": float(high), "rows": len(proba)}


def _worse(realised: dict[str, Any] | None, metric: Metric, holdout: tuple[float | None, int]) -> bool:
    """Whether the window's metric is worse than the holdout's by more than both their noise: the
    window's interval half-width and the holdout's (the same, scaled to its rows), in quadrature."""
    value, rows = holdout
    interval = None if realised is None else realised["interval"]
    if realised is None or interval is None or value is None or not rows:
        return False
    half = (interval["high"] - interval["low"]) / 2
    allowed = half * math.sqrt(1 + realised["rows"] / rows)
    return bool(metric.signed(realised["metrics"][metric.name]) + allowed < metric.signed(value))


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _summary(windows: list[dict[str, Any]], manifest: dict[str, Any], primary: str, task: Task) -> dict[str, Any]:
    holdout = manifest["metrics"]["holdout"]
    rows, labelled = sum(w["rows"] for w in windows), sum(w["labelled"] for w in windows)
    worse = [w["label"] for w in windows if w["worse"]]
    awaiting = [w["label"] for w in windows if w["rows"] and w["realised"] is None]
    said = f"{labelled:,} of {rows:,} rows labelled"
    if worse:
        said += (
            f"; {primary} WORSE than the holdout's {holdout.get(primary, float('nan')):.4g} in {', '.join(worse[:4])}"
        )
    elif labelled:
        said += f"; {primary} within the holdout's {holdout.get(primary, float('nan')):.4g} everywhere labelled"
    if awaiting:
        said += f"; labels still to come in {len(awaiting)} window(s)"
    return {
        "metric": primary,
        "holdout": holdout,
        "rows": rows,
        "labelled": labelled,
        "awaiting": awaiting,
        "windows": windows,
        "verdict": said,
        "estimate": None
        if task is Task.REGRESSION
        else {
            "method": "CBPE: labels drawn from the model's own probabilities",
            "draws": DRAWS,
            "level": LEVEL,
            "calibration": "the probabilities as the model gives them: the bundle stores no calibration on its "
            "holdout, so the estimate holds as far as they are calibrated (a blend may be Platt-scaled out of fold)",
        },
    }
