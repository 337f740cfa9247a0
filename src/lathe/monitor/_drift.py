"""Drift of a table against a bundle's reference, measured where the table lives.

The input columns are counted into the reference's bins by one aggregate query; the model's
outputs are measured on a bounded random sample of the rows, drawn where they live and scored
here (scoring needs the model). Every measure is checked against its threshold for the
table's size (``lathe.monitor._thresholds``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from lathe.backends import close, read_frame, sampled, to_frame
from lathe.errors import EmptySourceError
from lathe.monitor import _thresholds as rules
from lathe.monitor._bins import Bins, count_rows
from lathe.monitor._measures import measured
from lathe.monitor._reference import Counted, Reference, overall

SCHEMA_VERSION = 1
SAMPLE_ROWS = 20_000


@dataclass(frozen=True)
class DriftReport:
    """How far a table has moved from the reference, column by column.

    ``columns`` and ``predictions`` hold per column its ``measures``, their ``thresholds`` for
    this table's size, the measures ``past`` them, its ``importance`` and ``impact`` (importance
    times Jensen-Shannon distance), and the ``reference`` and ``current`` shares per bin
    (``labels``). ``overall`` is the importance-weighted score with its threshold.
    """

    source: str
    rows: int
    reference_rows: int
    sample_rows: int
    columns: tuple[dict[str, Any], ...]
    predictions: tuple[dict[str, Any], ...]
    overall: dict[str, Any]
    skipped: tuple[dict[str, str], ...] = ()

    @property
    def drifted(self) -> list[str]:
        """The columns and outputs past a threshold, the most important first; "overall" if the score is."""
        past = [c["column"] for c in sorted(self.columns, key=lambda c: -c["impact"]) if c["past"]]
        past += [p["column"] for p in self.predictions if p["past"]]
        return (["overall"] if self.overall["past"] else []) + past

    @property
    def verdict(self) -> str:
        """One line: drift or not, and where."""
        score = f"overall drift {self.overall['score']:.3f} (threshold {self.overall['threshold']:.3f})"
        drifted = self.drifted
        if not drifted:
            return f"no drift past the thresholds in {self.rows:,} rows; {score}"
        named = [name for name in drifted if name != "overall"]
        shown = ", ".join(named[:6]) + (f" and {len(named) - 6} more" if len(named) > 6 else "")
        return f"DRIFT in {self.rows:,} rows: {shown or 'the overall score'}; {score}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a schema version, the verdict and the drifted names."""
        return {
            "schema_version": SCHEMA_VERSION,
            "verdict": self.verdict,
            "drift": bool(self.drifted),
            "drifted": self.drifted,
            **dataclasses.asdict(self),
        }


def measure_drift(
    reference: Reference, table: ibis.Table, source: str, score: Callable[[pd.DataFrame], pd.DataFrame],
    overrides: dict[str, float] | None = None, sample_rows: int = SAMPLE_ROWS, seed: int = 0,
) -> DriftReport:  # fmt: skip
    """``table`` (described as ``source``) against ``reference``: its input columns in one
    aggregate query, and the outputs of ``score`` (``Bundle.predict``) on a random sample of
    at most ``sample_rows`` rows. ``overrides`` sets thresholds by hand (``parse_overrides``).
    The connection behind ``table`` is closed at the end."""
    overrides = overrides or {}
    rules.check_overrides(overrides, [b.name for b in (*reference.columns, *reference.predictions)] + ["overall"])
    try:
        [(rows, counted)] = count_rows(table, list(reference.columns))
        if rows == 0:
            raise EmptySourceError(f"{source}: holds no rows; there is nothing to compare with the reference")
        sample = _sample(table, rows, sample_rows, seed)
    except BaseException:
        close(table)
        raise
    scored = score(sample)
    outputs = [b for b in reference.predictions if b.name in scored.columns]
    return drift_of(reference, (source, rows, len(sample)), counted, _outputs_counted(outputs, scored), overrides)


def drift_of(
    reference: Reference, described: tuple[str, int, int], counted: list[Counted],
    outputs: list[tuple[Bins, Counted]], overrides: dict[str, float],
) -> DriftReport:  # fmt: skip
    """The report of rows ``described`` as (source, rows, scored sample rows) whose input columns
    counted ``counted`` in the reference's bins, and whose outputs ``outputs``."""
    source, rows, sample_rows = described
    columns = [
        column_entry(
            b, c, reference.thresholds["columns"].get(b.name, {}), overrides, reference.importance.get(b.name, 0.0)
        )
        for b, c in zip(reference.columns, counted, strict=True)
    ]
    js = {c["column"]: c["measures"]["js"] for c in columns}
    score_now = overall(reference.columns, js, reference.importance)
    limit = limit_for(reference.thresholds["overall"], overrides, "overall", "score", rows, reference.rows)
    predictions = [
        column_entry(b, c, reference.thresholds["predictions"].get(b.name, {}), overrides, 0.0) for b, c in outputs
    ]
    return DriftReport(
        source=source, rows=rows, reference_rows=reference.rows, sample_rows=sample_rows,
        columns=tuple(columns), predictions=tuple(predictions),
        overall={"score": score_now, "threshold": limit, "past": score_now > limit}, skipped=reference.skipped,
    )  # fmt: skip


def _sample(table: ibis.Table, rows: int, most: int, seed: int) -> pd.DataFrame:
    """At most ``most`` of ``table``'s ``rows``, drawn at random where they live (closes the connection)."""
    frame = to_frame(table if rows <= most else sampled(table, min(1.0, 1.2 * most / rows), seed))
    return frame.head(most).reset_index(drop=True)


def _outputs_counted(outputs: list[Bins], scored: pd.DataFrame) -> list[tuple[Bins, Counted]]:
    if not outputs:
        return []
    table = read_frame(scored[[b.name for b in outputs]])
    try:
        [(_, counted)] = count_rows(table, outputs)
    finally:
        close(table)
    return list(zip(outputs, counted, strict=True))


def column_entry(
    bins: Bins, counted: Counted, rules_of: dict[str, Any], overrides: dict[str, float],
    importance: float,
) -> dict[str, Any]:  # fmt: skip
    current, unseen = counted
    reference = np.array(bins.counts)
    values = measured(bins, reference, current, unseen)
    m, n = int(reference.sum()), int(current.sum())
    present = int(current[:-1].sum())
    checked = [
        k for k, v in values.items()
        if v is not None and (k in rules_of or rules.overridden(overrides, bins.name, k) is not None)
    ]  # fmt: skip
    rows_for = {k: present if k == "unseen" else n for k in checked}  # unseen: a share of the present values
    limits = {k: limit_for(rules_of.get(k, {}), overrides, bins.name, k, rows_for[k], m) for k in checked}
    return {
        "column": bins.name,
        "kind": bins.kind,
        "importance": importance,
        "impact": importance * float(values["js"] or 0.0),
        "measures": values,
        "thresholds": limits,
        "past": [k for k, limit in limits.items() if (values[k] or 0.0) > limit],
        "labels": bins.labels,
        "reference": (reference / max(m, 1)).tolist(),
        "current": (current / max(n, 1)).tolist(),
        "unseen_rows": unseen,
    }


def limit_for(rule: dict[str, Any], overrides: dict[str, float], name: str, measure: str, n: int, m: int) -> float:
    value = rules.overridden(overrides, name, measure)
    return rules.threshold({"value": value} if value is not None else rule, n, m)
