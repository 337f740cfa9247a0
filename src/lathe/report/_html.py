"""The training report: one self-contained HTML page with inline SVG charts.

The page leads with the answer (``_summary``: the holdout score and its interval, the winner,
the baseline it beats, the columns that matter most, the warnings), then the charts, then the
long tables folded in ``<details>``. ``render_report`` takes plain, JSON-like data (the shape
is documented on it) and trusts none of its strings: every one is escaped. The page fetches
nothing and runs no script: its style is inline and its charts are SVG written by ``_svg``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from lathe.report import _svg
from lathe.report._parts import cell, count, figure, folded, number, page, section, shown, table
from lathe.report._summary import summary

TOP_CANDIDATES = 15
TOP_IMPORTANCE = 20


def render_report(data: Mapping[str, Any]) -> str:
    """The report of one training run, as a complete, self-contained HTML document.

    ``data`` holds ``title``, ``task`` ("binary", "multiclass" or "regression"), ``target``,
    ``created``, ``source``, ``lathe_version``, ``metric`` and ``greater_is_better``, ``data``
    (row counts and one entry per raw column), ``leaderboard`` (best first), ``holdout`` (metric
    name to value), ``interval`` (``low``, ``high``, ``level``, ``resamples`` of the metric on the
    holdout; see ``bootstrap_interval``), ``baseline`` (``name``, ``described`` and its
    ``holdout`` metrics), ``evaluation`` (see ``holdout_evaluation``), ``importance`` (raw
    columns, best first), ``permutation`` (``column``, ``drop``), ``partial_dependence``
    (``column``, ``numeric``, ``grid``, ``series`` of ``name`` and ``values``), ``features``,
    ``dropped``, ``leakage``, ``notes`` (the warnings) and ``limits`` (``max_latency_ms`` and
    ``max_size_mb``, or None); all but the first few may be empty or absent.
    """
    metric, board = str(data.get("metric", "")), data.get("leaderboard") or []
    sections = [
        _header(data),
        summary(data),
        _holdout_section(data),
        _importance_section(data.get("importance") or []),
        _permutation_section(data.get("permutation") or [], metric),
        _dependence_section(data.get("partial_dependence") or [], str(data.get("target", ""))),
        _search_section(board, metric, data.get("limits") or {}),
        _leaderboard_section(board, metric),
        _data_section(data.get("data") or {}),
        _features_section(data.get("features") or [], data.get("dropped") or [], data.get("leakage") or []),
    ]
    return page(str(data.get("title", "lathe report")), sections)


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


def _holdout_section(data: Mapping[str, Any]) -> str:
    """The holdout metrics, each beside the baseline's, and the charts drawn from the same rows."""
    metrics, metric = data.get("holdout") or {}, str(data.get("metric", ""))
    if not metrics:
        return section("On the holdout", "<p>No rows were held out: the scores are cross-validated.</p>")
    interval, baseline = data.get("interval") or {}, data.get("baseline") or {}
    base = baseline.get("holdout") or {}
    name = str(baseline.get("name", "baseline"))
    span = f"{interval['low']:.4f} to {interval['high']:.4f}" if interval else ""
    rows = [
        cell(key) + number(value) + f'<td class="num">{escape(span if key == metric else "")}</td>'
        + number(base.get(key))
        for key, value in metrics.items()
    ]  # fmt: skip
    classes = ["search-metric" if key == metric else "" for key in metrics]
    level = f"{interval['level']:.0%}" if interval else "95%"
    headers = ["metric", "model", f"{level} interval", name]
    evaluation = data.get("evaluation") or {}
    held = evaluation.get("rows", (data.get("data") or {}).get("holdout_rows"))
    note = f"<p>Scored once, by the final model, on the {count(held)} rows the search never saw. " + escape(
        _interval_note(interval) + f"The {name} {baseline.get('described', '')}; it scores the same rows."
    ) + "</p>"  # fmt: skip
    figures = _evaluation_figures(str(data.get("task", "")), evaluation)
    charts = f"<div class='charts'>{''.join(figures)}</div>" if figures else ""
    return section("On the holdout", note + table(headers, rows, classes) + charts)


