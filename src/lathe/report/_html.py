"""The training report: one self-contained HTML page with inline SVG charts.

``render_report`` takes plain, JSON-like data (the shape is documented on it) and trusts none
of its strings: every one is escaped. The page fetches nothing: its style is inline and its
charts are SVG written by ``_svg``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from lathe.report import _svg
from lathe.report._curves import confusion, roc_curve, thin

MAX_ROC_CLASSES = 10
TOP_CANDIDATES = 15
TOP_IMPORTANCE = 20

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
"""


def render_report(data: Mapping[str, Any]) -> str:
    """The report of one training run, as a complete, self-contained HTML document.

    ``data`` holds ``title``, ``task`` ("binary", "multiclass" or "regression"), ``target``,
    ``created``, ``source``, ``lathe_version``, ``metric``, ``data`` (row counts and one entry
    per raw column), ``leaderboard`` (best first), ``holdout`` (metric name to value),
    ``evaluation`` (holdout ``classes``, ``y_true``, ``y_pred``, ``proba``), ``importance``
    (raw columns, best first), ``permutation`` (``column``, ``drop``), ``partial_dependence``
    (``column``, ``numeric``, ``grid``, ``series`` of ``name`` and ``values``) and ``notes``;
    the last four may be empty or absent.
    """
    metric = str(data.get("metric", ""))
    sections = [
        _header(data),
        _data_section(data.get("data") or {}),
        _features_section(data.get("features") or [], data.get("dropped") or [], data.get("leakage") or []),
        _leaderboard_section(data.get("leaderboard") or [], metric),
        _holdout_section(data.get("holdout") or {}, metric),
        _evaluation_section(str(data.get("task", "")), data.get("evaluation") or {}),
        _importance_section(data.get("importance") or []),
        _permutation_section(data.get("permutation") or [], metric),
        _dependence_section(data.get("partial_dependence") or [], str(data.get("target", ""))),
        _notes_section(data.get("notes") or []),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(str(data.get('title', 'lathe report')))}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(sections)}</main></body></html>"
    )


