"""The check every export passes before it is written: the bundle's own predictions and the
independent engine's, on the same rows, compared to a tolerance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lathe.bundle import Bundle
from lathe.errors import ExportError
from lathe.export._pipeline import Pipeline
from lathe.features import OneHot, TextVector

TOLERANCE = 1e-6  # probabilities: absolute; regression: relative to max(|value|, 1)
UNSEEN = "lathe-unseen-level"
EDGE_ROWS = 20  # rows copied per edge case: one input missing, a level never seen in training


def check_rows(pipeline: Pipeline, sample: pd.DataFrame) -> pd.DataFrame:
    """The bundle's sample plus edge cases built from its first rows: each input missing in
    turn, each category given a level never seen in training (and, where levels are compared
    case-folded, a known level in upper case), and each text of a text vector given its terms
    in other cases, between punctuation and letters outside ASCII, and words it never saw."""
    head = sample.head(EDGE_ROWS)
    edges = []
    for column in pipeline.inputs:
        blank = head.copy()
        blank[column.name] = None if column.kind == "string" else np.nan
        edges.append(blank)
    for step in pipeline.steps:
        if isinstance(step, OneHot):
            unseen = head.copy()
            unseen[step.column] = UNSEEN
            edges.append(unseen)
            if step.fold_case and step.levels:
                shouting = head.copy()
                shouting[step.column] = step.levels[0].upper()
                edges.append(shouting)
        if isinstance(step, TextVector):
            edges.append(_texts(head, step))
    rows = pd.concat([sample, *edges], ignore_index=True)
    for column in pipeline.inputs:  # concat may loosen a kind: put each back
        if column.kind == "datetime":
            rows[column.name] = pd.to_datetime(rows[column.name])
        elif column.kind in ("number", "boolean"):
            rows[column.name] = rows[column.name].astype("float64")
        else:
            rows[column.name] = rows[column.name].astype(object).where(rows[column.name].notna(), None)
    return rows


def _texts(head: pd.DataFrame, step: TextVector) -> pd.DataFrame:
    """``head`` with texts made of ``step``'s terms, written as a scorer may meet them."""
    terms = step.terms
    texts = []
    for r in range(len(head)):
        a, b, c = (terms[(r + k) % len(terms)] for k in range(3))
        texts.append(f"{a.upper()}, {b}!{a.title()}\u2014{c} caf\u00e9 \u212a{b} {UNSEEN} {a}-{a}{c} {c}{r}")
    return head.assign(**{step.column: texts})


def compare(bundle: Bundle, rows: pd.DataFrame, scored: pd.DataFrame, engine: str) -> dict[str, Any]:
    """Compare ``scored`` (``prediction`` and ``probability_<class>`` columns, from ``engine``)
    with the bundle's own predictions for ``rows``; raise ``ExportError`` where they differ."""
    native = bundle.predict(rows)
    if len(scored) != len(native):
        raise ExportError(f"{engine} scored {len(scored)} rows of {len(native)}; the export is not written")
    missing = [c for c in native.columns if c not in scored.columns]
    if missing:
        raise ExportError(f"{engine} gave no {', '.join(missing)}; the export is not written")
    if bundle.classes:
        columns = [c for c in native.columns if c.startswith("probability_")]
        diff = np.abs(scored[columns].to_numpy(dtype="float64") - native[columns].to_numpy(dtype="float64"))
        worst = float(diff.max())
        labels = np.asarray(scored["prediction"]).astype(str) != np.asarray(native["prediction"]).astype(str)
        wrong_labels = int(labels.sum())
        bad = worst > TOLERANCE or not np.isfinite(worst) or wrong_labels
        measure = {"max_abs_difference": worst, "labels_differing": wrong_labels}
    else:
        ours = native["prediction"].to_numpy(dtype="float64")
        diff = np.abs(scored["prediction"].to_numpy(dtype="float64") - ours) / np.maximum(np.abs(ours), 1.0)
        worst = float(diff.max())
        bad = worst > TOLERANCE or not np.isfinite(worst)
        measure = {"max_relative_difference": worst}
    if bad:
        row = int(np.argmax(np.nan_to_num(diff.reshape(len(rows), -1).max(axis=1), nan=np.inf)))
        raise ExportError(
            f"{engine} does not reproduce the bundle's predictions ({_said(measure)}; worst at checked row {row}, "
            f"tolerance {TOLERANCE:g}); the export is not written"
        )
    return {"engine": engine, "rows": len(rows), **measure, "tolerance": TOLERANCE}


def _said(measure: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:.3g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                     for k, v in measure.items())  # fmt: skip
