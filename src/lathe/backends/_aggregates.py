"""Aggregates of a child table's rows per parent row, for a child with several rows per key.

Per parent row: how many child rows it has; of each numeric child column the mean, minimum,
maximum, sum and standard deviation; of each boolean the share true; of each text column the
number of distinct values and the most frequent one; and, where the child rows have a time,
the latest value of each column. The features are named ``<child>_<column>_<aggregate>``.

With a cut-off (a column of the parent, or a fixed time), only child rows whose time is
before it count, and the days from the child's first and last rows to the cut-off are added.
Everything is one SQL query in the engine that holds the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from lathe.errors import ProjectError

_CUT = "__lathe_cut"
_DAY = 86_400


def aggregate_child(
    parent: ibis.Table, child: ibis.Table, child_name: str, on: tuple[str, ...], time: str | None,
    cut: str | datetime | None, keys: frozenset[str] = frozenset(),
) -> ibis.Table:  # fmt: skip
    """``parent`` with the aggregates of its ``child`` rows (matched on ``on``) joined in.

    ``cut`` is a column of ``parent`` or a fixed time before which ``child``'s ``time`` must be
    for a child row to count; ``None`` counts every child row. ``keys`` are the project's join
    keys: ids, not aggregated.
    """
    if cut is None:
        grouped = child.group_by(list(on)).aggregate(**_aggregates(child, child_name, (*on, *keys), time, None))
        joined = parent.left_join(grouped, list(on))
    else:
        if time is None:
            raise ProjectError(
                f"{child_name} has several rows per {', '.join(on)} but no time: with a cut-off, declare "
                f'time = "<column>" on its relationship, so that rows after the cut-off are left out'
            )
        cuts = parent.mutate(**{_CUT: cut_value(parent, cut)})
        left = cuts.select(*on, _CUT).distinct()
        right = child.rename({f"__lathe_key_{i}": key for i, key in enumerate(on)})  # apart from the parent's
        matches = [left[key] == right[f"__lathe_key_{i}"] for i, key in enumerate(on)]
        pairs = left.inner_join(right, [*matches, right[time].cast("timestamp") < left[_CUT]])
        renamed = tuple(f"__lathe_key_{i}" for i in range(len(on)))
        metrics = _aggregates(pairs, child_name, (*on, *renamed, *keys), time, pairs[_CUT])
        grouped = pairs.group_by([*on, _CUT]).aggregate(**metrics)
        joined = cuts.left_join(grouped, [*on, _CUT])
    added = [c for c in joined.columns if c.startswith(f"{child_name}_") and c not in parent.columns]
    count = f"{child_name}_count"
    selected = joined.select(*parent.columns, *added)
    return selected.mutate(**{count: selected[count].fill_null(0)})


def cut_value(parent: ibis.Table, cut: str | datetime) -> Any:
    return ibis.literal(cut) if isinstance(cut, datetime) else parent[cut].cast("timestamp")


def _aggregates(
    rows: ibis.Table, child: str, keys: tuple[str, ...], time: str | None, cut: Any
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {f"{child}_count": rows.count()}
    when = rows[time].cast("timestamp") if time is not None else None
    for name, kind in rows.schema().items():
        if name in keys or name in (time, _CUT):
            continue
        column = rows[name]
        if kind.is_boolean():
            out[f"{child}_{name}_share"] = column.cast("int32").cast("float64").mean()
        elif kind.is_numeric():  # as doubles first: PostgreSQL averages integers as decimals
            number = column.cast("float64")
            out |= {f"{child}_{name}_{how}": getattr(number, how)() for how in ("mean", "min", "max", "sum", "std")}
        elif kind.is_string():
            out |= {f"{child}_{name}_distinct": column.nunique(), f"{child}_{name}_mode": column.mode()}
        else:
            continue
        if when is not None and (kind.is_numeric() or kind.is_string()):
            out[f"{child}_{name}_latest"] = (column.cast("float64") if kind.is_numeric() else column).argmax(when)
    if when is not None and cut is not None:
        days = (cut.epoch_seconds().cast("float64") - when.epoch_seconds().cast("float64")) / _DAY
        out |= {f"{child}_days_since_first": days.max(), f"{child}_days_since_last": days.min()}
    return out
