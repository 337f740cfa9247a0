"""Which columns a model's log rows have, and how scored rows become them.

The columns, in order: ``logged_at``, ``model``, ``version``, ``model_checksum``, the bundle's id
columns, its input columns, ``prediction`` and, for a classifier, ``probability_<class>``.
Personal data flagged at training is never written raw: a personal input is left out; a
personal id is written as a keyed hash (HMAC-SHA256 with ``$LATHE_LOG_KEY``), or left out
where no key is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lathe.backends import arrow_type
from lathe.bundle import Bundle
from lathe.features import InputColumn, coerce_frame, coerce_rows
from lathe.profile import Task

KEY_VARIABLE = "LATHE_LOG_KEY"
_INPUT_KINDS = {"number": "double", "string": "text", "boolean": "boolean", "datetime": "timestamp"}
_ID_KINDS = {"integer": "bigint", "number": "double"}  # by the profile's storage; any other: text
Rows = Sequence[Mapping[str, Any]]


def checksum(bundle: Bundle) -> str:
    """The SHA-256 of the bundle's manifest as saved: for a bundle loaded from a folder or the
    registry, the checksum of its ``manifest.json`` (the registry's ``manifest_sha256``)."""
    text = json.dumps(bundle.manifest, indent=1, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def personal_columns(bundle: Bundle) -> dict[str, str]:
    """The columns flagged as personal data at training, with their kind (email, phone, ...)."""
    columns = (bundle.manifest.get("profile") or {}).get("columns", [])
    return {c["name"]: c["personal"]["kind"] for c in columns if c.get("personal")}


@dataclass(frozen=True)
class Layout:
    """One model's log columns; ``to_arrow`` turns appended rows into them."""

    model: str
    version: int | None
    checksum: str
    ids: tuple[tuple[str, str], ...]  # (name, kind); kind "hash": a personal id, written as a keyed hash
    inputs: tuple[InputColumn, ...]  # the inputs written (personal ones left out)
    classes: tuple[str, ...]  # empty for regression
    left_out: tuple[str, ...]  # what personal data is not written, as "name (kind)"
    key: bytes | None = None

    @classmethod
    def of(cls, bundle: Bundle, model: str, version: int | None) -> Layout:
        """The layout of ``bundle``'s rows, logged as ``model`` version ``version``."""
        personal = personal_columns(bundle)
        raw_key = os.environ.get(KEY_VARIABLE)
        key = raw_key.encode() if raw_key else None
        storage = {c["name"]: c.get("storage") for c in (bundle.manifest.get("profile") or {}).get("columns", [])}
        ids = [(n, "hash" if n in personal else _ID_KINDS.get(str(storage.get(n)), "text"))
               for n in bundle.ids if n not in personal or key]  # fmt: skip
        left = [f"{n} ({personal[n]})" for n in bundle.ids if n in personal and not key]
        named = set(bundle.ids)
        inputs = [c for c in bundle.plan.inputs if c.name not in personal and c.name not in named]
        left += [f"{c.name} ({personal[c.name]})" for c in bundle.plan.inputs if c.name in personal]
        classes = [] if bundle.task is Task.REGRESSION else [str(c) for c in bundle.classes]
        return cls(model, version, checksum(bundle), tuple(ids), tuple(inputs), tuple(classes), tuple(left), key)

    @property
    def columns(self) -> list[tuple[str, str]]:
        """The log's columns as (name, kind), in order."""
        head = [("logged_at", "timestamp"), ("model", "text"), ("version", "integer"), ("model_checksum", "text")]
        inputs = [(c.name, _INPUT_KINDS[c.kind]) for c in self.inputs]
        tail = [("prediction", "text" if self.classes else "double")]
        tail += [(f"probability_{label}", "double") for label in self.classes]
        ids = [(n, "text" if k == "hash" else k) for n, k in self.ids]
        return [*head, *ids, *inputs, *tail]

    @property
    def schema(self) -> pa.Schema:
        """The columns as an Arrow schema."""
        return pa.schema([(name, arrow_type(kind)) for name, kind in self.columns])

    def to_arrow(
        self, logged_at: datetime | Sequence[datetime], scored: pd.DataFrame | Rows, inputs: pd.DataFrame | Rows
    ) -> pa.Table:
        """Appended rows: ``scored`` (``predict``'s frame or ``predict_rows``' dicts) for ``inputs``
        (the rows scored, as given), logged at ``logged_at`` (naive UTC; one time, or one per row)."""
        if isinstance(inputs, pd.DataFrame):
            inputs = inputs.reset_index(drop=True)
            n = len(inputs)
            given = coerce_frame(inputs, self.inputs) if self.inputs else pd.DataFrame(index=inputs.index)
            values = [_column_values(given[c.name], c.kind) for c in self.inputs]
            ids = [inputs[name].tolist() if name in inputs.columns else [None] * n for name, _ in self.ids]
        else:
            n = len(inputs)
            coerced = coerce_rows(inputs, self.inputs) if self.inputs else [[] for _ in range(n)]
            by_column = list(zip(*coerced, strict=True)) if self.inputs else []
            values = [_value_list(list(v), c.kind) for v, c in zip(by_column, self.inputs, strict=True)]
            ids = [[row.get(name) for row in inputs] for name, _ in self.ids]
        arrays: list[Any] = [
            pa.array([logged_at] * n if isinstance(logged_at, datetime) else logged_at, pa.timestamp("us")),
            pa.array([self.model] * n, pa.string()),
            pa.array([self.version] * n, pa.int32()), pa.array([self.checksum] * n, pa.string()),
        ]  # fmt: skip
        arrays += [self._id_array(v, kind) for v, (_, kind) in zip(ids, self.ids, strict=True)]
        arrays += [pa.array(v, arrow_type(_INPUT_KINDS[c.kind]), from_pandas=True)
                   for v, c in zip(values, self.inputs, strict=True)]  # fmt: skip
        arrays += self._outputs(scored, n)
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _outputs(self, scored: pd.DataFrame | Rows, n: int) -> list[pa.Array]:
        names = ["prediction", *(f"probability_{label}" for label in self.classes)]
        if isinstance(scored, pd.DataFrame):
            columns = [scored[name].tolist() for name in names]
        else:
            columns = [[row[name] for row in scored] for name in names]
        if len(columns[0]) != n:
            raise ValueError(f"{len(columns[0])} predictions were logged for {n} rows")
        if self.classes:
            prediction = pa.array([None if _missing(v) else str(v) for v in columns[0]], pa.string())
        else:
            prediction = pa.array(columns[0], pa.float64(), from_pandas=True)
        return [prediction, *(pa.array(c, pa.float64(), from_pandas=True) for c in columns[1:])]

    def _id_array(self, values: list[Any], kind: str) -> pa.Array:
        if kind == "hash":
            key = self.key or b""
            hashed = [None if _missing(v) else hmac.new(key, _id_text(v).encode(), hashlib.sha256).hexdigest()
                      for v in values]  # fmt: skip
            return pa.array(hashed, pa.string())
        if kind == "text":
            return pa.array([None if _missing(v) else _id_text(v) for v in values], pa.string())
        cast = int if kind == "bigint" else float
        out = []
        for value in values:
            try:
                out.append(None if _missing(value) else cast(value))
            except (TypeError, ValueError):
                out.append(None)  # not a number: the id cannot be written in this column
        return pa.array(out, arrow_type(kind))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def _id_text(value: Any) -> str:
    """An id as text, the same whichever way it came: 42, 42.0 and "42" alike."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def _column_values(values: pd.Series, kind: str) -> Any:
    if kind == "boolean":
        return _value_list(values.tolist(), kind)
    if kind == "datetime":
        return [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in values]
    if kind == "string":
        return [None if _missing(v) else str(v) for v in values]
    return values.to_numpy(dtype="float64")


def _value_list(values: list[Any], kind: str) -> list[Any]:
    if kind == "boolean":
        return [None if _missing(v) else bool(v) for v in values]
    return values
