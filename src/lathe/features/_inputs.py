"""The raw inputs a plan reads, and the coercion of incoming rows to their kinds."""

from __future__ import annotations

from dataclasses import dataclass
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
    at training and at scoring alike. Extra columns are ignored; missing values stay missing;
    a missing column, an empty frame or values that cannot be read as the column's kind raise
    ``SchemaMismatchError``.
    """
    if len(frame) == 0:
        raise SchemaMismatchError("there are no rows to score: the table is empty")
    absent = [c.name for c in inputs if c.name not in frame.columns]
    if absent:
        raise SchemaMismatchError(
            f"the rows lack {len(absent)} input column(s) the model needs: {', '.join(absent)}. "
            f"Columns given: {', '.join(map(str, frame.columns[:40]))}"
        )
    return pd.DataFrame({c.name: _coerce(_cleaned(frame[c.name]), c) for c in inputs}, index=frame.index)


def _cleaned(values: pd.Series) -> pd.Series:
    """Text trimmed of surrounding white space, and missing tokens made missing."""
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return values
    text = values.map(lambda v: v.strip() if isinstance(v, str) else v, na_action="ignore")
    token = text.map(lambda v: isinstance(v, str) and v.casefold() in MISSING_TOKENS, na_action="ignore")
    return text.where(~token.fillna(False).astype(bool), None)


def _coerce(values: pd.Series, column: InputColumn) -> pd.Series:
    coerced = _COERCERS[column.kind](values)
    bad = coerced.isna().to_numpy() & ~values.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise SchemaMismatchError(
            f"column {column.name!r} must hold {column.kind} values, but {int(bad.sum())} of {len(values)} "
            f"cannot be read as such (the first at row {first}); fix them or leave them empty"
        )
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
