"""The profile page: what each column of a table holds, its issues first, with inline SVG charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from lathe.report import _svg
from lathe.report._parts import STYLE, cell, figure, number, section, table


def render_profile(data: Mapping[str, Any], source: str, created: str) -> str:
    """The page for a profile (``Profile.to_dict()``) of the table at ``source``, as one HTML document."""
    columns = data.get("columns") or []
    sections = [
        f"<header><h1>Profile of {escape(source)}</h1><p class='meta'>{data.get('rows', 0):,} rows · "
        f"{len(columns)} columns · created {escape(created)}</p></header>",
        _issues_section(data, columns),
        _summary_section(columns),
        *[_column_section(column) for column in columns],
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Profile of {escape(source)}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(sections)}</main></body></html>"
    )


def _issues_section(data: Mapping[str, Any], columns: Sequence[Mapping[str, Any]]) -> str:
    found = [f"<li><b>{escape(c['name'])}</b>: {escape(issue)}</li>" for c in columns for issue in c.get("issues", ())]
    if data.get("duplicate_rows"):
        found.insert(0, f"<li><b>table</b>: {data['duplicate_rows']:,} duplicate rows</li>")
    body = f"<ul>{''.join(found)}</ul>" if found else "<p>No issues found.</p>"
    return section("Issues", body)


def _summary_section(columns: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        "".join([
            cell(c["name"]), cell(c["semantic_type"]), number(100 * _missing(c), ".1f", "%"),
            number(c["distinct"], ","), cell(_range(c)),
        ])
        for c in columns
    ]  # fmt: skip
    return section("Columns", table(["column", "type", "missing", "distinct", "range or most frequent"], rows))


def _column_section(column: Mapping[str, Any]) -> str:
    facts = {
        "type": f"{column['semantic_type']} (stored as {column['storage']})",
        "missing": f"{100 * _missing(column):.1f}%",
        "distinct": f"{column['distinct']:,}",
        **{k: _value(column.get(k)) for k in ("minimum", "maximum", "mean", "std") if column.get(k) is not None},
        **({"quartiles": " / ".join(_value(q) for q in column["quantiles"])} if column.get("quantiles") else {}),
    }
    listed = table(["", ""], [cell(k) + cell(v) for k, v in facts.items()])
    return section(f"{column['name']}", f"<div class='charts'>{listed}{_chart(column)}</div>")


def _chart(column: Mapping[str, Any]) -> str:
    name = str(column["name"])
    if column.get("histogram"):
        labels = [f"{_value(low)} to {_value(high)}" for low, high, _ in column["histogram"]]
        counts = [float(n) for _, _, n in column["histogram"]]
        chart = _svg.bar_chart(f"distribution of {name}", labels, counts, "rows", value_format=",.0f")
        return figure("histogram", chart, f"Rows of {name} in {len(labels)} equal-width bins.")
    if column.get("top"):
        labels, counts = [str(v) for v, _ in column["top"]], [float(n) for _, n in column["top"]]
        chart = _svg.bar_chart(f"most frequent values of {name}", labels, counts, "rows", value_format=",.0f")
        return figure("top", chart, f"The {len(labels)} most frequent values of {name}.")
    return ""


def _missing(column: Mapping[str, Any]) -> float:
    return 1.0 - column["present"] / column["rows"] if column["rows"] else 0.0


def _range(column: Mapping[str, Any]) -> str:
    if column.get("top"):
        value, count = column["top"][0]
        return f"{value} ({count:,})"
    if column.get("minimum") is not None:
        return f"{_value(column['minimum'])} to {_value(column['maximum'])}"
    return ""


def _value(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
