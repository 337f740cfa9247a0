"""Small SVG charts written by hand: no plotting library, no script, nothing fetched.

Each function returns one ``<svg>`` element with a viewBox, a fixed size, ``role="img"``
and a ``<title>``; all text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

WIDTH, HEIGHT = 560, 360
MARGIN = {"left": 64, "right": 16, "top": 16, "bottom": 48}
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d")
AXIS = "#6b7280"


def _open(title: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
    ]


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="#111827" {extra}>{escape(text)}</text>'


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    return [float(v) for v in np.linspace(low, high, count)]


def _label(value: float) -> str:
    return f"{value:.3g}"


class _Frame:
    """The plotting area of an x/y chart and the mapping from data to pixels."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.left, self.top = MARGIN["left"], MARGIN["top"]
        self.right, self.bottom = WIDTH - MARGIN["right"], HEIGHT - MARGIN["bottom"]

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (value - self.x0) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.bottom - (value - self.y0) / span * (self.bottom - self.top)

    def axes(self, x_title: str, y_title: str) -> list[str]:
        parts = [f'<rect x="{self.left}" y="{self.top}" width="{self.right - self.left}" '
                 f'height="{self.bottom - self.top}" fill="none" stroke="{AXIS}"/>']  # fmt: skip
        for value in _ticks(self.x0, self.x1):
            parts.append(_text(self.x(value), self.bottom + 16, _label(value)))
        for value in _ticks(self.y0, self.y1):
            parts.append(_text(self.left - 6, self.y(value) + 4, _label(value), anchor="end"))
        parts.append(_text((self.left + self.right) / 2, HEIGHT - 8, x_title))
        mid = (self.top + self.bottom) / 2
        parts.append(_text(14, mid, y_title, extra=f'transform="rotate(-90 14 {mid:.1f})"'))
        return parts


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], x_title: str = "") -> str:
    """Horizontal bars, one per label, in the order given."""
    row, left = 22, 180
    height = MARGIN["top"] + row * len(labels) + MARGIN["bottom"]
    low, high = min(0.0, *values), max(0.0, *values) or 1.0
    frame = _Frame((low, high), (0.0, 1.0))
    frame.left, frame.right, frame.bottom = left, WIDTH - 64, height - MARGIN["bottom"]
    parts = _open(title, height=height)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN["top"] + i * row
        x0, x1 = sorted((frame.x(0.0), frame.x(value)))
        parts.append(_text(left - 6, y + row * 0.65, label[:28], anchor="end"))
        parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" height="{row - 6}" '
                     f'fill="{PALETTE[0]}"><title>{escape(label)}: {value:.4g}</title></rect>')  # fmt: skip
        parts.append(_text(x1 + 4, y + row * 0.65, f"{value:.4g}", anchor="start"))
    for value in _ticks(low, high):
        parts.append(_text(frame.x(value), height - MARGIN["bottom"] + 16, _label(value)))
    parts.append(_text((left + frame.right) / 2, height - 8, x_title))
    return "".join([*parts, "</svg>"])


def line_chart(
    title: str, series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    x_title: str, y_title: str, diagonal: bool = False,
) -> str:  # fmt: skip
    """Lines, one per (name, xs, ys), with a legend; ``diagonal`` draws y = x dashed."""
    xs = np.concatenate([np.asarray(s[1], dtype=float) for s in series])
    ys = np.concatenate([np.asarray(s[2], dtype=float) for s in series])
    frame = _Frame((float(xs.min()), float(xs.max())), (float(ys.min()), float(ys.max())))
    parts = [*_open(title), *frame.axes(x_title, y_title)]
    if diagonal:
        parts.append(_segment(frame, frame.x0, frame.x1, "#9ca3af", dash=True))
    for i, (name, x, y) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{frame.x(a):.1f},{frame.y(b):.1f}" for a, b in zip(x, y, strict=True))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_y = frame.bottom - 12 - 16 * (len(series) - 1 - i)
        parts.append(f'<rect x="{frame.right - 180}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(frame.right - 165, legend_y, name, anchor="start"))
    return "".join([*parts, "</svg>"])


def _segment(frame: _Frame, low: float, high: float, colour: str, dash: bool = False) -> str:
    style = ' stroke-dasharray="5 4"' if dash else ""
    return (f'<line x1="{frame.x(low):.1f}" y1="{frame.y(low):.1f}" x2="{frame.x(high):.1f}" '
            f'y2="{frame.y(high):.1f}" stroke="{colour}"{style}/>')  # fmt: skip


def scatter(title: str, xs: Sequence[float], ys: Sequence[float], x_title: str, y_title: str) -> str:
    """Points with the y = x diagonal (predicted against actual)."""
    both = np.concatenate([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)])
    low, high = float(both.min()), float(both.max())
    frame = _Frame((low, high), (low, high))
    parts = [*_open(title), *frame.axes(x_title, y_title), _segment(frame, low, high, "#9ca3af", dash=True)]
    for a, b in zip(xs, ys, strict=True):
        parts.append(f'<circle cx="{frame.x(a):.1f}" cy="{frame.y(b):.1f}" r="2.5" fill="{PALETTE[0]}" '
                     'fill-opacity="0.45"/>')  # fmt: skip
    return "".join([*parts, "</svg>"])


def histogram(title: str, values: Sequence[float], x_title: str, bins: int = 30) -> str:
    """Counts of ``values`` in equal-width bins."""
    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
    frame = _Frame((float(edges[0]), float(edges[-1])), (0.0, float(counts.max()) or 1.0))
    parts = [*_open(title), *frame.axes(x_title, "rows")]
    for count, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        x0, x1, y = frame.x(a), frame.x(b), frame.y(count)
        parts.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
                     f'height="{frame.bottom - y:.1f}" fill="{PALETTE[0]}"/>')  # fmt: skip
    return "".join([*parts, "</svg>"])


def matrix(title: str, labels: Sequence[str], counts: np.ndarray, x_title: str, y_title: str) -> str:
    """A square grid of counts shaded by their share of the row (a confusion matrix)."""
    n = len(labels)
    cell = max(24, min(64, 320 // max(n, 1)))
    left, top = 120, 24
    size = left + cell * n + 24
    parts = _open(title, width=size, height=top + cell * n + 56)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    for i in range(n):
        parts.append(_text(left - 6, top + cell * i + cell / 2 + 4, labels[i][:16], anchor="end"))
        parts.append(_text(left + cell * i + cell / 2, top + cell * n + 16, labels[i][:10]))
        for j in range(n):
            shade = f"rgba(37, 99, 235, {0.08 + 0.85 * shares[i, j]:.3f})"
            ink = "#ffffff" if shares[i, j] > 0.5 else "#111827"
            parts.append(f'<rect x="{left + cell * j}" y="{top + cell * i}" width="{cell}" height="{cell}" '
                         f'fill="{shade}" stroke="#ffffff"/>')  # fmt: skip
            parts.append(_text(left + cell * j + cell / 2, top + cell * i + cell / 2 + 4, str(int(counts[i, j])),
                               extra=f'fill="{ink}"').replace('fill="#111827" ', ""))  # fmt: skip
    parts.append(_text(left + cell * n / 2, top + cell * n + 40, x_title))
    parts.append(_text(left - 6, 14, y_title, anchor="end"))
    return "".join([*parts, "</svg>"])
