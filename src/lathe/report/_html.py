"""The training report: one self-contained HTML page with inline SVG charts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from lathe.report import _svg
from lathe.report._curves import confusion, roc_curve, thin

MAX_ROC_CLASSES = 10
TOP_IMPORTANCE = 20

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; background: #ffffff; }
h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 19px; margin-top: 36px; border-bottom: 1px solid #e5e7eb; }
.meta { color: #4b5563; font-size: 14px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.unused td { color: #6b7280; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure.chart { margin: 8px 0; } figcaption { font-size: 13px; color: #4b5563; margin-top: 4px; }
code { font-size: 12px; }
"""


def render_report(data: Mapping[str, Any]) -> str:
    """The report for one training run, as an HTML document (see ``workflows`` for ``data``)."""
    sections = [
        _header(data),
        _data_section(data.get("data", {})),
        _leaderboard_section(data.get("leaderboard", []), str(data.get("metric", ""))),
        _holdout_section(data.get("holdout", {})),
        _evaluation_section(str(data.get("task", "")), data.get("evaluation", {})),
        _importance_section(data.get("importance", [])),
        _notes_section(data.get("notes", [])),
    ]
    title = escape(str(data.get("title", "lathe report")))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><main>{''.join(sections)}</main></body></html>"
    )


def _figure(name: str, svg: str, caption: str) -> str:
    return f'<figure class="chart" data-chart="{name}">{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{classes[i] if i < len(classes) else ""}">{"".join(cells)}</tr>' for i, cells in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object, numeric: bool = False) -> str:
    return f'<td class="num">{escape(str(value))}</td>' if numeric else f"<td>{escape(str(value))}</td>"


def _header(data: Mapping[str, Any]) -> str:
    meta = (
        f"task <b>{escape(str(data.get('task', '')))}</b> · target <b>{escape(str(data.get('target', '')))}</b> · "
        f"source <code>{escape(str(data.get('source', '')))}</code> · created {escape(str(data.get('created', '')))} · "
        f"lathe {escape(str(data.get('lathe_version', '')))}"
    )
    return f"<header><h1>{escape(str(data.get('title', 'lathe report')))}</h1><p class='meta'>{meta}</p></header>"


def _data_section(data: Mapping[str, Any]) -> str:
    counts = (
        f"<p>{data.get('rows', 0):,} rows: {data.get('train_rows', 0):,} to train and search on, "
        f"{data.get('holdout_rows', 0):,} held out and never seen by the search.</p>"
    )
    columns = data.get("columns", [])
    rows = [
        [
            _cell(c["name"]), _cell(c["semantic_type"]), _cell(f"{100 * c['missing_share']:.1f}%", True),
            _cell(f"{c['distinct']:,}", True), _cell("yes" if c["used"] else "no"), _cell(c.get("reason") or ""),
        ]
        for c in columns
    ]  # fmt: skip
    classes = ["" if c["used"] else "unused" for c in columns]
    table = _table(["column", "type", "missing", "distinct", "feature", "why not"], rows, classes)
    return f"<section><h2>Data</h2>{counts}{table}</section>"


def _leaderboard_section(board: Sequence[Mapping[str, Any]], metric: str) -> str:
    if not board:
        return ""
    rows = [
        [
            _cell(c["rank"], True), _cell(c["learner"]), _cell(f"{c['cv_score']:.4f}", True),
            _cell(f"{c['cv_std']:.4f}", True), _cell(f"{c['fit_seconds']:.2f}", True),
            _cell(f"{c['elapsed_seconds']:.1f}", True), f"<td><code>{escape(json.dumps(c['params']))}</code></td>",
        ]
        for c in board
    ]  # fmt: skip
    table = _table(["rank", "learner", metric, "± std", "fit s / fold", "finished at s", "parameters"], rows)
    shown = board[:15]
    labels = [f"#{c['rank']} {c['learner']}" for c in shown]
    chart = _svg.bar_chart("cross-validated score per candidate", labels, [c["cv_score"] for c in shown], metric)
    figure = _figure("leaderboard", chart, f"Cross-validated {metric} of the best {len(shown)} candidates.")
    return f"<section><h2>Leaderboard</h2>{table}{figure}</section>"


def _holdout_section(metrics: Mapping[str, float]) -> str:
    rows = [[_cell(name), _cell(f"{value:.4f}", True)] for name, value in metrics.items()]
    return f"<section><h2>Holdout</h2>{_table(['metric', 'value'], rows)}</section>"


def _evaluation_section(task: str, evaluation: Mapping[str, Any]) -> str:
    if not evaluation or not evaluation.get("y_true"):
        return ""
    figures = _regression(evaluation) if task == "regression" else _classification(evaluation)
    return f"<section><h2>On the holdout</h2><div class='charts'>{''.join(figures)}</div></section>"


def _classification(evaluation: Mapping[str, Any]) -> list[str]:
    labels = [str(c) for c in evaluation["classes"]]
    truth = [str(t) for t in evaluation["y_true"]]
    figures = []
    if evaluation.get("proba") is not None:
        figures.append(_roc(labels, truth, np.asarray(evaluation["proba"], dtype=float)))
    counts = confusion(truth, [str(p) for p in evaluation["y_pred"]], labels)
    chart = _svg.matrix("confusion matrix", labels, counts, "predicted", "actual")
    figures.append(_figure("confusion", chart, "Rows: actual class; columns: predicted class; counts of rows."))
    return figures


def _roc(labels: list[str], truth: list[str], proba: np.ndarray) -> str:
    picked = labels[1:] if len(labels) == 2 else labels[:MAX_ROC_CLASSES]
    series = []
    for label in picked:
        positive = np.array([t == label for t in truth])
        fpr, tpr, auc = roc_curve(positive, proba[:, labels.index(label)])
        fpr, tpr = thin(fpr, tpr)
        series.append((f"{label} (AUC {auc:.3f})", fpr.tolist(), tpr.tolist()))
    chart = _svg.line_chart("ROC curve", series, "false positive rate", "true positive rate", diagonal=True)
    what = f"positive class {labels[1]}" if len(labels) == 2 else "each class against the rest"
    return _figure("roc", chart, f"ROC curve on the holdout, {what}.")


def _regression(evaluation: Mapping[str, Any]) -> list[str]:
    truth = np.asarray(evaluation["y_true"], dtype=float)
    predicted = np.asarray(evaluation["y_pred"], dtype=float)
    scatter = _svg.scatter("predicted against actual", truth.tolist(), predicted.tolist(), "actual", "predicted")
    residuals = _svg.histogram("residuals", (truth - predicted).tolist(), "actual - predicted")
    return [
        _figure("scatter", scatter, "Each holdout row; on the dashed line the prediction is exact."),
        _figure("residuals", residuals, "Distribution of the holdout errors."),
    ]


def _importance_section(importance: Sequence[Mapping[str, Any]]) -> str:
    if not importance:
        return "<section><h2>Feature importance</h2><p>No importance available.</p></section>"
    top = importance[:TOP_IMPORTANCE]
    chart = _svg.bar_chart(
        "importance by raw column", [str(i["column"]) for i in top], [float(i["importance"]) for i in top], "share"
    )
    caption = "Share of the model's importance, summed over the features built from each raw column."
    return f"<section><h2>Feature importance</h2>{_figure('importance', chart, caption)}</section>"


def _notes_section(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{escape(str(n))}</li>" for n in notes)
    return f"<section><h2>Notes</h2><ul>{items}</ul></section>"
