"""Reason codes: the strongest pushes on a prediction, in plain words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_TOP = 3


def reason_codes(
    effects: np.ndarray,
    columns: Sequence[str],
    frame: pd.DataFrame | Mapping[str, Sequence[Any]],
    subjects: Sequence[str],
    top: int = DEFAULT_TOP,
) -> list[str]:
    """For each row, its ``top`` columns by size of effect, as one sentence each, joined by "; ".

    ``frame`` holds the rows' raw values (a DataFrame, or a list of values per column);
    ``subjects[i]`` names what row ``i``'s effects move ("the probability of late=True").
    """
    order = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :top]
    values = [frame[name].tolist() if isinstance(frame, pd.DataFrame) else frame[name] for name in columns]
    return [
        "; ".join(_reason(columns[j], values[j][i], effects[i, j], subjects[i]) for j in order[i] if effects[i, j])
        for i in range(len(effects))
    ]


def _reason(column: str, value: Any, effect: float, subject: str) -> str:
    verb = "raised" if effect > 0 else "lowered"
    return f"{column} = {format_value(value)} {verb} {subject} by {abs(effect):.3g}"


def format_value(value: Any) -> str:
    """A raw value as a person would write it; missing values say so."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "missing"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
