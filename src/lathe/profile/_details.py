"""A detailed profile for people: histograms, top values and duplicate rows, all by aggregates."""

from __future__ import annotations

import dataclasses

import ibis

from lathe.backends import fetch
from lathe.profile._issues import column_issues
from lathe.profile._profile import ColumnProfile, Profile, profile_table
from lathe.profile._semantic import SemanticType

BINS = 20
TOP_VALUES = 10
_WITH_TOP = (SemanticType.CATEGORICAL, SemanticType.BOOLEAN)


def profile_in_detail(table: ibis.Table) -> Profile:
    """``profile_table`` plus a histogram of each numeric column, the most frequent values of each
    categorical or boolean column, and the count of duplicate rows; one query each, in the engine."""
    profile = profile_table(table)
    columns = tuple(_detailed(table, column) for column in profile.columns)
    distinct_rows = int(fetch(table.distinct().aggregate(n=lambda t: t.count())).to_pylist()[0]["n"])
    return dataclasses.replace(profile, columns=columns, duplicate_rows=profile.rows - distinct_rows)


def _detailed(table: ibis.Table, column: ColumnProfile) -> ColumnProfile:
    if column.semantic_type is SemanticType.NUMERIC and column.minimum != column.maximum:
        column = dataclasses.replace(column, histogram=_histogram(table, column))
    elif column.semantic_type in _WITH_TOP:
        column = dataclasses.replace(column, top=_top(table, column.name))
    return dataclasses.replace(column, issues=column_issues(column))


def _histogram(table: ibis.Table, column: ColumnProfile) -> tuple[tuple[float, float, int], ...]:
    low, high = float(column.minimum or 0.0), float(column.maximum or 0.0)
    width = (high - low) / BINS
    value = table[column.name].cast("float64")
    bucket = ((value - low) / width).floor().cast("int64").clip(lower=0, upper=BINS - 1)
    counts = fetch(table.filter(value.notnull()).group_by(bucket=bucket).aggregate(n=lambda t: t.count()))
    found = {int(row["bucket"]): int(row["n"]) for row in counts.to_pylist()}
    return tuple((low + i * width, low + (i + 1) * width, found.get(i, 0)) for i in range(BINS))


def _top(table: ibis.Table, name: str) -> tuple[tuple[str, int], ...]:
    column = table[name]
    counts = table.filter(column.notnull()).group_by(value=column).aggregate(n=lambda t: t.count())
    rows = fetch(counts.order_by([ibis.desc("n"), "value"]).limit(TOP_VALUES)).to_pylist()
    return tuple((str(row["value"]), int(row["n"])) for row in rows)
