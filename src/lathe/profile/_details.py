"""A detailed profile for people: histograms, top values and quality checks, all by aggregates."""

from __future__ import annotations

import dataclasses
from typing import Any

import ibis
from ibis.common.exceptions import IbisError

from lathe.backends import fetch
from lathe.profile._issues import column_issues, content_issues
from lathe.profile._profile import ColumnProfile, Profile, finite, profile_table
from lathe.profile._semantic import SemanticType

BINS = 20
TOP_VALUES = 10
OUTLIER_STDS = 4.0
QUANTILES = (0.25, 0.5, 0.75)
_COUNTED = ("numbers", "dates", "outliers", "folded")
_WITH_TOP = (SemanticType.CATEGORICAL, SemanticType.BOOLEAN)
_NUMBER_TEXT = r"^\s*[-+]?[0-9]+([.,][0-9]+)?\s*$"
_DATE_TEXT = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}"


def profile_in_detail(table: ibis.Table) -> Profile:
    """``profile_table`` plus, per column, a histogram (numbers) or the most frequent values
    (categories), the quality checks that need the content (numbers or dates stored as text,
    mixed types, outliers, duplicate columns), and the count of duplicate rows. Each figure is an
    aggregate query run by the engine that holds the table."""
    profile = profile_table(table)
    counts = _content_counts(table, profile)
    twins = _duplicate_columns(table, profile)
    quantiles = _quantiles(table, [c.name for c in profile.columns if _binned(c) and c.present])
    columns = tuple(
        _detailed(table, dataclasses.replace(c, quantiles=quantiles.get(c.name, ())), counts, twins.get(c.name))
        for c in profile.columns
    )
    distinct_rows = int(fetch(table.distinct().aggregate(n=lambda t: t.count())).to_pylist()[0]["n"])
    return dataclasses.replace(profile, columns=columns, duplicate_rows=profile.rows - distinct_rows)


def _detailed(table: ibis.Table, column: ColumnProfile, counts: dict[str, Any], twin: str | None) -> ColumnProfile:
    if _binned(column) and column.minimum != column.maximum:
        column = dataclasses.replace(column, histogram=_histogram(table, column))
    elif column.semantic_type in _WITH_TOP and column.personal is None:  # never list personal values
        column = dataclasses.replace(column, top=_top(table, column.name))
    numbers, dates, outliers, folded = (counts.get(f"{column.name}:{kind}") for kind in _COUNTED)
    found = content_issues(column, (numbers, dates, outliers, folded), twin)
    return dataclasses.replace(column, issues=column_issues(column) + found)


def _binned(column: ColumnProfile) -> bool:
    """Whether ``column`` gets quantiles and a histogram: numbers, unless personal data (their
    edges would be its values)."""
    return column.semantic_type is SemanticType.NUMERIC and column.personal is None


def _quantiles(table: ibis.Table, names: list[str]) -> dict[str, tuple[float, ...]]:
    """The quartiles of each of ``names``, a query per column (a quantile holds its column's values
    in memory, so one column at a time bounds it): percentile_cont where the engine has it (DuckDB,
    PostgreSQL: interpolated), else one ordered single-row query per quartile (SQLite, MySQL: the
    nearest value below)."""
    found = {}
    for name in names:
        try:
            value = table[name].cast("float64")
            row = fetch(table.filter(finite(value)).aggregate(q=value.quantile(list(QUANTILES))))
            found[name] = tuple(float(q) for q in row.column("q")[0].as_py())
        except IbisError:
            found[name] = _ordered_quantiles(table, name)
    return found


def _ordered_quantiles(table: ibis.Table, name: str) -> tuple[float, ...]:
    value = table[name].cast("float64")
    present = table.filter(finite(value)).select(v=value)
    count = int(fetch(present.aggregate(n=lambda t: t.count())).to_pylist()[0]["n"])
    return tuple(
        float(fetch(present.order_by("v").limit(1, offset=int(q * (count - 1)))).to_pylist()[0]["v"]) for q in QUANTILES
    )


def _content_counts(table: ibis.Table, profile: Profile) -> dict[str, Any]:
    """One query: per text column, values that read as numbers or dates, and distinct values once
    trimmed and lower-cased; per number, outliers."""
    checks: dict[str, ibis.Value] = {}
    for i, column in enumerate(profile.columns):
        value = table[column.name]
        if column.storage == "string" and column.present:
            checks[f"n{i}"] = ibis.ifelse(value.re_search(_NUMBER_TEXT), 1, 0).sum()
            checks[f"d{i}"] = ibis.ifelse(value.re_search(_DATE_TEXT), 1, 0).sum()
            checks[f"f{i}"] = value.strip().lower().nunique()
        elif column.semantic_type is SemanticType.NUMERIC and column.std:
            number = value.cast("float64")
            far = finite(number) & ((number - float(column.mean or 0.0)).abs() > OUTLIER_STDS * column.std)
            checks[f"o{i}"] = ibis.ifelse(far, 1, 0).sum()
    if not checks:
        return {}
    row = fetch(table.aggregate(**checks)).to_pylist()[0]
    names = {"n": "numbers", "d": "dates", "o": "outliers", "f": "folded"}
    return {f"{profile.columns[int(k[1:])].name}:{names[k[0]]}": int(v or 0) for k, v in row.items()}


def _duplicate_columns(table: ibis.Table, profile: Profile) -> dict[str, str]:
    """Columns equal to an earlier one in every row, among those whose aggregates already agree."""
    twins: dict[str, str] = {}
    seen: dict[tuple[Any, ...], str] = {}
    for column in profile.columns:
        key = (column.storage, column.present, column.distinct, column.minimum, column.maximum, column.mean)
        if column.distinct > 1 and key in seen and _same(table, seen[key], column.name):
            twins[column.name] = seen[key]
        seen.setdefault(key, column.name)
    return twins


def _same(table: ibis.Table, first: str, second: str) -> bool:
    differ = ibis.ifelse(table[first].identical_to(table[second]), 0, 1).sum()
    return int(fetch(table.aggregate(n=differ)).to_pylist()[0]["n"] or 0) == 0


def _histogram(table: ibis.Table, column: ColumnProfile) -> tuple[tuple[float, float, int], ...]:
    low, high = float(column.minimum or 0.0), float(column.maximum or 0.0)
    width = (high - low) / BINS
    value = table[column.name].cast("float64")
    bucket = ((value - low) / width).floor().cast("int64").clip(lower=0, upper=BINS - 1)
    counts = fetch(table.filter(finite(value)).group_by(bucket=bucket).aggregate(n=lambda t: t.count()))
    found = {int(row["bucket"]): int(row["n"]) for row in counts.to_pylist()}
    return tuple((low + i * width, low + (i + 1) * width, found.get(i, 0)) for i in range(BINS))


def _top(table: ibis.Table, name: str) -> tuple[tuple[str, int], ...]:
    column = table[name]
    counts = table.filter(column.notnull()).group_by(value=column).aggregate(n=lambda t: t.count())
    rows = fetch(counts.order_by([ibis.desc("n"), "value"]).limit(TOP_VALUES)).to_pylist()
    return tuple((str(row["value"]), int(row["n"])) for row in rows)