def _interval_note(interval: Mapping[str, Any]) -> str:
    if not interval:
        return ""
    drawn, rows = interval.get("drawn"), interval.get("rows")
    sampled = f" of {drawn:,} rows each, the spread scaled to {rows:,} rows" if drawn != rows else ""
    level, resamples = interval["level"], interval["resamples"]
    return f"The interval is the middle {level:.0%} of the scores of {resamples} bootstrap resamples{sampled}. "


def _evaluation_figures(task: str, evaluation: Mapping[str, Any]) -> list[str]:
    if not evaluation.get("rows"):
        return []
    if task == "regression":
        return _regression(evaluation)
    return ([_roc(evaluation)] if evaluation.get("roc") else []) + [_confusion(evaluation)]


def _roc(evaluation: Mapping[str, Any]) -> str:
    curves, classes = evaluation["roc"], evaluation.get("classes") or []
    series: list[_svg.Series] = [(f"{c['class']} (AUC {c['auc']:.4f})", c["fpr"], c["tpr"]) for c in curves]
    chart = _svg.line_chart("ROC curve", series, "false positive rate", "true positive rate", diagonal=True)
    if len(classes) == 2:
        what = f"positive class {classes[1]}; its AUC is the table's roc_auc"
    else:
        what = (
            f"{len(curves)} of {len(classes)} classes, most frequent first, each against the rest; "
            "the table's roc_auc is the mean of every class's AUC"
        )
    caption = f"ROC curve on all {evaluation['rows']:,} holdout rows, {what}; the dashed line is a random guess."
    return figure("roc", chart, caption)


def _confusion(evaluation: Mapping[str, Any]) -> str:
    matrix = evaluation["confusion"]
    counts = np.asarray(matrix["counts"], dtype=int).reshape(len(matrix["labels"]), len(matrix["labels"]))
    chart = _svg.matrix("confusion matrix", matrix["labels"], counts, "predicted", "actual")
    caption = (
        f"All {int(counts.sum()):,} holdout rows by actual class (rows) and predicted class (columns), "
        "shaded by share of the row."
    )
    return figure("confusion", chart, caption)


def _regression(evaluation: Mapping[str, Any]) -> list[str]:
    points, residuals, rows = evaluation["points"], evaluation["residuals"], evaluation["rows"]
    actual, predicted = points["actual"], points["predicted"]
    scatter = _svg.scatter("predicted against actual", actual, predicted, "actual", "predicted")
    which = f"a random {len(actual):,} of the {rows:,}" if len(actual) < rows else f"the {rows:,}"
    errors = _svg.histogram("residuals", residuals["edges"], residuals["counts"], "actual - predicted", reference=0.0)
    return [
        figure("scatter", scatter, f"One point for each of {which} holdout rows; on the dashed line the prediction "
               "is exact."),
        figure("residuals", errors, f"The errors of all {sum(residuals['counts']):,} holdout rows; the dashed line "
               "marks zero."),
    ]  # fmt: skip


def _importance_section(importance: Sequence[Mapping[str, Any]]) -> str:
    if not importance:
        return section("Feature importance", "<p>No importance available.</p>")
    top = importance[:TOP_IMPORTANCE]
    labels, values = [str(i["column"]) for i in top], [100 * float(i["importance"]) for i in top]
    chart = _svg.bar_chart("importance by raw column", labels, values, "% of the importance", value_format=".1f")
    caption = (
        f"The {len(top)} most important raw columns: mean absolute contribution to the holdout predictions "
        "(exact SHAP values), summed over the features built from each column."
    )
    return section("Feature importance", figure("importance", chart, caption))


def _permutation_section(drops: Sequence[Mapping[str, Any]], metric: str) -> str:
    if not drops:
        return ""
    top = drops[:TOP_IMPORTANCE]
    labels, values = [str(d["column"]) for d in top], [float(d["drop"]) for d in top]
    chart = _svg.bar_chart("holdout score lost when a column is shuffled", labels, values, f"drop in {metric}")
    caption = f"How much the holdout {metric} drops when each raw column's values are shuffled among the rows."
    return section("Permutation importance", figure("permutation", chart, caption))