def _figure(name: str, svg: str, caption: str) -> str:
    return f'<figure class="chart" data-chart="{name}">{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _table(headers: Sequence[str], rows: Sequence[str], row_classes: Sequence[str] = ()) -> str:
    """A table of ``rows`` (each a run of ``<td>`` cells), ``row_classes`` naming their CSS class."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    classes = [*row_classes, *[""] * (len(rows) - len(row_classes))]
    body = "".join(
        f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>"
        for cells, css in zip(rows, classes, strict=True)
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _cell(value: object) -> str:
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _number(value: object, spec: str = ".4f", suffix: str = "") -> str:
    """A right-aligned cell of ``value`` formatted by ``spec``; empty where it is not a number."""
    text = format(value, spec) + suffix if isinstance(value, int | float) else ""
    return f'<td class="num">{escape(text)}</td>'


def _header(data: Mapping[str, Any]) -> str:
    facts = [
        ("task", data.get("task")),
        ("target", data.get("target")),
        ("source", data.get("source")),
        ("created", data.get("created")),
        ("lathe", data.get("lathe_version")),
    ]
    meta = " · ".join(f"{name} <b>{escape(str(value))}</b>" for name, value in facts if value is not None)
    return f"<header><h1>{escape(str(data.get('title', 'lathe report')))}</h1><p class='meta'>{meta}</p></header>"


def _data_section(data: Mapping[str, Any]) -> str:
    columns = data.get("columns") or []
    used = sum(1 for c in columns if c.get("used"))
    counts = (
        f"<p>{_count(data.get('rows'))} rows: {_count(data.get('train_rows'))} to train and search on, "
        f"{_count(data.get('holdout_rows'))} held out and never seen by the search. "
        f"{used} of {len(columns)} columns are used as features.</p>"
    )
    rows = [_column_row(c) for c in columns]
    classes = ["" if c.get("used") else "unused" for c in columns]
    table = _table(["column", "type", "missing", "distinct", "feature", "why not"], rows, classes)
    return _section("Data", counts + table)


def _features_section(
    features: Sequence[Mapping[str, Any]], dropped: Sequence[Mapping[str, Any]], leaks: Sequence[Mapping[str, Any]]
) -> str:
    """What was generated from each raw column, what was dropped as redundant, and the suspected leaks."""
    if not features:
        return ""
    rows = [
        _cell(f.get("column")) + _cell(f.get("transform")) + _number(len(f.get("features") or []), ",")
        + _cell(_shown(f.get("features") or []))
        for f in features
    ]  # fmt: skip
    body = "<p>Each raw column in use and the model inputs made from it; columns left out, and why, are in Data.</p>"
    body += _table(["column", "transform", "features", "names"], rows)
    if dropped:
        body += (
            "<h3>Dropped as redundant</h3><p>Made from a column, but adding nothing the other features do not "
            "already give.</p>" + _table(["feature", "why"], [_cell(d.get("feature")) + _cell(d.get("reason"))
                                                             for d in dropped])
        )  # fmt: skip
    if leaks:
        fates = [_cell(leak.get("column")) + _cell(leak.get("finding")) + _cell(leak.get("fate")) for leak in leaks]
        body += "<h3>Suspected label leaks</h3>" + _table(["column", "finding", "what lathe did"], fates)
    return _section("Features", body)


def _shown(names: Sequence[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f", ... {len(names) - limit} more" if len(names) > limit else "")


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _column_row(column: Mapping[str, Any]) -> str:
    missing = column.get("missing_share")
    return "".join(
        [
            _cell(column.get("name")),
            _cell(column.get("semantic_type")),
            _number(100 * missing if isinstance(missing, int | float) else None, ".1f", "%"),
            _number(column.get("distinct"), ","),
            _cell("yes" if column.get("used") else "no"),
            _cell(column.get("reason")),
        ]
    )


def _leaderboard_section(board: Sequence[Mapping[str, Any]], metric: str) -> str:
    if not board:
        return _section("Leaderboard", "<p>No candidates were scored.</p>")
    rows = [_candidate_row(c) for c in board]
    headers = ["rank", "learner", f"CV {metric} ± std", "fit s / fold", "predict s / 1k rows", "finished at s"]
    table = _table([*headers, "parameters"], rows)
    shown = board[:TOP_CANDIDATES]
    labels = [f"#{c.get('rank')} {c.get('learner')}" for c in shown]
    chart = _svg.bar_chart("cross-validated score per candidate", labels, [float(c["cv_score"]) for c in shown], metric)
    caption = f"Cross-validated {metric} of the best {len(shown)} of {len(board)} candidates."
    figures = _figure("leaderboard", chart, caption) + _score_over_time(board, metric)
    return _section("Leaderboard", table + figures)


def _score_over_time(board: Sequence[Mapping[str, Any]], metric: str) -> str:
    """Each candidate's score at the second it finished, and the best so far."""
    finished = sorted(board, key=lambda c: float(c["elapsed_seconds"]))
    seconds = [float(c["elapsed_seconds"]) for c in finished]
    scores = [float(c["cv_score"]) for c in finished]
    best = [float(min(finished[: i + 1], key=lambda c: int(c["rank"]))["cv_score"]) for i in range(len(finished))]
    series = [("candidate", seconds, scores), ("best so far", seconds, best)]
    chart = _svg.line_chart("score over time", series, "seconds into the search", f"CV {metric}")
    caption = f"Cross-validated {metric} of each candidate as it finished, and the best so far."
    return _figure("progress", chart, caption)


def _candidate_row(candidate: Mapping[str, Any]) -> str:
    score = f"{candidate['cv_score']:.4f} ± {candidate.get('cv_std') or 0.0:.4f}"
    return "".join(
        [
            _number(candidate.get("rank"), "d"),
            _cell(candidate.get("learner")),
            f'<td class="num">{escape(score)}</td>',
            _number(candidate.get("fit_seconds"), ".2f"),
            _number(candidate.get("predict_seconds_per_1k"), ".4f"),
            _number(candidate.get("elapsed_seconds"), ".1f"),
            f"<td><code>{escape(candidate.get('described') or _params(candidate.get('params') or {}))}</code></td>",
        ]
    )


