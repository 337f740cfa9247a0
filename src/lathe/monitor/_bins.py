"""Fixed bins of one column, and their counts by aggregate queries where the rows live.

A number or a date gets ``QUANTILE_BINS`` bins cut at the reference's quantiles (dates as
seconds since 1970), a category its ``MAX_LEVELS`` most frequent levels and "other", a boolean
false and true; every column also has a last bin for missing values. Counting a table's rows
into them is one ``aggregate`` of conditional sums, per column a handful: no row leaves the engine.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from lathe.backends import fetch
from lathe.errors import SchemaMismatchError

COLUMNS_PER_QUERY = 100

QUANTILE_BINS = 10
MAX_LEVELS = 20
MAX_KNOWN = 1000  # every level seen is kept (to tell unseen ones) up to this many
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "?", "-")  # as lathe.features reads them
BIN_KINDS = ("number", "datetime", "category", "boolean")


@dataclass(frozen=True)
class Bins:
    """The bins of one column and the reference's counts in them (the missing bin last).

    ``edges`` are the cut points of a number or date (a value ``x`` is in bin ``j`` when
    ``edges[j-1] <= x < edges[j]``), ``low`` and ``high`` its reference's extremes; ``levels``
    the categories kept (then "other"); ``known`` every level the reference had, or ``None``
    when it had more than ``MAX_KNOWN``; ``singletons`` how many levels it saw once.
    """

    name: str
    kind: str
    counts: tuple[int, ...] = ()
    edges: tuple[float, ...] = ()
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()
    known: tuple[str, ...] | None = None
    singletons: int = 0

    @property
    def numeric(self) -> bool:
        """Whether the bins are ranges of numbers (numbers and dates)."""
        return self.kind in ("number", "datetime")

    @property
    def labels(self) -> list[str]:
        """A short label per bin, the missing bin last."""
        if not self.numeric:
            return [*self.levels, "other", "missing"]
        cuts = [_shown(e, self.kind) for e in self.edges]
        if not cuts:
            return ["all", "missing"]
        middle = [f"{a} to {b}" for a, b in itertools.pairwise(cuts)]
        return [f"< {cuts[0]}", *middle, f">= {cuts[-1]}", "missing"]

    @property
    def centers(self) -> np.ndarray:
        """The middle of each range bin (not the missing bin), the outer ones reaching to ``low`` and ``high``."""
        low = self.low if self.low is not None else 0.0
        high = self.high if self.high is not None else low
        points = np.array([low, *self.edges, high], dtype="float64")
        middles: np.ndarray = (points[:-1] + points[1:]) / 2
        return middles

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bins:
        """The inverse of ``to_dict``."""
        known = data.get("known")
        return cls(**{
            **data, "counts": tuple(data["counts"]), "edges": tuple(data.get("edges", ())),
            "levels": tuple(data.get("levels", ())), "known": None if known is None else tuple(known),
        })  # fmt: skip


def bins_of(values: pd.Series, kind: str, name: str) -> Bins:
    """The bins of a column from its reference ``values`` (coerced to ``kind``: number,
    datetime, string or boolean, as ``lathe.features.coerce_frame`` leaves them); no counts yet."""
    if kind in ("number", "datetime"):
        numbers = _seconds(values) if kind == "datetime" else values.to_numpy(dtype="float64", na_value=np.nan)
        numbers = numbers[np.isfinite(numbers)]
        if not len(numbers):
            return Bins(name, kind)
        cuts = np.quantile(numbers, np.arange(1, QUANTILE_BINS) / QUANTILE_BINS)
        edges = tuple(float(e) for e in np.unique(cuts) if numbers.min() < e)
        return Bins(name, kind, edges=edges, low=float(numbers.min()), high=float(numbers.max()))
    if kind == "boolean":
        return Bins(name, "boolean", levels=("false", "true"), known=("false", "true"))
    counted = values.dropna().astype(str).value_counts()
    known = tuple(sorted(counted.index)) if len(counted) <= MAX_KNOWN else None
    levels = tuple(str(v) for v in counted.index[:MAX_LEVELS])
    return Bins(name, "category", levels=levels, known=known, singletons=int((counted == 1).sum()))


def _seconds(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values, errors="coerce")
    seconds = stamps.to_numpy(dtype="datetime64[us]").astype("int64").astype("float64") / 1e6
    return np.where(stamps.isna().to_numpy(), np.nan, seconds)


def _shown(value: float, kind: str) -> str:
    if kind == "datetime":
        return str(pd.Timestamp(value, unit="s").date())
    return f"{value:.4g}"


def value_of(table: ibis.Table, bins: Bins) -> ibis.Value:
    """The column of ``table`` that ``bins`` counts, as the number, level or 0/1 it is binned by;
    ``SchemaMismatchError`` where the column is missing or of a type that cannot be read so."""
    if bins.name not in table.columns:
        raise SchemaMismatchError(
            f"the table lacks the column {bins.name!r} the model reads; columns: {', '.join(table.columns[:40])}"
        )
    column = table[bins.name]
    dtype = column.type()
    if bins.kind == "number" and (dtype.is_numeric() or dtype.is_boolean()):
        return (column.cast("int32") if dtype.is_boolean() else column).cast("float64")
    if bins.kind == "datetime" and (dtype.is_timestamp() or dtype.is_date()):
        return column.cast("timestamp").epoch_seconds().cast("float64")
    if bins.kind == "boolean" and (dtype.is_boolean() or dtype.is_numeric()):
        return column.cast("int32")
    if bins.kind == "category":
        text = (column if dtype.is_string() else column.cast("string")).strip()
        return ibis.cases((text.lower().isin(MISSING_TOKENS), ibis.null("string")), else_=text)
    raise SchemaMismatchError(
        f"column {bins.name!r} is stored as {dtype} where the model reads {bins.kind} values; "
        "convert it in the table (or a query) first"
    )


def metrics(value: ibis.Value, bins: Bins, key: str) -> dict[str, ibis.Value]:
    """The filtered counts that place the rows' ``value`` (``value_of``) in ``bins``, named ``<key>_...``."""
    out: dict[str, ibis.Value] = {f"{key}_n": value.count()}
    if bins.numeric:
        out |= {f"{key}_lt{j}": _tally(value < edge) for j, edge in enumerate(bins.edges)}
        if bins.low is not None and bins.high is not None:
            out |= {f"{key}_out": _tally((value < bins.low) | (value > bins.high))}
        return out
    levels: list[Any] = [0, 1] if bins.kind == "boolean" else list(bins.levels)
    out |= {f"{key}_l{j}": _tally(value == level) for j, level in enumerate(levels)}
    if bins.known is not None:
        known: list[Any] = levels if bins.kind == "boolean" else list(bins.known)
        out[f"{key}_known"] = _tally(value.isin(known)) if known else ibis.literal(0)
    return out


