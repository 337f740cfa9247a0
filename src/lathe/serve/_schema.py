"""The request and response bodies of a served bundle, made from its input schema.

A row is a JSON object with one field per input column of the bundle: every field required
(``null`` for a missing value), typed by the column's kind, numbers finite. Other fields are
allowed and ignored, but the bundle's id columns are copied into the answer. A mistyped or
absent field is refused with a 422 naming it, before the model is touched.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from lathe.bundle import Bundle

MAX_ROWS = 10_000  # rows in one request; a larger batch belongs to `lathe batch`
YEARS = r"^(1[7-9]|2[01])\d\d-"  # 1700 to 2199
_KINDS: dict[str, Any] = {
    "number": Annotated[float, Field(strict=True, allow_inf_nan=False)],
    "boolean": Annotated[bool, Field(strict=True)],
    "string": Annotated[str, Field(strict=True)],
    "datetime": Annotated[
        datetime, BeforeValidator(lambda value: _iso_text(value)), Field(json_schema_extra={"pattern": YEARS})
    ],
}


def _iso_text(value: Any) -> Any:
    """A time is written as an ISO 8601 string in JSON (a number is refused, not read as seconds), in
    years the scoring path can hold (pandas' timestamps end in 1677 and 2262)."""
    if not isinstance(value, str | datetime):
        raise ValueError("Input should be an ISO 8601 date and time string, like 2024-05-01T14:30:00")
    if isinstance(value, str) and not re.match(YEARS, value):
        raise ValueError("Input should be a date and time from the years 1700 to 2199, like 2024-05-01T14:30:00")
    return value


def row_type(bundle: Bundle) -> Any:
    """The type of one input row: a TypedDict, so that rows are validated into plain dicts."""
    fields: dict[str, Any] = {c.name: _KINDS[c.kind] | None for c in bundle.plan.inputs}
    fields |= {name: NotRequired[Any] for name in bundle.ids if name not in fields}
    row = TypedDict("Row", fields)  # type: ignore[misc]
    return with_config(ConfigDict(extra="allow"))(row)


def request_body(bundle: Bundle, name: str, max_rows: int = MAX_ROWS) -> type[BaseModel]:
    """``{"rows": [row, ...]}``, one row or up to ``max_rows``."""
    rows: Any = Annotated[list[row_type(bundle)], Field(min_length=1, max_length=max_rows)]  # type: ignore[misc]
    return create_model(f"{name}Request", __config__=ConfigDict(extra="forbid"), rows=(rows, ...))


class ModelRef(BaseModel):
    """Which model answered: the registry name and version, or the bundle folder."""

    name: str
    version: int | None


class PredictResponse(BaseModel):
    """One prediction per row, in order: id columns, ``prediction`` and, for a classifier,
    ``probability_<class>`` for every class."""

    model: ModelRef
    predictions: list[dict[str, Any]]


class ExplainResponse(BaseModel):
    """``PredictResponse``'s fields per row, plus ``base_value``, ``contributions`` (per input
    column, in the units of the prediction; base value plus contributions equals it), the
    ``explained`` class for a classifier, and ``reasons``, the strongest pushes in words."""

    model: ModelRef
    explanations: list[dict[str, Any]]


class Problem(BaseModel):
    """An error: what was wrong with the request, and what to do."""

    detail: str | list[dict[str, Any]]
