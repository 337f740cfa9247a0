"""Column profiles computed by one aggregate query in the engine that holds the table."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from lathe._tables import Summary, summary_html, summary_text
from lathe.backends import fetch
from lathe.errors import ColumnNotFoundError
from lathe.profile._issues import column_issues
from lathe.profile._pii import SMALLEST_ID, PersonalData, detect_personal_data, written
from lathe.profile._semantic import SemanticType, infer_semantic_type

SCHEMA_VERSION = 1
PII_SAMPLE = 500
SHOWN = 30
CHUNK = 100  # columns per aggregate query: a query's planning grows faster than its columns
LARGEST = 1.7976931348623157e308  # the largest finite double: beyond it, an infinity


@dataclass(frozen=True)
class ColumnProfile:
    """Aggregates and the semantic type of one column."""

    name: str
    storage: str
    semantic_type: SemanticType
    rows: int
    present: int
    distinct: int
    minimum: float | str | None = None
    maximum: float | str | None = None
    mean: float | None = None
    std: float | None = None
    mean_words: float | None = None
    quantiles: tuple[float, ...] = ()  # at QUANTILES, numbers only, in the detailed profile
    histogram: tuple[tuple[float, float, int], ...] = ()
    top: tuple[tuple[str, int], ...] = ()
    issues: tuple[str, ...] = ()
    personal: PersonalData | None = None
    infinite: int = 0  # values that are inf or -inf; the statistics above are of the finite ones

    @property
    def missing_share(self) -> float:
        """Share of rows where the column is missing."""
        return 1.0 - self.present / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        """The inverse of ``to_dict``."""
        return cls(
            **{
                **data,
                "semantic_type": SemanticType(data["semantic_type"]),
                "quantiles": tuple(data.get("quantiles", ())),
                "histogram": tuple(tuple(b) for b in data.get("histogram", ())),
                "top": tuple(tuple(t) for t in data.get("top", ())),
                "issues": tuple(data.get("issues", ())),
                "personal": PersonalData(**data["personal"]) if data.get("personal") else None,
            }
        )


@dataclass(frozen=True)
class Profile:
    """What every column of a table is."""

    rows: int
    columns: tuple[ColumnProfile, ...]
    duplicate_rows: int | None = None
    unprofiled: tuple[str, ...] = ()  # columns a deadline left unread (see ``profile_table``)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise ColumnNotFoundError.for_name(name, self.names)

    @property
    def names(self) -> list[str]:
        """Column names in table order."""
        return [c.name for c in self.columns]

    def _summary(self) -> Summary:
        title = f"Profile: {self.rows:,} rows, {len(self.columns)} columns"
        headers = ["column", "type", "storage", "missing", "distinct"]
        rows: list[list[object]] = [
            [c.name, c.semantic_type.value, c.storage, f"{c.missing_share:.0%}", c.distinct]
            for c in self.columns[:SHOWN]
        ]
        return title, headers, rows, len(self.columns)

    def __repr__(self) -> str:
        return summary_text(self._summary())

    def _repr_html_(self) -> str:
        return summary_html(self._summary())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a schema version."""
        return {
            "schema_version": SCHEMA_VERSION,
            "rows": self.rows,
            "duplicate_rows": self.duplicate_rows,
            "columns": [c.to_dict() for c in self.columns],
            "unprofiled": list(self.unprofiled),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """The inverse of ``to_dict``."""
        columns = tuple(ColumnProfile.from_dict(c) for c in data["columns"])
        unprofiled = tuple(data.get("unprofiled", ()))
        return cls(rows=data["rows"], columns=columns, duplicate_rows=data.get("duplicate_rows"), unprofiled=unprofiled)


def storage_kind(dtype: dt.DataType) -> str:
    """How a column is stored, in lathe's words: number, integer, string, boolean, datetime or other."""
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_integer():
        return "integer"
    if dtype.is_floating() or dtype.is_decimal():
        return "number"
    if dtype.is_timestamp() or dtype.is_date():
        return "datetime"
    if dtype.is_string():
        return "string"
    return "other"


def profile_table(table: ibis.Table, first: Sequence[str] = (), deadline: float | None = None) -> Profile:
    """Profile every column of ``table`` with aggregates run by its backend, ``CHUNK`` columns a query.

    With a ``deadline`` (a ``time.monotonic()`` instant), no query starts after it but the first:
    the columns ``first``, then the others in table order, are profiled until then, and those not
    reached are named in ``unprofiled`` (a wide table under a short budget).
    """
    kinds = {name: storage_kind(dtype) for name, dtype in table.schema().items()}
    keys = {name: f"c{i}" for i, name in enumerate(kinds)}
    order = [name for name in first if name in kinds] + [name for name in kinds if name not in first]
    row: dict[str, Any] = {}
    done: set[str] = set()
    for start in range(0, max(1, len(order)), CHUNK):
        if done and deadline is not None and monotonic() > deadline:
            break
        values: dict[str, ibis.Value] = {}
        for name in order[start : start + CHUNK]:
            values |= _column_values(table[name], kinds[name], keys[name])
        projected = table.select(**values) if values else table
        metrics = {f"{key}_{how}": metric for key in values for how, metric in _metrics(key, projected[key]).items()}
        row |= fetch(projected.aggregate(__rows=projected.count(), **metrics)).to_pylist()[0]
        done.update(order[start : start + CHUNK])
    rows = int(row["__rows"])
    columns = tuple(_column_profile(name, kinds[name], rows, row, keys[name]) for name in kinds if name in done)
    unprofiled = tuple(name for name in kinds if name not in done)
    return Profile(rows=rows, columns=_flag_personal(table, columns), unprofiled=unprofiled)


def _flag_personal(table: ibis.Table, columns: tuple[ColumnProfile, ...]) -> tuple[ColumnProfile, ...]:
    """``columns``, those that hold personal data flagged (``detect_personal_data``), judged by a
    sample of the values of each column that could: text, and numbers as large as an id. The
    sample is read here and not kept; a flagged column keeps no statistic that is one of its
    values (minimum, maximum) or near one (mean, spread)."""
    samples = _samples(table, [c for c in columns if _could_be_personal(c)])
    flagged = []
    for column in columns:
        found = detect_personal_data(column.name, samples[column.name]) if column.name in samples else None
        if found is not None:
            column = dataclasses.replace(column, personal=found, minimum=None, maximum=None, mean=None, std=None)
            column = dataclasses.replace(column, issues=column_issues(column))
        flagged.append(column)
    return tuple(flagged)


def _could_be_personal(column: ColumnProfile) -> bool:
    if column.present == 0:
        return False
    if column.storage in ("integer", "number"):
        return isinstance(column.maximum, float) and column.maximum >= SMALLEST_ID
    return column.storage == "string"


def _samples(table: ibis.Table, columns: list[ColumnProfile]) -> dict[str, list[str]]:
    """Up to ``PII_SAMPLE`` values of each of ``columns`` as written (``written``): the first rows'
    in one query, and for a column mostly missing there, its own first values."""
    if not columns:
        return {}
    first = fetch(table.select(*(c.name for c in columns)).limit(PII_SAMPLE))
    samples = {c.name: [w for v in first.column(c.name).to_pylist() if (w := written(v)) is not None] for c in columns}
    for column in columns:
        if len(samples[column.name]) < min(column.present, PII_SAMPLE) // 2:
            value = table[column.name]
            values = fetch(table.filter(value.notnull()).select(value).limit(PII_SAMPLE)).column(0).to_pylist()
            samples[column.name] = [w for v in values if (w := written(v)) is not None]
    return samples


def finite(value: ibis.NumericValue) -> ibis.BooleanValue:
    """Whether a float64 ``value`` is a finite number: not inf, -inf or NaN. Written as a range,
    which every engine reads alike (NaN sorts above infinity where an engine can hold it)."""
    return value.between(-LARGEST, LARGEST)


def _column_values(column: ibis.Column, kind: str, key: str) -> dict[str, ibis.Value]:
    """The values a column's aggregates read, as a projection (computed once a row): a number's
    finite values, and whether it is inf or -inf (NaN is missing, as it is once the rows are read)."""
    if kind == "integer":
        return {key: column.cast("float64")}
    if kind != "number":
        return {key: column}
    value = column.cast("float64")
    return {
        key: ibis.ifelse(finite(value), value, ibis.null("float64")),
        f"{key}_pos": ibis.ifelse(-value < -LARGEST, 1, 0),  # -NaN is NaN, which is below nothing
        f"{key}_neg": ibis.ifelse(value < -LARGEST, 1, 0),
    }


def _metrics(key: str, value: ibis.Value) -> dict[str, ibis.Value]:
    if key.endswith(("_pos", "_neg")):
        return {"sum": value.sum()}
    found: dict[str, ibis.Value] = {"present": value.count(), "distinct": value.nunique()}
    if value.type().is_floating():
        found |= {"min": value.min(), "max": value.max(), "mean": value.mean(), "std": value.std()}
    elif value.type().is_timestamp() or value.type().is_date():
        found |= {"min": value.min().cast("string"), "max": value.max().cast("string")}
    elif value.type().is_string():
        spaces = value.length() - value.replace(" ", "").length()
        found["words"] = (spaces + 1).cast("float64").mean()
    return found


def _column_profile(name: str, kind: str, rows: int, row: dict[str, Any], key: str) -> ColumnProfile:
    signs = [int(row.get(f"{key}_{sign}_sum") or 0) for sign in ("pos", "neg")]
    present, distinct = int(row[f"{key}_present"]) + sum(signs), int(row[f"{key}_distinct"]) + sum(map(bool, signs))
    words = _finite(row.get(f"{key}_words"))
    semantic = infer_semantic_type(name, kind, present, distinct, words)
    if kind == "other":
        semantic = SemanticType.IDENTIFIER if distinct > 1 else SemanticType.CONSTANT
    profile = ColumnProfile(
        name=name,
        storage=kind,
        semantic_type=semantic,
        rows=rows,
        present=present,
        distinct=distinct,
        minimum=_plain(row.get(f"{key}_min")),
        maximum=_plain(row.get(f"{key}_max")),
        mean=_finite(row.get(f"{key}_mean")),
        std=_finite(row.get(f"{key}_std")),
        mean_words=words,
        infinite=sum(signs),
    )
    return dataclasses.replace(profile, issues=column_issues(profile))


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _plain(value: Any) -> float | str | None:
    return value if value is None or isinstance(value, str) else _finite(value)
