"""Small SVG charts written by hand: no plotting library, no script, nothing fetched.

Each chart function returns one ``<svg>`` element with a viewBox, an explicit width and
height, ``role="img"`` and a ``<title>``; every piece of text in it is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

import numpy as np

WIDTH, HEIGHT = 520, 340
LEFT, RIGHT, TOP, BOTTOM = 64, 32, 16, 48
ROW = 22  # height of one bar of a bar chart
CHAR = 7.2  # generous width in pixels of one character of 12 px text
INK, MUTED, GRID, AXIS = "#111827", "#4b5563", "#e5e7eb", "#9ca3af"
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d")

Series = tuple[str, Sequence[float], Sequence[float]]


def nice_ticks(low: float, high: float, count: int = 6, integer: bool = False) -> list[float]:
    """About ``count`` round values (steps of 1, 2 or 5 times a power of ten) spanning ``low`` to ``high``."""
    high = high if high > low else low + 1.0
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    step = max(step, 1.0) if integer else step
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def tick_label(value: float, step: float) -> str:
    """``value`` with as many decimals as the tick ``step`` needs; thousands and up shortened (k, M, G)."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if step >= size:
            return f"{value / size:,.0f}{suffix}"
    decimals = min(max(0, -math.floor(math.log10(step))), 8)
    return f"{round(value, decimals) + 0.0:,.{decimals}f}"


def _extent(values: Iterable[float]) -> tuple[float, float]:
    finite = np.asarray(list(values), dtype=float)
    finite = finite[np.isfinite(finite)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)


def _svg(title: str, width: float, height: float, body: Iterable[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" font-family="system-ui, -apple-system, sans-serif" font-size="12">'
    )
    return f"{head}<title>{escape(title)}</title>{''.join(body)}</svg>"


def _text(x: float, y: float, text: str, anchor: str = "middle", fill: str = INK, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, extra: str = "") -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}"{extra}/>'


def _rect(x: float, y: float, width: float, height: float, fill: str, extra: str = "", tip: str = "") -> str:
    rect = f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{fill}"{extra}'
    return f"{rect}><title>{escape(tip)}</title></rect>" if tip else f"{rect}/>"


def _clip(text: str, width: float) -> str:
    """``text`` cut short in the middle, with an ellipsis, to fit about ``width`` pixels; both ends stay."""
    fit = max(int(width / CHAR + 1e-6), 3)
    if len(text) <= fit:
        return text
    tail = (fit - 1) // 2
    return text[: fit - 1 - tail] + "…" + text[len(text) - tail :]


def _label_width(labels: Sequence[str], cap: float) -> float:
    return min(cap, CHAR * max((len(label) for label in labels), default=1))


@dataclass
class _Frame:
    """The plotting area of an x/y chart, its ticks, and the mapping from data to pixels."""

    x_ticks: list[float]
    y_ticks: list[float]
    left: float = LEFT
    right: float = WIDTH - RIGHT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM

    def x(self, value: float) -> float:
        low, high = self.x_ticks[0], self.x_ticks[-1]
        return self.left + (value - low) / ((high - low) or 1.0) * (self.right - self.left)

    def y(self, value: float) -> float:
        low, high = self.y_ticks[0], self.y_ticks[-1]
        return self.bottom - (value - low) / ((high - low) or 1.0) * (self.bottom - self.top)


def _step(ticks: Sequence[float]) -> float:
    return ticks[1] - ticks[0] if len(ticks) > 1 else 1.0


def _x_grid(frame: _Frame) -> list[str]:
    step = _step(frame.x_ticks)
    parts = []
    for value in frame.x_ticks:
        x = frame.x(value)
        parts.append(_line(x, frame.top, x, frame.bottom, GRID))
        parts.append(_text(x, frame.bottom + 16, tick_label(value, step), fill=MUTED))
    return parts


def _y_grid(frame: _Frame) -> list[str]:
    step = _step(frame.y_ticks)
    parts = []
    for value in frame.y_ticks:
        y = frame.y(value)
        parts.append(_line(frame.left, y, frame.right, y, GRID))
        parts.append(_text(frame.left - 6, y + 4, tick_label(value, step), anchor="end", fill=MUTED))
    return parts


def _axes(frame: _Frame, x_title: str, y_title: str) -> list[str]:
    middle = (frame.top + frame.bottom) / 2
    box = _rect(frame.left, frame.top, frame.right - frame.left, frame.bottom - frame.top, "none", f' stroke="{AXIS}"')
    return [
        *_x_grid(frame),
        *_y_grid(frame),
        box,
        _text((frame.left + frame.right) / 2, frame.bottom + 38, x_title),
        _text(14, middle, y_title, extra=f' transform="rotate(-90 14 {middle:.1f})"'),
    ]