def _tally(condition: ibis.BooleanValue) -> ibis.Value:
    """How many rows meet ``condition``: the sum of it as 0/1, which each backend's compiler casts as
    it needs (``bench/monitor.py``: in DuckDB as fast as a sum of CASE or faster, and dozens of times
    faster than ``count(*) FILTER (WHERE ...)``, which ``count(where=...)`` compiles to)."""
    return condition.sum()


def counts(row: dict[str, Any], rows: int, bins: Bins, key: str) -> tuple[np.ndarray, int | None]:
    """The counts per bin (missing last) and the count of unseen values (``None``: not known),
    read from an aggregate's result ``row`` over ``rows`` rows."""
    present = _int(row[f"{key}_n"])
    if bins.numeric:
        below = [_int(row[f"{key}_lt{j}"]) for j in range(len(bins.edges))]
        ranged = np.diff(np.array([0, *below, present]))
        unseen = _int(row[f"{key}_out"]) if f"{key}_out" in row else None
        return np.array([*ranged, rows - present], dtype="int64"), unseen
    kept = [_int(row[f"{key}_l{j}"]) for j in range(2 if bins.kind == "boolean" else len(bins.levels))]
    unseen = present - _int(row[f"{key}_known"]) if f"{key}_known" in row else None
    return np.array([*kept, present - sum(kept), rows - present], dtype="int64"), unseen


def count_rows(table: ibis.Table, columns: list[Bins], by: str | None = None) -> list[tuple[int, list[Any]]]:
    """Per group of ``by`` in its order (or once for the whole table): its rows, and per column of
    ``columns`` its counts and unseen count (``count_groups``)."""
    return list(count_groups(table, columns, by).values())


def count_groups(table: ibis.Table, columns: list[Bins], by: str | None = None) -> dict[Any, tuple[int, list[Any]]]:
    """Per value of ``by`` in order (or once, under ``None``, for the whole table): its rows, and per
    column of ``columns`` its counts and unseen count, from aggregate queries run where ``table``
    lives, one for each ``COLUMNS_PER_QUERY`` columns (an engine plans a query of thousands of
    aggregates slowly)."""
    parts = [
        _counted_rows(table, columns[start : start + COLUMNS_PER_QUERY], by)
        for start in range(0, max(1, len(columns)), COLUMNS_PER_QUERY)
    ]
    return {key: (rows, [c for part in parts for c in part[key][1]]) for key, (rows, _) in parts[0].items()}


def _counted_rows(table: ibis.Table, columns: list[Bins], by: str | None) -> dict[Any, tuple[int, list[Any]]]:
    values = {f"c{i}": value_of(table, bins) for i, bins in enumerate(columns)}  # each worked out once a row
    table = table.select(**values, **({} if by is None else {by: table[by]}))
    aggregates: dict[str, ibis.Value] = {"__rows": table.count()}
    for i, bins in enumerate(columns):
        aggregates |= metrics(table[f"c{i}"], bins, f"c{i}")
    query = table.aggregate(**aggregates) if by is None else table.group_by(by).aggregate(**aggregates)
    result = fetch(query.order_by(by) if by is not None else query).to_pylist()
    out = {}
    for row in result:
        rows = int(row["__rows"])
        out[None if by is None else row[by]] = (
            rows,
            [counts(row, rows, bins, f"c{i}") for i, bins in enumerate(columns)],
        )
    return out


def _int(value: Any) -> int:
    return int(value or 0)  # a sum over no rows is NULL
