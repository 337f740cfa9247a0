"""The page of a prediction log: the verdict, then drift over windows, performance, and the columns.

It leads with the verdict and the columns that matter over the whole log (drift times
importance), then the overall drift per window against its threshold, per window the
performance (realised with its interval, the estimate before labels, the holdout's), and per
column the drift over windows and the reference against the logged rows, bin by bin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from lathe.report import _svg
from lathe.report._drift_page import VERDICT_STYLE, charts, measures, top
from lathe.report._parts import STYLE, figure, page, section, table

COLUMN_CHARTS = 8  # columns with a chart of their drift over windows, the most important first


def render_log(report: Mapping[str, Any], title: str) -> str:
    """The page of a log's report (``lathe.monitor.LogReport.to_dict()``), titled ``title``, as one HTML document."""
    total = report["total"]
    alarm = report["drift"] or bool(report["worse"])
    sections = [
        f"<header><h1>{escape(title)}</h1><p class='meta'>{_meta(report)}</p></header>",
        f"<p class='verdict {'drift' if alarm else 'fine'}' data-verdict>{escape(report['verdict'])}</p>",
        top(total["columns"]),
        _over_windows(report["windows"]),
        _performance(report["performance"]),
        _columns_over_windows(total["columns"], report["windows"]),
        measures("Input columns, every logged row", total["columns"]),
        measures("Logged outputs, every logged row", total["predictions"]),
        charts(total["columns"], total["predictions"], "Reference and logged rows, bin by bin"),
        _notes(report),
    ]
    return page(title, sections, STYLE + VERDICT_STYLE)


def _meta(report: Mapping[str, Any]) -> str:
    facts = [
        ("log", report["source"]),
        ("rows", f"{report['total']['rows']:,}"),
        ("windows", f"{len(report['windows'])} ({report['by']})"),
        ("reference rows", f"{report['total']['reference_rows']:,}"),
    ]
    return " · ".join(f"{name} <b>{escape(str(value))}</b>" for name, value in facts)


def _over_windows(windows: Sequence[Mapping[str, Any]]) -> str:
    measured = [(i, w) for i, w in enumerate(windows) if w["rows"]]
    series = [
        ("overall drift", [i + 1.0 for i, _ in measured], [w["overall"]["score"] for _, w in measured]),
        ("threshold", [i + 1.0 for i, _ in measured], [w["overall"]["threshold"] for _, w in measured]),
    ]
    past = [(i, w) for i, w in measured if w["drifted"]]
    if past:
        series.append(("drifted", [i + 1.0 for i, _ in past], [w["overall"]["score"] for _, w in past]))
    tips = [f"{w['label']}: {', '.join(w['drifted'])}" for _, w in past]
    chart = _svg.line_chart("Overall drift per window", series, "window (numbered as in the table)",
                            "importance-weighted JS distance", dotted=["drifted"], tips=tips)  # fmt: skip
    rows = [
        f"<td class='num'>{i + 1}</td><td>{escape(w['label'])}</td><td class='num'>{w['rows']:,}</td>"
        + (
            "<td class='num'>-</td><td>no rows logged</td>"
            if not w["rows"]
            else f"<td class='num{' past' if w['overall']['past'] else ''}'>{w['overall']['score']:.4f} / "
            f"{w['overall']['threshold']:.3f}</td><td>{escape(', '.join(w['drifted']) or '-')}</td>"
        )
        for i, w in enumerate(windows)
    ]
    body = figure("drift-over-windows", chart, "the importance-weighted drift of each window and its threshold")
    body += table(["#", "window", "rows", "overall drift / threshold", "past a threshold"], rows)
    return section("Drift over windows", body)