def _diagonal(frame: _Frame) -> str:
    low = max(frame.x_ticks[0], frame.y_ticks[0])
    high = min(frame.x_ticks[-1], frame.y_ticks[-1])
    return _line(frame.x(low), frame.y(low), frame.x(high), frame.y(high), AXIS, ' stroke-dasharray="5 4"')


def _legend(
    frame: _Frame, names: Sequence[str], dotted: Sequence[str] = (), drawn: Sequence[tuple[float, float]] = ()
) -> list[str]:
    """A key: a square per line, a dot per series drawn as points (``dotted``); in the corner that
    hides the fewest of the ``drawn`` points (pixels), the lower right on a tie."""
    width, height = 28 + _label_width(names, cap=280), 16 * len(names) + 8
    corners = [
        (frame.right - width - 8, frame.bottom - height - 8),
        (frame.right - width - 8, frame.top + 8),
        (frame.left + 8, frame.bottom - height - 8),
        (frame.left + 8, frame.top + 8),
    ]
    x, y = min(corners, key=lambda c: sum(c[0] <= a <= c[0] + width and c[1] <= b <= c[1] + height for a, b in drawn))
    parts = [_rect(x, y, width, height, "#ffffff", f' fill-opacity="0.9" stroke="{GRID}"')]
    for i, name in enumerate(names):
        row, colour = y + 16 * i + 16, PALETTE[i % len(PALETTE)]
        swatch = _dot(x + 13, row - 4, colour, 4.0) if name in dotted else _rect(x + 8, row - 9, 10, 10, colour)
        parts.append(swatch)
        parts.append(_text(x + 24, row, _clip(name, width - 28), anchor="start"))
    return parts


def _dot(x: float, y: float, colour: str, radius: float = 3.5, tip: str = "") -> str:
    dot = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}"'
    return f"{dot}><title>{escape(tip)}</title></circle>" if tip else f"{dot}/>"


def _bar(frame: _Frame, y: float, label: str, value: float, shown: str) -> str:
    x0, x1 = sorted((frame.x(0.0), frame.x(value)))
    middle = y + ROW / 2 + 4
    return "".join(
        [
            f"<g><title>{escape(label)}: {escape(shown)}</title>",
            _text(frame.left - 8, middle, _clip(label, frame.left - 20), anchor="end"),
            _rect(x0, y + 3, max(x1 - x0, 1.0), ROW - 6, PALETTE[0], ' rx="2"'),
            _text(x1 + 4, middle, shown, anchor="start", fill=MUTED),
            "</g>",
        ]
    )


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float], x_title: str = "", value_format: str = ".4g"
) -> str:
    """Horizontal bars, one per label in the order given, each with its value (``value_format``) at its end."""
    height = TOP + ROW * len(labels) + BOTTOM
    ticks = nice_ticks(min(0.0, *values), max(0.0, *values))
    frame = _Frame(ticks, [0.0, 1.0], left=_label_width(labels, cap=220) + 20, right=WIDTH - 56, bottom=height - BOTTOM)
    body = _x_grid(frame)
    body.append(_line(frame.x(0.0), frame.top, frame.x(0.0), frame.bottom, AXIS))
    body.extend(
        _bar(frame, TOP + i * ROW, label, value, format(value, value_format))
        for i, (label, value) in enumerate(zip(labels, values, strict=True))
    )
    body.append(_text((frame.left + frame.right) / 2, height - 10, x_title))
    return _svg(title, WIDTH, height, body)


def line_chart(
    title: str, series: Sequence[Series], x_title: str, y_title: str, diagonal: bool = False,
    dotted: Sequence[str] = (), tips: Sequence[str] = (),
) -> str:  # fmt: skip
    """Lines, one per ``(name, xs, ys)``, with a legend; ``diagonal`` draws y = x dashed. The series
    named in ``dotted`` are drawn as a dot per point instead (``tips``: each dot's tooltip, in order)."""
    x_low, x_high = _extent(x for _, xs, _ in series for x in xs)
    y_low, y_high = _extent(y for _, _, ys in series for y in ys)
    frame = _Frame(nice_ticks(x_low, x_high), nice_ticks(y_low, y_high))
    body = _axes(frame, x_title, y_title)
    if diagonal:
        body.append(_diagonal(frame))
    dots, drawn = [], []
    for i, (name, xs, ys) in enumerate(series):
        colour, pixels = PALETTE[i % len(PALETTE)], [(frame.x(a), frame.y(b)) for a, b in zip(xs, ys, strict=True)]
        drawn.extend(pixels)
        if name in dotted:
            shown = [*tips, *[""] * len(xs)]
            dots.append(f'<g data-series="{escape(name)}">')
            dots.extend(_dot(a, b, colour, tip=tip) for (a, b), tip in zip(pixels, shown, strict=False))
            dots.append("</g>")
            continue
        drawn.extend(((a + c) / 2, (b + d) / 2) for (a, b), (c, d) in pairwise(pixels))  # for the legend to avoid
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in pixels)
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    body.extend(dots)  # over the lines
    body.extend(_legend(frame, [name for name, _, _ in series], dotted, drawn))
    return _svg(title, WIDTH, HEIGHT, body)


