"""Drift per time window of a prediction log, and the report of a log: drift, then performance.

The log's input columns and the outputs it logged are counted into the reference's bins by
aggregate queries grouped by window, run where the log lives (only windows x columns x bins
numbers come back); each window is then measured as ``lathe monitor --current`` measures a
table, against thresholds for its own number of rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from lathe.monitor._bins import count_groups
from lathe.monitor._drift import DriftReport, drift_of
from lathe.monitor._logged import WINDOW, Logged, window_label
from lathe.monitor._reference import Counted, Reference

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LogReport:
    """How a model's logged rows moved from the reference, window by window, and how it performed.

    ``total`` is the drift of every logged row of the model (``DriftReport.to_dict()``);
    ``windows`` per window its ``start``, ``label``, ``rows``, ``overall`` score, the names
    ``drifted`` and per column and output its ``measures``, ``thresholds``, ``past`` and
    ``current`` shares (empty windows have 0 rows and no measures). ``performance`` is
    ``lathe.monitor.performance``'s, or ``None`` without labels; ``others`` the rows of other
    versions of the model in the log, left out.
    """

    source: str
    by: str
    total: dict[str, Any]
    windows: tuple[dict[str, Any], ...]
    performance: dict[str, Any] | None = None
    others: tuple[dict[str, Any], ...] = ()

    @property
    def drifted(self) -> list[str]:
        """The windows with a measure past its threshold."""
        return [w["label"] for w in self.windows if w["drifted"]]

    @property
    def worse(self) -> list[str]:
        """The windows whose realised metric is worse than the holdout's past both their noise."""
        return [] if self.performance is None else [w["label"] for w in self.performance["windows"] if w["worse"]]

    @property
    def verdict(self) -> str:
        """One line: drift and performance, and in which windows."""
        rows, measured = self.total["rows"], sum(1 for w in self.windows if w["rows"])
        said = [f"{rows:,} rows logged in {measured} {self.by}(s)"]
        if self.drifted:
            first = next(w for w in self.windows if w["drifted"])
            said.append(
                f"DRIFT in {len(self.drifted)} of {measured} {self.by}(s), first in {first['label']}: "
                f"{_listed([n for n in first['drifted'] if n != 'overall'] or ['the overall score'])}"
            )
        else:
            said.append("no drift past the thresholds in any window")
        if self.performance is not None:
            said.append(self.performance["verdict"])
        return "; ".join(said)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a schema version, the verdict and the windows past a threshold."""
        return {
            "schema_version": SCHEMA_VERSION,
            "verdict": self.verdict,
            "drift": bool(self.drifted),
            "drifted": self.drifted,
            "worse": self.worse,
            **dataclasses.asdict(self),
        }


def _listed(names: list[str], most: int = 4) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def measure_windows(
    reference: Reference, logged: Logged, source: str, by: str, overrides: dict[str, float]
) -> tuple[DriftReport, list[dict[str, Any]]]:  # fmt: skip
    """The drift of every logged row (``logged`` described as ``source``) and of each window of
    ``by``, from one aggregate query per hundred columns, grouped by window."""
    outputs = [b for b in reference.predictions if b.name in logged.table.columns]
    width = len(reference.columns)
    grouped = count_groups(logged.table, [*reference.columns, *outputs], by=WINDOW)
    windows = []
    for start in logged.windows:
        label = window_label(start, by)
        rows, counted = grouped.get(start.to_pydatetime(), (0, []))
        if not rows:
            windows.append({"start": start.isoformat(), "label": label, "rows": 0, "overall": None, "drifted": []})
            continue
        report = drift_of(reference, (label, rows, rows), counted[:width], _paired(outputs, counted[width:]), overrides)
        windows.append(_window(start.isoformat(), report))
    total = _summed(list(grouped.values()))
    rows, counted = total
    whole = drift_of(reference, (source, rows, rows), counted[:width], _paired(outputs, counted[width:]), overrides)
    return whole, windows


def _paired(outputs: list[Any], counted: list[Counted]) -> list[tuple[Any, Counted]]:
    return list(zip(outputs, counted, strict=True))


def _summed(groups: list[tuple[int, list[Counted]]]) -> tuple[int, list[Counted]]:
    """The counts of every group together (an unseen count only where every group has one)."""
    rows = sum(g[0] for g in groups)
    columns = []
    for i in range(len(groups[0][1])):
        counts = np.sum([g[1][i][0] for g in groups], axis=0)
        unseen = [g[1][i][1] for g in groups]
        columns.append((counts, None if any(u is None for u in unseen) else sum(int(u or 0) for u in unseen)))
    return rows, columns


def _window(start: str, report: DriftReport) -> dict[str, Any]:
    keep = ("column", "measures", "thresholds", "past", "impact", "current")
    return {
        "start": start,
        "label": report.source,
        "rows": report.rows,
        "overall": report.overall,
        "drifted": report.drifted,
        "columns": [{k: c[k] for k in keep} for c in report.columns],
        "predictions": [{k: c[k] for k in keep} for c in report.predictions],
    }
