"""The pieces every page is made of: the style, sections, folds, tables, cells and figures; all text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; margin: 0;
       background: #f3f4f6; line-height: 1.45; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 32px 64px; background: #ffffff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid #e5e7eb; }
.meta { color: #4b5563; font-size: 14px; margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.unused td { color: #6b7280; background: #fafafa; }
tr.search-metric td { font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 16px 32px; align-items: flex-start; }
figure.chart { margin: 12px 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: #4b5563; margin-top: 4px; contain: inline-size; }
code { font-size: 12px; }
details { margin: 8px 0; }
details > summary { cursor: pointer; font-weight: 600; font-size: 14px; color: #1d4ed8; }
.summary { margin: 20px 0 8px; }
.tiles { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
@media (max-width: 900px) { .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.tile { border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px 12px; background: #f9fafb; }
.tile .label { font-size: 13px; font-weight: 600; color: #4b5563; }
.tile .value { font-size: 28px; font-weight: 700; line-height: 1.25; margin: 2px 0 4px;
               font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.tile .sub { font-size: 13px; color: #4b5563; margin: 0; }
.tile.worse .value { color: #b91c1c; }
ol.top { list-style: none; margin: 6px 0 0; padding: 0; font-size: 13px; }
ol.top li { display: grid; grid-template-columns: minmax(0, 8em) minmax(0, 1fr) 3.4em; gap: 6px; align-items: center; }
ol.top .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
ol.top .track { height: 10px; }
ol.top .bar { display: block; height: 10px; border-radius: 2px; background: #2563eb; }
ol.top .share { text-align: right; font-variant-numeric: tabular-nums; color: #4b5563; }
.warnings { margin-top: 12px; border: 1px solid #fcd34d; border-radius: 8px; padding: 8px 14px; background: #fffbeb; }
.warnings.none { border-color: #e5e7eb; background: #f9fafb; }
.warnings h2 { font-size: 15px; margin: 0; padding: 0; border: none; }
.warnings ul { margin: 4px 0; padding-left: 20px; font-size: 14px; }
"""


def page(title: str, sections: Sequence[str], style: str = STYLE) -> str:
    """A self-contained HTML page of ``sections`` (no script, nothing fetched)."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{style}</style></head>"
        f"<body><main>{''.join(sections)}</main></body></html>"
    )


def figure(name: str, svg: str, caption: str) -> str:
    """A chart named ``name`` (its ``data-chart``) with its caption."""
    return f'<figure class="chart" data-chart="{name}">{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def folded(label: str, body: str, name: str) -> str:
    """``body`` folded away under ``label``: one line until opened, no script (``<details>``)."""
    return f'<details data-table="{name}"><summary>{escape(label)}</summary>{body}</details>'


def table(headers: Sequence[str], rows: Sequence[str], row_classes: Sequence[str] = ()) -> str:
    """A table of ``rows`` (each a run of ``<td>`` cells), ``row_classes`` naming their CSS class."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    classes = [*row_classes, *[""] * (len(rows) - len(row_classes))]
    body = "".join(
        f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>"
        for cells, css in zip(rows, classes, strict=True)
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def cell(value: object) -> str:
    return f"<td>{escape('' if value is None else str(value))}</td>"


def number(value: object, spec: str = ".4f", suffix: str = "") -> str:
    """A right-aligned cell of ``value`` formatted by ``spec``; empty where it is not a number."""
    text = format(value, spec) + suffix if isinstance(value, int | float) else ""
    return f'<td class="num">{escape(text)}</td>'


def count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def shown(names: Sequence[str], limit: int = 6) -> str:
    """The first ``limit`` of ``names`` and how many more."""
    return ", ".join(names[:limit]) + (f", ... {len(names) - limit} more" if len(names) > limit else "")
