"""The rows of a prediction log that one bundle wrote, cut into time windows where the log lives.

A log (see ``docs/monitoring.md``) holds ``logged_at``, ``model``, ``version`` and
``model_checksum``, then the id and input columns, then the outputs; one table may hold the rows
of several versions of one model. The rows of the bundle at hand are those of its checksum; the
others are counted and left out. Windows are the ``logged_at`` cut to a day, a week (from Monday)
or a month, by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from lathe.backends import fetch
from lathe.errors import EmptySourceError, InvalidParameterError, SchemaMismatchError

WINDOWS = {"day": ("D", "D"), "week": ("W", "W-MON"), "month": ("M", "MS")}  # ibis unit, pandas frequency
WINDOW = "__lathe_window"
FIXED = ("logged_at", "model", "version", "model_checksum")


@dataclass(frozen=True)
class Logged:
    """The log's rows of one model, each with its ``WINDOW``; ``windows`` every window from the
    first logged to the last, empty ones included; ``others`` the rows of other versions left out."""

    table: ibis.Table
    rows: int
    windows: tuple[pd.Timestamp, ...]
    others: tuple[dict[str, Any], ...]


def model_rows(log: ibis.Table, checksum: str, where: str, needed: list[str], by: str) -> Logged:
    """The rows of ``log`` (described as ``where``) written by the bundle of ``checksum``, in windows
    of ``by``; ``SchemaMismatchError`` where the log lacks a column of ``needed`` or holds no row
    of this bundle, ``EmptySourceError`` where it holds no rows at all."""
    if by not in WINDOWS:
        raise InvalidParameterError(f"--by {by!r}: expected one of {', '.join(WINDOWS)}")
    missing = [name for name in (*FIXED, *needed) if name not in log.columns]
    if missing:
        raise SchemaMismatchError(
            f"{where}: the log lacks the column(s) {', '.join(missing)} that this model's log holds; "
            f"is it this model's prediction log (--log-table)? columns: {', '.join(log.columns[:40])}"
        )
    writers = fetch(
        log.group_by(["model", "version", "model_checksum"]).aggregate(rows=log.count()).order_by("version")
    ).to_pylist()
    if not writers:
        raise EmptySourceError(f"{where}: the log holds no rows; there is nothing to monitor yet")
    ours = [w for w in writers if w["model_checksum"] == checksum]
    if not ours:
        held = "; ".join(_writer(w) for w in writers[:5])
        raise SchemaMismatchError(
            f"{where}: the log holds rows of {held}, none of this model (checksum {checksum[:12]}); "
            "monitor the model that wrote them (NAME:N), or name the right --log"
        )
    rows = log.filter(log.model_checksum == checksum)
    windowed = rows.mutate(**{WINDOW: rows.logged_at.cast("timestamp").truncate(WINDOWS[by][0])})
    [span] = fetch(windowed.aggregate(first=windowed[WINDOW].min(), last=windowed[WINDOW].max())).to_pylist()
    if span["first"] is None:
        raise EmptySourceError(f"{where}: this model's rows have no logged_at; the log is damaged")
    windows = pd.date_range(span["first"], span["last"], freq=WINDOWS[by][1])
    others = tuple(w for w in writers if w["model_checksum"] != checksum)
    return Logged(windowed, sum(int(w["rows"]) for w in ours), tuple(windows), others)


def _writer(row: dict[str, Any]) -> str:
    version = "" if row["version"] is None else f" version {row['version']}"
    return f"model {row['model']!r}{version} (checksum {str(row['model_checksum'])[:12]}, {int(row['rows']):,} rows)"


def window_label(start: pd.Timestamp, by: str) -> str:
    """A short name of the window that starts at ``start``: 2026-03-02, week of 2026-03-02, 2026-03."""
    if by == "month":
        return start.strftime("%Y-%m")
    return start.strftime("%Y-%m-%d") if by == "day" else f"week of {start:%Y-%m-%d}"