def _dependence_section(curves: Sequence[Mapping[str, Any]], target: str) -> str:
    figures = [_dependence(curve, target) for curve in curves]
    if not figures:
        return ""
    intro = "<p>The mean prediction over holdout rows when one column is set to each value in turn.</p>"
    return section("Partial dependence", intro + f"<div class='charts'>{''.join(figures)}</div>")


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
    drawn = series if curve["numeric"] else series[:1]
    return figure("dependence", chart, f"{column}: {', '.join(str(s['name']) for s in drawn)}")


def _search_section(board: Sequence[Mapping[str, Any]], metric: str, limits: Mapping[str, Any]) -> str:
    """The best candidates' scores, every candidate's as the search went on, and against its latency."""
    if not board:
        return section("Search", "<p>No candidates were scored.</p>")
    top = board[:TOP_CANDIDATES]
    labels = [f"#{c.get('rank')} {c.get('learner')}" for c in top]
    chart = _svg.bar_chart(
        "cross-validated score per candidate", labels, [float(c["cv_score"]) for c in top], metric, value_format=".4f"
    )
    caption = f"Cross-validated {metric} of the best {len(top)} of {len(board)} candidates, as in the leaderboard."
    figures = figure("leaderboard", chart, caption) + _score_over_time(board, metric)
    figures += _score_by_latency(board, metric, limits)
    return section("Search", f"<div class='charts'>{figures}</div>")


def _score_by_latency(board: Sequence[Mapping[str, Any]], metric: str, limits: Mapping[str, Any]) -> str:
    """A dot per candidate at its one-row latency and score, and the latency limit as a line: the
    price in quality of a faster model, to choose one knowingly."""
    measured = [c for c in board if c.get("latency_ms") is not None]
    if not measured:
        return ""
    xs, ys = [float(c["latency_ms"]) for c in measured], [float(c["cv_score"]) for c in measured]
    tips = [
        f"#{c.get('rank')} {c.get('learner')}: {float(c['cv_score']):.4f} in {float(c['latency_ms']):.3g} ms a row, "
        f"{float(c.get('size_mb') or 0.0):.3g} MB" + ("" if c.get("within_limits", True) else " (over the limits)")
        for c in measured
    ]  # fmt: skip
    series = [("each candidate", xs, ys)]
    limit = limits.get("max_latency_ms")
    if limit is not None:
        series.append(("--max-latency-ms", [float(limit)] * 2, [min(ys), max(ys)]))
    chart = _svg.line_chart(
        "score against latency", series, "milliseconds to score one row", f"CV {metric}", dotted=["each candidate"],
        tips=tips,
    )  # fmt: skip
    caption = (
        f"Cross-validated {metric} of each candidate against the time it takes to score one row in process "
        "(features and model, as the bundle serves): a faster model and what it costs in quality."
    )
    return figure("latency", chart, caption)


def _score_over_time(board: Sequence[Mapping[str, Any]], metric: str) -> str:
    """A dot per candidate at the second it finished, and the best so far as a step line."""
    finished = sorted(board, key=lambda c: float(c["elapsed_seconds"]))
    seconds = [float(c["elapsed_seconds"]) for c in finished]
    scores = [float(c["cv_score"]) for c in finished]
    best = [float(min(finished[: i + 1], key=lambda c: int(c["rank"]))["cv_score"]) for i in range(len(finished))]
    step_x = [x for i, x in enumerate(seconds) for x in ([x] if i == 0 else [x, x])]
    step_y = [y for i, y in enumerate(best) for y in ([y] if i == 0 else [best[i - 1], y])]
    tips = [f"#{c.get('rank')} {c.get('learner')}: {float(c['cv_score']):.4f} at {float(c['elapsed_seconds']):.1f} s"
            for c in finished]  # fmt: skip
    series = [("each candidate", seconds, scores), ("best so far", step_x, step_y)]
    chart = _svg.line_chart(
        "score over time", series, "seconds into the search", f"CV {metric}", dotted=["each candidate"], tips=tips
    )
    caption = f"Cross-validated {metric} of each of the {len(board)} candidates as it finished, and the best so far."
    return figure("progress", chart, caption)