def _performance(performance: Mapping[str, Any] | None) -> str:
    if performance is None:
        return section("Performance", "<p class='meta'>No labels given: run with --labels SOURCE --id COL.</p>")
    metric, holdout = performance["metric"], performance["holdout"].get(performance["metric"])
    windows = performance["windows"]
    series = [(name, [float(i + 1) for i, _ in points], [v for _, v in points]) for name, points in (
        ("realised", _points(windows, lambda w: w["realised"] and w["realised"]["metrics"].get(metric))),
        ("realised 95% low", _points(windows, lambda w: _bound(w["realised"], "low"))),
        ("realised 95% high", _points(windows, lambda w: _bound(w["realised"], "high"))),
        ("estimated (CBPE)", _points(windows, lambda w: w["estimated"] and w["estimated"]["value"])),
        ("estimate 95% low", _points(windows, lambda w: w["estimated"] and w["estimated"]["low"])),
        ("estimate 95% high", _points(windows, lambda w: w["estimated"] and w["estimated"]["high"])),
        ("holdout", [(i, holdout) for i in range(len(windows))] if holdout is not None else []),
    ) if points]  # fmt: skip
    chart = _svg.line_chart(f"{metric} per window", series, "window (numbered as in the table)", metric)
    rows = [_performance_row(i, w, metric) for i, w in enumerate(windows)]
    headers = ["#", "window", "rows", "labelled", "without label", f"realised {metric} [95%]",
               f"estimated {metric} [95%]", "other metrics"]  # fmt: skip
    estimate = performance["estimate"]
    note = f"<p class='meta'>{escape(performance['verdict'])}. Holdout {escape(metric)}: {_number(holdout)}. "
    note += escape(
        "Rows without a label (missing, or not come yet) are left out of the realised metric, and counted; "
        "a window with fewer than 30 labelled rows has no realised metric yet. "
        + ("" if estimate is None else f"The estimate: {estimate['method']}; {estimate['calibration']}.")
    ) + "</p>"  # fmt: skip
    body = figure("performance-over-windows", chart, f"{metric} per window: realised, estimated and the holdout's")
    return section("Performance", note + body + table(headers, rows))


def _bound(realised: Mapping[str, Any] | None, end: str) -> Any:
    return None if realised is None or realised["interval"] is None else realised["interval"][end]


def _points(windows: Sequence[Mapping[str, Any]], value: Any) -> list[tuple[int, float]]:
    return [(i, float(v)) for i, w in enumerate(windows) if (v := value(w)) is not None]


def _performance_row(i: int, window: Mapping[str, Any], metric: str) -> str:
    realised, estimated = window["realised"], window["estimated"]
    if realised is None:
        shown = "labels to come" if window["rows"] else "-"
        others = ""
    else:
        low, high = _bound(realised, "low"), _bound(realised, "high")
        shown = f"{_number(realised['metrics'].get(metric))} [{_number(low)}, {_number(high)}]"
        others = ", ".join(f"{k} {_number(v)}" for k, v in realised["metrics"].items() if k != metric)
    guess = "-" if estimated is None else (
        f"{_number(estimated['value'])} [{_number(estimated['low'])}, {_number(estimated['high'])}]")  # fmt: skip
    cells = [str(i + 1), escape(window["label"]), f"{window['rows']:,}", f"{window['labelled']:,}",
             f"{window['unlabelled']:,}"]  # fmt: skip
    worse = " past" if window["worse"] else ""
    return (
        "".join(f"<td class='num'>{c}</td>" for c in cells)
        + f"<td class='num{worse}'>{escape(shown)}</td><td class='num'>{escape(guess)}</td><td>{escape(others)}</td>"
    )


def _number(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4g}"


def _columns_over_windows(columns: Sequence[Mapping[str, Any]], windows: Sequence[Mapping[str, Any]]) -> str:
    ranked = [c["column"] for c in sorted(columns, key=lambda c: -c["impact"])[:COLUMN_CHARTS]]
    figures = []
    for name in ranked:
        points = [(i + 1.0, entry) for i, w in enumerate(windows) if w["rows"]
                  for entry in w["columns"] if entry["column"] == name]  # fmt: skip
        series = [
            ("JS distance", [x for x, _ in points], [e["measures"]["js"] for _, e in points]),
            ("threshold", [x for x, _ in points], [e["thresholds"].get("js", 0.0) for _, e in points]),
        ]
        chart = _svg.line_chart(f"{name}: drift per window", series, "window", "JS distance")
        figures.append(figure(escape(name), chart, f"{name}: Jensen-Shannon distance per window and its threshold"))
    if not figures:
        return ""
    return section("Drift over windows, column by column", f"<div class='charts'>{''.join(figures)}</div>")


def _notes(report: Mapping[str, Any]) -> str:
    notes = [f"{s['column']}: no bins ({s['reason']})." for s in report["total"].get("skipped", [])]
    for other in report["others"]:
        version = "" if other["version"] is None else f" version {other['version']}"
        notes.append(
            f"Left out: {int(other['rows']):,} rows of model {other['model']}{version} "
            f"(checksum {str(other['model_checksum'])[:12]}), another version than this one."
        )
    notes.append(
        "Every logged row's inputs and outputs were counted into the reference's bins by aggregate queries "
        "grouped by window, where the log lives; each window is measured against thresholds for its own size."
    )
    return section("Notes", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
