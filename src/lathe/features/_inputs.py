"""The raw inputs a plan reads, and the coercion of incoming rows to their kinds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from lathe.errors import SchemaMismatchError

# Written-out ways of saying "no value", read as missing in every column (compared trimmed, any case).
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "?", "-")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


@dataclass(frozen=True)
class InputColumn:
    """A raw column the plan reads: its name and kind (number, string, boolean, datetime)."""

    name: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"name": self.name, "kind": self.kind}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputColumn:
        """The inverse of ``to_dict``."""
        return cls(name=data["name"], kind=data["kind"])


def coerce_frame(frame: pd.DataFrame, inputs: tuple[InputColumn, ...]) -> pd.DataFrame:
    """The columns of ``inputs`` from ``frame``, each coerced to its kind.

    Text is trimmed and the ``MISSING_TOKENS`` ("NA", "null", "?", ...) read as missing first,
    at training and at scoring alike; so are a number's infinities (inf, -inf: most often a
    division by zero, a value not known rather than a very large one). Extra columns are
    ignored; missing values stay missing; a missing column, an empty frame or values that
    cannot be read as the column's kind raise ``SchemaMismatchError``.
    """
    check_columns(frame, inputs)
    return pd.DataFrame({c.name: coerce_column(frame[c.name], c) for c in inputs}, index=frame.index)


def check_columns(frame: pd.DataFrame, inputs: tuple[InputColumn, ...]) -> None:
    """Raise ``SchemaMismatchError`` where ``frame`` has no rows or lacks a column of ``inputs``."""
    if len(frame) == 0:
        raise SchemaMismatchError("there are no rows to score: the table is empty")
    absent = [c.name for c in inputs if c.name not in frame.columns]
    if absent:
        raise SchemaMismatchError(
            f"the rows lack {len(absent)} input column(s) the model needs: {', '.join(absent)}. "
            f"Columns given: {', '.join(map(str, frame.columns[:40]))}"
        )


def coerce_column(values: pd.Series, column: InputColumn) -> pd.Series:
    """One column of ``coerce_frame``: ``values`` cleaned and coerced to ``column``'s kind."""
    return _coerce(_cleaned(values), column)


def coerce_rows(rows: Sequence[Mapping[str, Any]], inputs: tuple[InputColumn, ...]) -> list[list[Any]]:
    """``coerce_frame`` for rows given as mappings (parsed JSON), without building a DataFrame:
    per row, the values of ``inputs`` in order, each coerced as ``coerce_frame`` would.

    Numbers and booleans come out as floats (NaN when missing), strings as ``str`` or ``None``,
    timestamps as naive UTC ``datetime`` or ``None``.
    """
    if not rows:
        raise SchemaMismatchError("there are no rows to score: the list is empty")
    names = [c.name for c in inputs]
    coercers = [_VALUE_COERCERS[c.kind] for c in inputs]
    out = []
    for r, row in enumerate(rows):
        try:
            values = [row[name] for name in names]
        except KeyError:
            absent = [name for name in names if name not in row]
            raise SchemaMismatchError(
                f"row {r} lacks {len(absent)} input column(s) the model needs: {', '.join(absent)}"
            ) from None
        try:
            out.append([coerce(_cleaned_value(v)) for coerce, v in zip(coercers, values, strict=True)])
        except (TypeError, ValueError, OverflowError):
            bad = next(c for c, v in zip(inputs, values, strict=True) if not _readable(v, c.kind))
            raise SchemaMismatchError(
                f"row {r}: column {bad.name!r} must hold {bad.kind} values, and its value cannot be read as one; "
                "fix it or leave it empty (null)"
            ) from None
    return out


def _readable(value: Any, kind: str) -> bool:
    try:
        _VALUE_COERCERS[kind](_cleaned_value(value))
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _cleaned_value(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return None if value.casefold() in MISSING_TOKENS else value
    return value


def _number_value(value: Any) -> float:
    if value is None:
        return np.nan
    if isinstance(value, str) and "_" in value:  # float() reads "1_000"; pandas does not
        raise ValueError(value)
    number = float(value)
    return number if not math.isinf(number) else np.nan


def _string_value(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str) else _text(value)


def _boolean_value(value: Any) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool | int | float):
        if value in (0, 1):
            return float(value)
        raise ValueError(value)
    lowered = str(value).strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return 1.0 if lowered in _TRUE else 0.0
    raise ValueError(value)


def _datetime_value(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            parsed = pd.to_datetime(value, errors="coerce", utc=True, format="mixed")
            if pd.isna(parsed):
                raise
            value = parsed.to_pydatetime()
    if not isinstance(value, datetime):
        raise TypeError(value)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _cleaned(values: pd.Series) -> pd.Series:
    """Text trimmed of surrounding white space, and missing tokens made missing."""
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return values
    text = values.map(lambda v: v.strip() if isinstance(v, str) else v, na_action="ignore")
    token = text.map(lambda v: isinstance(v, str) and v.casefold() in MISSING_TOKENS).astype(bool)
    return text.where(~token, None)


def _coerce(values: pd.Series, column: InputColumn) -> pd.Series:
    coerced = _COERCERS[column.kind](values)
    bad = coerced.isna().to_numpy() & ~values.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise SchemaMismatchError(
            f"column {column.name!r} must hold {column.kind} values, but {int(bad.sum())} of {len(values)} "
            f"cannot be read as such (the first at row {first}); fix them or leave them empty"
        )
    if column.kind == "number":  # "inf" is read as a number, then as missing
        return coerced.where(~np.isinf(coerced.to_numpy()))
    return coerced


def _number(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values.astype("float64")
    return pd.to_numeric(values, errors="coerce").astype("float64")


def _string(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values) or values.dtype == object:
        texts = values.astype(object)
    else:
        texts = values.map(_text, na_action="ignore").astype(object)
    return texts.where(values.notna(), None)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _boolean(values: pd.Series) -> pd.Series:
    if values.dtype == bool or pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return numbers.where(numbers.isin([0.0, 1.0]))
    lowered = values.map(lambda v: str(v).strip().lower(), na_action="ignore")
    return lowered.map(lambda v: 1.0 if v in _TRUE else 0.0 if v in _FALSE else np.nan).astype("float64")


def _datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_dtype(values):
        return values
    parsed = values if isinstance(values.dtype, pd.DatetimeTZDtype) else _parse_dates(values)
    naive: pd.Series = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive


def _parse_dates(values: pd.Series) -> pd.Series:
    parsed: pd.Series = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed


_COERCERS = {"number": _number, "string": _string, "boolean": _boolean, "datetime": _datetime}
_VALUE_COERCERS = {
    "number": _number_value,
    "string": _string_value,
    "boolean": _boolean_value,
    "datetime": _datetime_value,
}