def _leaderboard_section(board: Sequence[Mapping[str, Any]], metric: str) -> str:
    if not board:
        return ""
    rows = [_candidate_row(c) for c in board]
    headers = [
        "rank", "learner", f"CV {metric} ± std", "fit s / fold", "predict s / 1k rows", "one row ms", "size MB",
        "finished at s",
    ]  # fmt: skip
    label = f"All {len(board)} candidates: scores, cost, timing and parameters"
    return section("Leaderboard", folded(label, table([*headers, "parameters"], rows), "leaderboard"))


def _candidate_row(candidate: Mapping[str, Any]) -> str:
    score = f"{candidate['cv_score']:.4f} ± {candidate.get('cv_std') or 0.0:.4f}"
    return "".join(
        [
            number(candidate.get("rank"), "d"),
            cell(f"{candidate.get('learner')}{'' if candidate.get('within_limits', True) else ' (over the limits)'}"),
            f'<td class="num">{escape(score)}</td>',
            number(candidate.get("fit_seconds"), ".2f"),
            number(candidate.get("predict_seconds_per_1k"), ".4f"),
            number(candidate.get("latency_ms"), ".3f"),
            number(candidate.get("size_mb"), ".3f"),
            number(candidate.get("elapsed_seconds"), ".1f"),
            f"<td><code>{escape(candidate.get('described') or _params(candidate.get('params') or {}))}</code></td>",
        ]
    )


def _params(params: Mapping[str, Any]) -> str:
    """``name=value`` pairs, floats to four significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _data_section(data: Mapping[str, Any]) -> str:
    columns = data.get("columns") or []
    used = sum(1 for c in columns if c.get("used"))
    counts = (
        f"<p>{count(data.get('rows'))} rows: {count(data.get('train_rows'))} to train and search on, "
        f"{count(data.get('holdout_rows'))} held out and never seen by the search. "
        f"{used} of {len(columns)} columns are used as features.</p>"
    )
    rows = [_column_row(c) for c in columns]
    classes = ["" if c.get("used") else "unused" for c in columns]
    columns_table = table(["column", "type", "missing", "distinct", "feature", "why not"], rows, classes)
    label = f"All {len(columns)} columns: type, missing share, distinct values, and why each unused one is left out"
    return section("Data", counts + folded(label, columns_table, "columns"))


def _column_row(column: Mapping[str, Any]) -> str:
    missing = column.get("missing_share")
    return "".join(
        [
            cell(column.get("name")),
            cell(column.get("semantic_type")),
            number(100 * missing if isinstance(missing, int | float) else None, ".1f", "%"),
            number(column.get("distinct"), ","),
            cell("yes" if column.get("used") else "no"),
            cell(column.get("reason")),
        ]
    )


def _features_section(
    features: Sequence[Mapping[str, Any]], dropped: Sequence[Mapping[str, Any]], leaks: Sequence[Mapping[str, Any]]
) -> str:
    """What was generated from each raw column, what was dropped as redundant, and the suspected leaks."""
    if not features:
        return ""
    rows = [
        cell(f.get("column")) + cell(f.get("transform")) + number(len(f.get("features") or []), ",")
        + cell(shown(f.get("features") or []))
        for f in features
    ]  # fmt: skip
    made = sum(len(f.get("features") or []) for f in features)
    body = "<p>Each raw column in use and the model inputs made from it; columns left out, and why, are in Data.</p>"
    made_table = table(["column", "transform", "features", "names"], rows)
    body += folded(f"{len(features)} raw columns made {made:,} features", made_table, "features")
    if leaks:
        fates = [cell(leak.get("column")) + cell(leak.get("finding")) + cell(leak.get("fate")) for leak in leaks]
        body += "<h3>Suspected label leaks</h3>" + table(["column", "finding", "what lathe did"], fates)
    if dropped:
        body += folded(
            f"Dropped as redundant: {len(dropped)} feature{'s' if len(dropped) != 1 else ''}",
            "<p>Made from a column, but adding nothing the other features do not already give.</p>"
            + table(["feature", "why"], [cell(d.get("feature")) + cell(d.get("reason")) for d in dropped]),
            "dropped",
        )
    return section("Features", body)
