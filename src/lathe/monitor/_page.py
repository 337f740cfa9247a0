"""The drift page: one self-contained HTML document, the verdict first.

Then the columns that matter (importance times drift), a table of every measure against its
threshold, and per column a chart of the reference's and the current rows' shares per bin.
Every string is escaped; the page fetches nothing (inline style, inline SVG).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from lathe.report._svg import INK, MUTED, PALETTE, ROW, WIDTH, _clip, _rect, _svg, _text

MEASURES = ("psi", "js", "wasserstein", "missing", "unseen")
TOP = 10
CHARTS = 30

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; margin: 0;
       background: #f3f4f6; line-height: 1.45; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 32px 64px; background: #ffffff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 1px solid #e5e7eb; }
.verdict { font-size: 18px; padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.verdict.drift { background: #fee2e2; color: #991b1b; } .verdict.fine { background: #dcfce7; color: #166534; }
.meta { color: #4b5563; font-size: 14px; margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; }
th { background: #f9fafb; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.past { background: #fee2e2; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 16px 32px; }
figure.chart { margin: 12px 0; } figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: #4b5563; margin-top: 4px; }
"""


def render_drift(report: dict[str, Any], title: str) -> str:
    """The page of a ``DriftReport.to_dict()``, titled ``title``."""
    sections = [
        f"<header><h1>{escape(title)}</h1><p class='meta'>{_meta(report)}</p></header>",
        f"<p class='verdict {'drift' if report['drift'] else 'fine'}' data-verdict>{escape(report['verdict'])}</p>",
        _top(report["columns"]),
        _measures("Input columns", report["columns"]),
        _measures("Predictions (on a random sample of the rows)", report["predictions"]),
        _charts(report["columns"], report["predictions"]),
        _notes(report),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>{''.join(sections)}</main></body></html>"
    )


def _meta(report: dict[str, Any]) -> str:
    facts = [("current", report["source"]), ("rows", f"{report['rows']:,}"),
             ("reference rows", f"{report['reference_rows']:,}"), ("scored sample", f"{report['sample_rows']:,}")]  # fmt: skip
    return " · ".join(f"{name} <b>{escape(str(value))}</b>" for name, value in facts)


def _top(columns: Sequence[dict[str, Any]]) -> str:
    ranked = sorted(columns, key=lambda c: -c["impact"])[:TOP]
    if not ranked:
        return ""
    rows = [
        f"<td>{escape(c['column'])}</td><td class='num'>{c['impact']:.4f}</td><td class='num'>{c['importance']:.1%}</td>"
        f"<td class='num'>{c['measures']['js']:.3f}</td><td>{escape(', '.join(c['past']) or '-')}</td>"
        for c in ranked
    ]
    headers = ["column", "drift x importance", "importance", "JS distance", "past threshold"]
    return _section("The columns that matter", _table(headers, rows))


def _measures(title: str, columns: Sequence[dict[str, Any]]) -> str:
    if not columns:
        return ""
    rows = []
    for c in columns:
        cells = [f"<td>{escape(c['column'])}</td><td>{escape(c['kind'])}</td>"]
        for measure in MEASURES:
            value, limit = c["measures"].get(measure), c["thresholds"].get(measure)
            past = " past" if measure in c["past"] else ""
            shown = "-" if value is None else f"{value:.4g}" + ("" if limit is None else f" / {limit:.3g}")
            cells.append(f"<td class='num{past}'>{escape(shown)}</td>")
        rows.append("".join(cells))
    headers = ["column", "kind", "PSI", "JS distance", "Wasserstein", "missing change", "unseen share"]
    note = "<p class='meta'>Each cell: the measure / its threshold for this many rows; past it, shaded.</p>"
    return _section(title, note + _table(headers, rows))


def _charts(columns: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]]) -> str:
    shown = [*sorted(columns, key=lambda c: -c["impact"])[:CHARTS], *predictions]
    figures = [
        f'<figure class="chart" data-chart="{escape(c["column"])}">{paired_bars(c)}'
        f"<figcaption>{escape(c['column'])}: share of rows per bin, reference against current</figcaption></figure>"
        for c in shown
    ]
    return (
        _section("Reference and current, bin by bin", f"<div class='charts'>{''.join(figures)}</div>")
        if figures
        else ""
    )


def paired_bars(column: dict[str, Any]) -> str:
    """Horizontal bars per bin: the reference's share over the current rows'."""
    labels, reference, current = column["labels"], column["reference"], column["current"]
    left, width = 150.0, WIDTH * 0.9
    height = 16 + ROW * len(labels) + 28
    top = max([*reference, *current, 1e-9])
    scale = (width - left - 56) / top
    body = []
    for i, (label, p, q) in enumerate(zip(labels, reference, current, strict=True)):
        y = 8 + i * ROW
        body.append(_text(left - 8, y + ROW / 2 + 4, _clip(label, left - 16), anchor="end"))
        body.append(_rect(left, y + 2, max(p * scale, 0.5), ROW / 2 - 2, PALETTE[8], tip=f"reference {label}: {p:.1%}"))
        body.append(
            _rect(left, y + ROW / 2, max(q * scale, 0.5), ROW / 2 - 2, PALETTE[0], tip=f"current {label}: {q:.1%}")
        )
        body.append(
            _text(left + max(p, q) * scale + 4, y + ROW / 2 + 4, f"{p:.1%} → {q:.1%}", anchor="start", fill=MUTED)
        )
    y = height - 12
    body += [_rect(left, y - 9, 10, 10, PALETTE[8]), _text(left + 14, y, "reference", anchor="start", fill=INK),
             _rect(left + 96, y - 9, 10, 10, PALETTE[0]), _text(left + 110, y, "current", anchor="start", fill=INK)]  # fmt: skip
    return _svg(f"{column['column']}: reference and current shares per bin", width, height, body)


def _notes(report: dict[str, Any]) -> str:
    notes = [f"{s['column']}: no bins ({s['reason']})." for s in report.get("skipped", [])]
    notes.append(
        f"The predictions were measured on a random sample of {report['sample_rows']:,} of the rows, "
        "drawn where the table lives; the input columns on every row, by aggregate queries."
    )
    return _section("Notes", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _table(headers: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(f"<tr>{cells}</tr>" for cells in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
