"""The retraining page: one self-contained HTML document, the verdict first.

Then the paired gain's interval against zero and the margin asked for, champion and challenger
side by side (the decisive metric's intervals, then every metric), the challenger's search and
the lineage. Every string is escaped; the page fetches nothing (inline style, inline SVG).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from lathe.report import _svg
from lathe.report._parts import STYLE, figure, number, page, section, table

VERDICT_STYLE = """
.verdict { font-size: 18px; padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.verdict.promoted { background: #dcfce7; color: #166534; } .verdict.kept { background: #f3f4f6; color: #111827; }
"""
ROLES = ("champion", "challenger")

Row = tuple[str, float, Mapping[str, Any] | None]  # a label, a value and its interval (low, high), if any
Mark = tuple[str, float, str]  # a label, a value and a colour: a vertical line across the chart


def render_retrain(result: Mapping[str, Any], title: str) -> str:
    """The page of a retraining (``lathe.retrain.Retraining.to_dict()``), titled ``title``, as one HTML document."""
    verdict = "promoted" if result["promoted"] else "kept"
    sections = [
        f"<header><h1>{escape(title)}</h1><p class='meta'>{_meta(result)}</p></header>",
        f"<p class='verdict {verdict}' data-verdict>{escape(result['verdict'])}</p>",
        _gain(result),
        _models(result),
        _search(result["search"]),
        _lineage(result),
    ]
    return page(title, sections, STYLE + VERDICT_STYLE)


def _meta(result: Mapping[str, Any]) -> str:
    facts = [
        ("new rows", f"{result['data']['source']} ({result['data']['rows']:,} rows)"),
        ("held out", f"{result['holdout']['rows']:,}: {result['holdout']['chosen']}"),
        ("metric", f"{result['metric']} ({'higher' if result['greater_is_better'] else 'lower'} is better)"),
        ("--min-gain", f"{result['min_gain']:g}"),
    ]
    return " · ".join(f"{name} <b>{escape(str(value))}</b>" for name, value in facts)


def _gain(result: Mapping[str, Any]) -> str:
    interval = result["interval"]
    rows: list[Row] = [("gain", result["gain"], interval)]
    marks: list[Mark] = [(f"--min-gain {result['min_gain']:g}", result["min_gain"], _svg.PALETTE[1])]
    if result["min_gain"] != 0:
        marks.append(("no gain", 0.0, _svg.AXIS))
    chart = _intervals(f"{result['metric']} gain of the challenger over the champion", rows, marks)
    said = (
        "no interval: too few held-out rows, or the metric undefined on most resamples"
        if interval is None
        else f"{interval['level']:.0%} paired bootstrap interval, {interval['resamples']} resamples of "
        f"{interval['drawn']:,} of the {interval['rows']:,} held-out rows, each scoring both models on the same rows"
    )
    caption = (
        f"The challenger's {result['metric']} less the champion's, signed so that a positive gain is better; "
        f"{said}. Promoted only where the whole interval lies above --min-gain."
    )
    return section("The gain", figure("gain", chart, caption))


def _models(result: Mapping[str, Any]) -> str:
    scores = result["scores"]
    rows: list[Row] = [(role, scores[role]["value"], scores[role]["interval"]) for role in ROLES]
    chart = _intervals(f"{result['metric']} of each model on the held-out rows", rows, [])
    caption = f"{result['metric']} on the same held-out rows, with each model's 95% bootstrap interval."
    names = list(scores["champion"]["metrics"])
    cells = [
        f"<td>{escape(name)}</td>" + "".join(number(scores[role]["metrics"][name]) for role in ROLES) for name in names
    ]
    versions = [f"champion (version {result['champion']})", f"challenger (version {result['challenger']})"]
    body = figure("models", chart, caption) + table(["metric", *versions], cells)
    return section("Champion and challenger", body)


def _search(search: Mapping[str, Any]) -> str:
    budget = "none (--trials alone)" if search["budget_seconds"] is None else f"{search['budget_seconds']:.0f} s"
    starts = "; ".join(f"{s['family']} {_params(s['params'])}" for s in search["warm_starts"]) or "-"
    facts = [
        f"<li>Budget: {escape(budget)}; {search['trials']} candidates finished ({search['timed_out']} cut short by "
        f"the clock), in {search['train_seconds']:.1f} s all told.</li>",
        f"<li>Warm start: the champion's winning configurations tried first: {escape(starts)}.</li>",
        f"<li>Winner: {escape(search['challenger_model'])} (the champion's: {escape(search['champion_model'])}).</li>",
    ]
    return section("The challenger's search", "<ul>" + "".join(facts) + "</ul>")


def _lineage(result: Mapping[str, Any]) -> str:
    notes = [
        f"The challenger is version {result['challenger']} of {result['name']}, in {result['stage']}; its parent "
        f"is version {result['champion']}.",
        f"It learnt from the {result['data']['rows']:,} new rows (fingerprint {result['data']['fingerprint']}) "
        f"but the held-out ones (fingerprint {result['holdout']['fingerprint']}).",
        *result["notes"],
    ]
    return section("Lineage and notes", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _intervals(title: str, rows: Sequence[Row], marks: Sequence[Mark]) -> str:
    """Per row a point and its interval as a whisker, on one horizontal axis; each mark a labelled vertical line."""
    values = [v for _, value, interval in rows for v in (value, *_ends(interval))] + [v for _, v, _ in marks]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 0.1
    ticks = _svg.nice_ticks(low - pad, high + pad)
    left, right, top = 120.0, _svg.WIDTH - 24.0, 28.0
    bottom = top + _svg.ROW * 1.6 * len(rows) + 8

    def x(value: float) -> float:
        return left + (value - ticks[0]) / ((ticks[-1] - ticks[0]) or 1.0) * (right - left)

    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    body = []
    for tick in ticks:
        body += [_svg._line(x(tick), top, x(tick), bottom, _svg.GRID),
                 _svg._text(x(tick), bottom + 16, _svg.tick_label(tick, step), fill=_svg.MUTED)]  # fmt: skip
    for i, (label, value, colour) in enumerate(marks):
        body += [_svg._line(x(value), top - 4, x(value), bottom, colour, ' stroke-width="2" stroke-dasharray="5 4"'),
                 _svg._text(x(value), top - 8 - 10 * (i % 2), label, fill=colour)]  # fmt: skip
    for i, (label, value, interval) in enumerate(rows):
        y = top + _svg.ROW * 1.6 * (i + 0.5) + 4
        body.append(_svg._text(left - 8, y + 4, label, anchor="end"))
        if interval is not None:
            a, b = _ends(interval)
            body += [_svg._line(x(a), y, x(b), y, _svg.PALETTE[0], ' stroke-width="3"'),
                     _svg._line(x(a), y - 6, x(a), y + 6, _svg.PALETTE[0], ' stroke-width="2"'),
                     _svg._line(x(b), y - 6, x(b), y + 6, _svg.PALETTE[0], ' stroke-width="2"')]  # fmt: skip
        tip = f"{label}: {value:.4g}" + (
            "" if interval is None else f" ({_ends(interval)[0]:.4g} to {_ends(interval)[1]:.4g})"
        )
        body.append(_svg._dot(x(value), y, _svg.INK, 5.0, tip))
    return _svg._svg(title, _svg.WIDTH, bottom + 28, body)


def _ends(interval: Mapping[str, Any] | None) -> tuple[float, ...]:
    return () if interval is None else (float(interval["low"]), float(interval["high"]))