def scatter(title: str, xs: Sequence[float], ys: Sequence[float], x_title: str, y_title: str) -> str:
    """Points on equal axes with the y = x diagonal dashed (predicted against actual)."""
    low, high = _extent([*xs, *ys])
    ticks = nice_ticks(low, high)
    frame = _Frame(ticks, ticks)
    body = [*_axes(frame, x_title, y_title), _diagonal(frame)]
    for a, b in zip(xs, ys, strict=True):
        if math.isfinite(a) and math.isfinite(b):
            body.append(
                f'<circle cx="{frame.x(a):.1f}" cy="{frame.y(b):.1f}" r="2.5" fill="{PALETTE[0]}" fill-opacity="0.45"/>'
            )
    return _svg(title, WIDTH, HEIGHT, body)


def histogram(
    title: str, edges: Sequence[float], counts: Sequence[int], x_title: str, reference: float | None = None
) -> str:
    """Bars of ``counts`` between consecutive ``edges`` (one more than counts); ``reference`` marks one value dashed."""
    top = float(max(counts, default=0))
    frame = _Frame(nice_ticks(float(edges[0]), float(edges[-1])), nice_ticks(0.0, top, integer=True))
    body = _axes(frame, x_title, "rows")
    for count, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        x0, x1, y = frame.x(a), frame.x(b), frame.y(count)
        body.append(
            _rect(x0, y, max(x1 - x0 - 1, 1.0), frame.bottom - y, PALETTE[0], tip=f"{a:.4g} to {b:.4g}: {count:,} rows")
        )
    if reference is not None and frame.x_ticks[0] <= reference <= frame.x_ticks[-1]:
        x = frame.x(reference)
        body.append(_line(x, frame.top, x, frame.bottom, PALETTE[1], ' stroke-dasharray="5 4"'))
    return _svg(title, WIDTH, HEIGHT, body)


def _column_labels(left: float, top: float, cell: float, labels: Sequence[str]) -> tuple[list[str], float]:
    """Labels under the columns of a grid, turned 45 degrees where they do not fit; and their height."""
    if _label_width(labels, cap=cell) <= cell - 6:
        return [_text(left + cell * j + cell / 2, top + 16, label) for j, label in enumerate(labels)], 24.0
    parts = []
    for j, label in enumerate(labels):
        x, y = left + cell * j + cell / 2 + 4, top + 10
        parts.append(_text(x, y, _clip(label, 120), anchor="end", extra=f' transform="rotate(-45 {x:.1f} {y:.1f})"'))
    return parts, 16 + _label_width(labels, cap=120) * 0.72


def _cell(x: float, y: float, cell: float, count: int, share: float, tip: str) -> list[str]:
    shade = f"rgba(37, 99, 235, {0.06 + 0.88 * share:.3f})"
    parts = [_rect(x, y, cell, cell, shade, ' stroke="#ffffff"', tip=tip)]
    if cell >= 28:
        ink = "#ffffff" if share > 0.5 else INK
        parts.append(_text(x + cell / 2, y + cell / 2 + 4, f"{count:,}", fill=ink))
    return parts


def matrix(title: str, labels: Sequence[str], counts: np.ndarray, x_title: str, y_title: str) -> str:
    """A square grid of counts (rows ``y_title``, columns ``x_title``) shaded by their share of the row."""
    n = len(labels)
    cell = float(np.clip(360 // max(n, 1), 20, 88))
    label_width = _label_width(labels, cap=140)
    left, top = 36 + label_width, 16.0
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    body = []
    for i, actual in enumerate(labels):
        body.append(_text(left - 6, top + cell * i + cell / 2 + 4, _clip(actual, label_width), anchor="end"))
        for j, predicted in enumerate(labels):
            tip = f"{y_title} {actual}, {x_title} {predicted}: {counts[i, j]:,}"
            body.extend(_cell(left + cell * j, top + cell * i, cell, int(counts[i, j]), float(shares[i, j]), tip))
    under, label_height = _column_labels(left, top + cell * n, cell, labels)
    middle, bottom = top + cell * n / 2, top + cell * n + label_height
    body.extend(under)
    body.append(_text(left + cell * n / 2, bottom + 18, x_title))
    body.append(_text(14, middle, y_title, extra=f' transform="rotate(-90 14 {middle:.1f})"'))
    width = max(left + cell * n + 16, left + cell * n / 2 + CHAR * len(x_title) / 2 + 8)
    return _svg(title, width, bottom + 28, body)
