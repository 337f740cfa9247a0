"""The monitoring reference a bundle stores at training: what later tables are compared with.

Per raw input column its fixed bins and the training rows' counts in them (``lathe.monitor._bins``),
the same for the model's outputs on the holdout, the model's importance per column, and each
measure's threshold calibrated on chunks of those rows (``lathe.monitor._thresholds``).
Columns flagged as personal data get no bins: their cut points or levels would be their values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lathe.backends import close, read_frame
from lathe.monitor import _thresholds as rules
from lathe.monitor._bins import Bins, bins_of, count_rows
from lathe.monitor._measures import measured, shares

SCHEMA_VERSION = 1
CHUNKS = 20
MIN_CHUNK_ROWS = 50
KINDS = {"number": "number", "datetime": "datetime", "boolean": "boolean", "string": "category"}
_CHUNK = "__lathe_chunk"

Counted = tuple[np.ndarray, int | None]


@dataclass(frozen=True)
class Reference:
    """What monitoring compares against; see the module's docstring.

    ``columns`` and ``predictions`` hold the bins with the reference's counts; ``thresholds``
    holds under ``"columns"`` and ``"predictions"`` a rule per measure of each (see
    ``lathe.monitor._thresholds.threshold``), and under ``"overall"`` the rule of the
    importance-weighted score; ``importance`` is each
    binned input column's share of the model's importance; ``skipped`` says which inputs got no
    bins and why.
    """

    rows: int
    prediction_rows: int
    columns: tuple[Bins, ...]
    predictions: tuple[Bins, ...]
    importance: dict[str, float]
    thresholds: dict[str, Any]
    chunks: dict[str, int]
    skipped: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a schema version."""
        return {
            "schema_version": SCHEMA_VERSION,
            **dataclasses.asdict(self),
            "columns": [b.to_dict() for b in self.columns],
            "predictions": [b.to_dict() for b in self.predictions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        """The inverse of ``to_dict``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{
            **{k: v for k, v in data.items() if k in fields},
            "columns": tuple(Bins.from_dict(b) for b in data["columns"]),
            "predictions": tuple(Bins.from_dict(b) for b in data["predictions"]),
            "skipped": tuple(data.get("skipped", ())),
        })  # fmt: skip


def build_reference(
    inputs: pd.DataFrame, kinds: dict[str, str], predictions: pd.DataFrame, prediction_kinds: dict[str, str],
    importance: dict[str, float], skipped: dict[str, str], seed: int = 0,
) -> Reference:  # fmt: skip
    """The reference of the training rows ``inputs`` (coerced to their ``kinds``: number, datetime,
    boolean or string) and the model's outputs ``predictions`` on the holdout (columns as
    ``Bundle.predict`` names them, of ``prediction_kinds``). ``importance`` is the model's per
    raw column; ``skipped`` the inputs left without bins, with the reason."""
    columns = [bins_of(inputs[name], KINDS[kind], name) for name, kind in kinds.items()]
    outputs = [bins_of(predictions[name], KINDS[kind], name) for name, kind in prediction_kinds.items()]
    columns, column_chunks = _counted(inputs, columns, seed)
    outputs, output_chunks = _counted(predictions, outputs, seed)
    weights = _weights(importance, [b.name for b in columns])
    thresholds = {
        "columns": {b.name: _rules(b, [c[1][i] for c in column_chunks], column_chunks) for i, b in enumerate(columns)},
        "predictions": {
            b.name: _rules(b, [c[1][i] for c in output_chunks], output_chunks) for i, b in enumerate(outputs)
        },
        "overall": _overall_rule(columns, column_chunks, weights),
    }
    return Reference(
        rows=len(inputs), prediction_rows=len(predictions), columns=tuple(columns), predictions=tuple(outputs),
        importance=weights, thresholds=thresholds,
        chunks={"columns": len(column_chunks), "predictions": len(output_chunks)},
        skipped=tuple({"column": name, "reason": why} for name, why in skipped.items()),
    )  # fmt: skip


def _counted(frame: pd.DataFrame, columns: list[Bins], seed: int) -> tuple[list[Bins], list[tuple[int, list[Counted]]]]:
    """``columns`` with their counts in ``frame``'s rows, and the counts per random chunk of them."""
    if not columns or frame.empty:
        return columns, []
    chunks = min(CHUNKS, len(frame) // MIN_CHUNK_ROWS)
    labels = np.random.default_rng(seed).permutation(len(frame)) % max(chunks, 1)
    table = read_frame(frame[[b.name for b in columns]].assign(**{_CHUNK: labels}).reset_index(drop=True))
    try:
        per_chunk = count_rows(table, columns, by=_CHUNK)
    finally:
        close(table)
    totals = [sum(chunk[1][i][0] for chunk in per_chunk) for i in range(len(columns))]
    counted = [
        dataclasses.replace(b, counts=tuple(int(c) for c in total)) for b, total in zip(columns, totals, strict=True)
    ]
    return counted, per_chunk if chunks >= 2 else []


def _weights(importance: dict[str, float], names: list[str]) -> dict[str, float]:
    kept = {name: max(float(importance.get(name, 0.0)), 0.0) for name in names}
    total = sum(kept.values())
    if not total:
        return {name: 1.0 / len(names) for name in names} if names else {}
    return {name: value / total for name, value in kept.items()}


def _rules(bins: Bins, chunks: list[Counted], sizes: list[tuple[int, list[Counted]]]) -> dict[str, dict[str, Any]]:
    """The rule of every measure of ``bins`` from its counts in the reference's ``chunks``."""
    reference = np.array(bins.counts)
    m = int(reference.sum())
    rows = [size for size, _ in sizes]
    values = [measured(bins, reference, counts, None) for counts, _ in chunks]
    share = shares(reference)
    theory = {
        "psi": rules.psi_theory(len(reference)),
        "js": rules.js_theory(len(reference)),
        "missing": rules.missing_theory(reference[-1] / max(m, 1)),
    }
    floors = dict(rules.FLOOR)
    if bins.numeric:
        present = share[:-1] / share[:-1].sum()
        theory["wasserstein"] = rules.wasserstein_theory(np.cumsum(present)[:-1], np.diff(bins.centers))
        spread = float(np.sqrt(np.sum(present * (bins.centers - np.sum(present * bins.centers)) ** 2)))
        floors["wasserstein"] = rules.WASSERSTEIN_FLOOR * spread
    out = {
        measure: {**rules.calibrated([v[measure] or 0.0 for v in values], rows, m, measure, theory[measure]),
                  "floor": floors[measure]}
        for measure in theory
    }  # fmt: skip
    expected = _unseen_expected(bins, m - int(reference[-1]))
    if expected is not None:
        out["unseen"] = {"expected": expected, "floor": rules.FLOOR["unseen"]}
    return out


def _unseen_expected(bins: Bins, present: int) -> float | None:
    """The share of new rows expected to hold a value the reference never had (Good-Turing:
    the share of levels seen once; for numbers, beyond either extreme, 2 / present)."""
    if not present:
        return None
    if bins.numeric:
        return 2.0 / present if bins.low is not None else None
    if bins.known is None:
        return None
    return bins.singletons / present


def overall(columns: tuple[Bins, ...] | list[Bins], js: dict[str, float], weights: dict[str, float]) -> float:
    """The importance-weighted mean of the columns' Jensen-Shannon distances."""
    return float(sum(weights.get(b.name, 0.0) * js.get(b.name, 0.0) for b in columns))


def _overall_rule(
    columns: list[Bins], chunks: list[tuple[int, list[Counted]]], weights: dict[str, float]
) -> dict[str, Any]:  # fmt: skip
    m = sum(size for size, _ in chunks) or (int(sum(columns[0].counts)) if columns else 0)
    scores = []
    for _, counted in chunks:
        js = {
            b.name: measured(b, np.array(b.counts), c[0], None)["js"] or 0.0
            for b, c in zip(columns, counted, strict=True)
        }
        scores.append(overall(columns, js, weights))
    theory = sum(weights.get(b.name, 0.0) * rules.js_theory(len(b.counts)) for b in columns)
    rule = rules.calibrated(scores, [size for size, _ in chunks], m, "overall", theory)
    return {**rule, "floor": rules.FLOOR["overall"]}
