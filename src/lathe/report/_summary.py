"""The report's first screen: the answer in four tiles, then the warnings.

The tiles: the holdout score with its interval, the winning candidate, how far it beats a
trivial baseline on the same holdout rows, and the raw columns that matter most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

TOP_COLUMNS = 5


def summary(data: Mapping[str, Any]) -> str:
    """The summary section (``id="summary"``) of the report ``data`` (see ``render_report``)."""
    board = data.get("leaderboard") or []
    tiles = [
        _score_tile(data, board),
        _winner_tile(board, str(data.get("metric", ""))),
        _baseline_tile(data, board),
        _columns_tile(data.get("importance") or []),
    ]
    return (
        f'<section class="summary" id="summary"><div class="tiles">{"".join(tiles)}</div>'
        f"{_warnings(data.get('notes') or [])}</section>"
    )


def _tile(name: str, label: str, value: str, sub: str, css: str = "") -> str:
    """A tile: a ``label``, a large ``value`` and a line under it (``sub``, already HTML)."""
    return (
        f'<div class="tile {css}" id="summary-{name}"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><p class="sub">{sub}</p></div>'
    )


def _direction(data: Mapping[str, Any]) -> str:
    return "higher is better" if data.get("greater_is_better", True) else "lower is better"


def _score_tile(data: Mapping[str, Any], board: Sequence[Mapping[str, Any]]) -> str:
    metric = str(data.get("metric", ""))
    value = (data.get("holdout") or {}).get(metric)
    if not isinstance(value, int | float):
        cv = f"{board[0]['cv_score']:.4f}" if board else "?"
        sub = "No rows were held out (holdout=0): this is the search's cross-validated estimate."
        return _tile("score", f"Cross-validated {metric} ({_direction(data)})", cv, escape(sub))
    interval, rows = data.get("interval"), (data.get("data") or {}).get("holdout_rows")
    span = (
        f"{interval['level']:.0%} interval <b>{interval['low']:.4f} to {interval['high']:.4f}</b>"
        if interval
        else "no interval: too few rows to resample"
    )
    on = f" · on {rows:,} rows the search never saw" if isinstance(rows, int) else ""
    return _tile("score", f"Holdout {metric} ({_direction(data)})", f"{value:.4f}", span + escape(on))


def _winner_tile(board: Sequence[Mapping[str, Any]], metric: str) -> str:
    if not board:
        return _tile("winner", "Winner", "none", "No candidate was scored.")
    best = board[0]
    sub = (
        f"{_blended(best, board)}best of {len(board)} candidate{'s' if len(board) != 1 else ''} by "
        f"cross-validated {metric}: {best['cv_score']:.4f} ± {best.get('cv_std') or 0.0:.4f}"
    )
    return _tile("winner", "Winner", str(best.get("learner")), escape(sub))


def _blended(best: Mapping[str, Any], board: Sequence[Mapping[str, Any]]) -> str:
    """For a blend, its members by rank and learner with their weights, as a clause; else nothing."""
    members = (best.get("params") or {}).get("members") if best.get("learner") == "blend" else None
    if not members:
        return ""
    ranked = {c.get("number"): c for c in board}
    named = [
        f"#{ranked[n].get('rank')} {ranked[n].get('learner')} ({w:.2f})" if n in ranked else f"candidate {n} ({w:.2f})"
        for n, w in members
    ]
    return f"a weighted blend of {', '.join(named)}; "


def _baseline_tile(data: Mapping[str, Any], board: Sequence[Mapping[str, Any]]) -> str:
    metric, baseline = str(data.get("metric", "")), data.get("baseline") or {}
    value, base = (data.get("holdout") or {}).get(metric), (baseline.get("holdout") or {}).get(metric)
    linear = _linear_line(board)
    if not isinstance(value, int | float) or not isinstance(base, int | float):
        why = "No baseline was scored." if isinstance(value, int | float) else "No rows were held out to score one on."
        return _tile("baseline", "Against a baseline", "none", escape(f"{why} {linear}".strip()))
    greater = bool(data.get("greater_is_better", True))
    gain = value - base if greater else base - value
    css = "worse" if gain < 0 else ""
    if greater or base <= 0:
        shown = f"{value - base:+.4f}"
    else:
        shown = f"{abs(gain) / base:.1%} {'lower' if gain >= 0 else 'higher'}"
    name = str(baseline.get("name", "baseline"))
    sub = f"{metric} of the {name} on the same rows: <b>{base:.4f}</b> ({escape(str(baseline.get('described', '')))})."
    verdict = "Beats the" if gain > 0 else "Does not beat the"
    return _tile("baseline", f"{verdict} {name}", shown, sub + (f" {escape(linear)}" if linear else ""), css)


def _linear_line(board: Sequence[Mapping[str, Any]]) -> str:
    """The best linear candidate's cross-validated score, where the winner is not linear."""
    linear = [c for c in board if c.get("learner") == "linear"]
    if not board or not linear or board[0].get("learner") == "linear":
        return ""
    return f"Best linear candidate: {linear[0]['cv_score']:.4f} cross-validated (winner {board[0]['cv_score']:.4f})."


def _columns_tile(importance: Sequence[Mapping[str, Any]]) -> str:
    top = importance[:TOP_COLUMNS]
    if not top:
        return _tile("columns", "Columns that matter most", "none", "No importance available.")
    largest = max(float(i["importance"]) for i in top) or 1.0
    items = "".join(
        f'<li><span class="name" title="{escape(str(i["column"]))}">{escape(str(i["column"]))}</span>'
        f'<span class="track"><span class="bar" style="width: {100 * float(i["importance"]) / largest:.1f}%">'
        f'</span></span><span class="share">{100 * float(i["importance"]):.1f}%</span></li>'
        for i in top
    )
    return (
        '<div class="tile" id="summary-columns"><div class="label">Columns that matter most</div>'
        f'<ol class="top">{items}</ol><p class="sub">share of the importance; all in Feature importance</p></div>'
    )


def _warnings(notes: Sequence[str]) -> str:
    if not notes:
        return '<div class="warnings none" id="summary-warnings"><h2>Warnings</h2><p>None.</p></div>'
    items = "".join(f"<li>{escape(str(note))}</li>" for note in notes)
    return f'<div class="warnings" id="summary-warnings"><h2>Warnings</h2><ul>{items}</ul></div>'
