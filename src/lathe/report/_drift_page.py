"""The drift page: one self-contained HTML document, the verdict first.

Then the columns that matter (importance times drift), a table of every measure against its
threshold, and per column a chart of the reference's and the current rows' shares per bin.
Every string is escaped; the page fetches nothing (inline style, inline SVG).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from lathe.report import _svg
from lathe.report._parts import STYLE, figure, page, section, table

MEASURES = ("psi", "js", "wasserstein", "missing", "unseen")
TOP = 10
CHARTS = 30

VERDICT_STYLE = """
.verdict { font-size: 18px; padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.verdict.drift { background: #fee2e2; color: #991b1b; } .verdict.fine { background: #dcfce7; color: #166534; }
td.past { background: #fee2e2; font-weight: 600; }
"""


def render_drift(report: Mapping[str, Any], title: str) -> str:
    """The drift page of a report (``lathe.monitor.DriftReport.to_dict()``), titled ``title``, as one HTML document."""
    sections = [
        f"<header><h1>{escape(title)}</h1><p class='meta'>{_meta(report)}</p></header>",
        f"<p class='verdict {'drift' if report['drift'] else 'fine'}' data-verdict>{escape(report['verdict'])}</p>",
        top(report["columns"]),
        measures("Input columns", report["columns"]),
        measures("Predictions (on a random sample of the rows)", report["predictions"]),
        charts(report["columns"], report["predictions"]),
        _notes(report),
    ]
    return page(title, sections, STYLE + VERDICT_STYLE)


def _meta(report: Mapping[str, Any]) -> str:
    facts = [
        ("current", report["source"]),
        ("rows", f"{report['rows']:,}"),
        ("reference rows", f"{report['reference_rows']:,}"),
        ("scored sample", f"{report['sample_rows']:,}"),
    ]
    return " · ".join(f"{name} <b>{escape(str(value))}</b>" for name, value in facts)


def top(columns: Sequence[Mapping[str, Any]]) -> str:
    ranked = sorted(columns, key=lambda c: -c["impact"])[:TOP]
    if not ranked:
        return ""
    rows = [
        f"<td>{escape(c['column'])}</td><td class='num'>{c['impact']:.4f}</td>"
        f"<td class='num'>{c['importance']:.1%}</td><td class='num'>{c['measures']['js']:.3f}</td>"
        f"<td>{escape(', '.join(c['past']) or '-')}</td>"
        for c in ranked
    ]
    headers = ["column", "drift x importance", "importance", "JS distance", "past threshold"]
    return section("The columns that matter", table(headers, rows))


def measures(title: str, columns: Sequence[Mapping[str, Any]]) -> str:
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
    return section(title, note + table(headers, rows))


def charts(
    columns: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]],
    title: str = "Reference and current, bin by bin",
) -> str:  # fmt: skip
    shown = [*sorted(columns, key=lambda c: -c["impact"])[:CHARTS], *predictions]
    figures = [
        figure(escape(c["column"]), _paired_bars(c), f"{c['column']}: share of rows per bin, reference against current")
        for c in shown
    ]
    if not figures:
        return ""
    return section(title, f"<div class='charts'>{''.join(figures)}</div>")


def _paired_bars(column: Mapping[str, Any]) -> str:
    """Horizontal bars per bin: the reference's share over the current rows'."""
    labels, reference, current = column["labels"], column["reference"], column["current"]
    left, width, half = 150.0, _svg.WIDTH * 0.9, _svg.ROW / 2
    height = 16 + _svg.ROW * len(labels) + 28
    scale = (width - left - 56) / max([*reference, *current, 1e-9])
    old, new = _svg.PALETTE[8], _svg.PALETTE[0]
    body = []
    for i, (label, p, q) in enumerate(zip(labels, reference, current, strict=True)):
        y = 8 + i * _svg.ROW
        body += [
            _svg._text(left - 8, y + half + 4, _svg._clip(label, left - 16), anchor="end"),
            _svg._rect(left, y + 2, max(p * scale, 0.5), half - 2, old, tip=f"reference {label}: {p:.1%}"),
            _svg._rect(left, y + half, max(q * scale, 0.5), half - 2, new, tip=f"current {label}: {q:.1%}"),
            _svg._text(left + max(p, q) * scale + 4, y + half + 4, f"{p:.1%} → {q:.1%}", "start", _svg.MUTED),
        ]
    y = height - 12
    for x, colour, name in ((left, old, "reference"), (left + 96, new, "current")):
        body += [_svg._rect(x, y - 9, 10, 10, colour), _svg._text(x + 14, y, name, anchor="start")]
    return _svg._svg(f"{column['column']}: reference and current shares per bin", width, height, body)


def _notes(report: Mapping[str, Any]) -> str:
    notes = [f"{s['column']}: no bins ({s['reason']})." for s in report.get("skipped", [])]
    notes.append(
        f"The predictions were measured on a random sample of {report['sample_rows']:,} of the rows, "
        "drawn where the table lives; the input columns on every row, by aggregate queries."
    )
    return section("Notes", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