def _params(params: Mapping[str, Any]) -> str:
    """``name=value`` pairs, floats to four significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _holdout_section(metrics: Mapping[str, Any], metric: str) -> str:
    rows = [_cell(name) + _number(value) for name, value in metrics.items()]
    classes = ["search-metric" if name == metric else "" for name in metrics]
    note = "<p>Scored once, by the final model, on rows the search never saw.</p>"
    return _section("Holdout", note + _table(["metric", "value"], rows, classes))


def _evaluation_section(task: str, evaluation: Mapping[str, Any]) -> str:
    if not evaluation or not evaluation.get("y_true"):
        return ""
    figures = _regression(evaluation) if task == "regression" else _classification(evaluation)
    return _section("On the holdout", f"<div class='charts'>{''.join(figures)}</div>")


def _classification(evaluation: Mapping[str, Any]) -> list[str]:
    truth = [str(t) for t in evaluation["y_true"]]
    predicted = [str(p) for p in evaluation["y_pred"]]
    classes = [str(c) for c in evaluation.get("classes") or []]
    figures = []
    if evaluation.get("proba") is not None:
        figures.append(_roc(classes, truth, np.asarray(evaluation["proba"], dtype=float)))
    labels = classes + sorted(set(truth + predicted) - set(classes))
    chart = _svg.matrix("confusion matrix", labels, confusion(truth, predicted, labels), "predicted", "actual")
    caption = "Holdout rows by actual class (rows) and predicted class (columns), shaded by share of the row."
    figures.append(_figure("confusion", chart, caption))
    return figures


def _roc_classes(classes: list[str], truth: list[str]) -> list[str]:
    """The classes to draw: the positive one of two, else the most frequent, each seen and not seen."""
    frequency = Counter(truth)
    drawable = [c for c in classes if 0 < frequency[c] < len(truth)]
    if len(classes) == 2:
        return [c for c in drawable if c == classes[1]]
    return sorted(drawable, key=lambda c: -frequency[c])[:MAX_ROC_CLASSES]


def _roc(classes: list[str], truth: list[str], proba: np.ndarray) -> str:
    series: list[_svg.Series] = []
    for label in _roc_classes(classes, truth):
        fpr, tpr, auc = roc_curve(np.array([t == label for t in truth]), proba[:, classes.index(label)])
        fpr, tpr = thin(fpr, tpr)
        series.append((f"{label} (AUC {auc:.3f})", fpr.tolist(), tpr.tolist()))
    chart = _svg.line_chart("ROC curve", series, "false positive rate", "true positive rate", diagonal=True)
    return _figure("roc", chart, _roc_caption(classes, len(series)))


def _roc_caption(classes: list[str], drawn: int) -> str:
    if len(classes) == 2:
        what = f"positive class {classes[1]}"
    else:
        what = f"{drawn} of {len(classes)} classes, most frequent first, each against the rest"
    return f"ROC curve on the holdout, {what}; the dashed line is a random guess."


def _regression(evaluation: Mapping[str, Any]) -> list[str]:
    truth = np.asarray(evaluation["y_true"], dtype=float)
    predicted = np.asarray(evaluation["y_pred"], dtype=float)
    scatter = _svg.scatter("predicted against actual", truth.tolist(), predicted.tolist(), "actual", "predicted")
    residuals = _svg.histogram("residuals", (truth - predicted).tolist(), "actual - predicted", reference=0.0)
    return [
        _figure("scatter", scatter, "One point per holdout row; on the dashed line the prediction is exact."),
        _figure("residuals", residuals, "Distribution of the holdout errors; the dashed line marks zero."),
    ]


def _importance_section(importance: Sequence[Mapping[str, Any]]) -> str:
    if not importance:
        return _section("Feature importance", "<p>No importance available.</p>")
    top = importance[:TOP_IMPORTANCE]
    labels, values = [str(i["column"]) for i in top], [100 * float(i["importance"]) for i in top]
    chart = _svg.bar_chart("importance by raw column", labels, values, "% of the importance", value_format=".1f")
    caption = (
        f"The {len(top)} most important raw columns: mean absolute contribution to the holdout predictions "
        "(exact SHAP values), summed over the features built from each column."
    )
    return _section("Feature importance", _figure("importance", chart, caption))


def _permutation_section(drops: Sequence[Mapping[str, Any]], metric: str) -> str:
    if not drops:
        return ""
    top = drops[:TOP_IMPORTANCE]
    labels, values = [str(d["column"]) for d in top], [float(d["drop"]) for d in top]
    chart = _svg.bar_chart("holdout score lost when a column is shuffled", labels, values, f"drop in {metric}")
    caption = f"How much the holdout {metric} drops when each raw column's values are shuffled among the rows."
    return _section("Permutation importance", _figure("permutation", chart, caption))


def _dependence_section(curves: Sequence[Mapping[str, Any]], target: str) -> str:
    figures = [_dependence(curve, target) for curve in curves]
    if not figures:
        return ""
    intro = "<p>The mean prediction over holdout rows when one column is set to each value in turn.</p>"
    return _section("Partial dependence", intro + f"<div class='charts'>{''.join(figures)}</div>")


def _dependence(curve: Mapping[str, Any], target: str) -> str:
    column, grid, series = str(curve["column"]), curve["grid"], curve["series"]
    y_title = f"mean predicted {target}" if len(series) == 1 and series[0]["name"] == target else "mean probability"
    if curve["numeric"]:
        lines = [(str(s["name"]), [float(x) for x in grid], [float(v) for v in s["values"]]) for s in series]
        chart = _svg.line_chart(f"partial dependence on {column}", lines, column, y_title)
    else:
        first = series[0]
        labels = [str(g) for g in grid]
        chart = _svg.bar_chart(f"partial dependence on {column}", labels, [float(v) for v in first["values"]], y_title)
    shown = series if curve["numeric"] else series[:1]
    return _figure("dependence", chart, f"{column}: {', '.join(str(s['name']) for s in shown)}")


def _notes_section(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return _section("Notes", "<ul>" + "".join(f"<li>{escape(str(n))}</li>" for n in notes) + "</ul>")
