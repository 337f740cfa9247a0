"""Small tables as plain text (a terminal's ``repr``) and as HTML (a notebook's ``_repr_html_``).

Shared by the frozen values of every stage; it knows nothing of them, only rows of cells.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

Row = Sequence[object]
# A value's summary: a title, column headers, the rows shown, and how many rows there are in all.
Summary = tuple[str, Sequence[str], Sequence[Row], int]
STYLE = "border-collapse:collapse;font-size:0.9em"
CELL = "padding:2px 8px;text-align:left;border-bottom:1px solid #ddd"


def summary_text(summary: Summary) -> str:
    """A summary as a terminal ``repr``: the title, then the table, counting the rows not shown."""
    title, headers, rows, total = summary
    return f"{title}\n{text_table(headers, rows, more=total - len(rows))}"


def summary_html(summary: Summary) -> str:
    """A summary as a notebook's ``_repr_html_``."""
    title, headers, rows, total = summary
    return html_block(title, [], html_table(headers, rows, more=total - len(rows)))


def text_table(headers: Row, rows: Sequence[Row], more: int = 0) -> str:
    """Columns padded to their widest cell; ``more`` rows not shown are counted in a last line."""
    cells = [[str(c) for c in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(["  " + line for line in lines] + ([f"  ... {more} more"] if more else []))


def html_table(headers: Row, rows: Sequence[Row], more: int = 0) -> str:
    """An HTML table with escaped cells; ``more`` rows not shown are counted in a last row."""
    head = "".join(f"<th style='{CELL}'>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='{CELL}'>{html.escape(_cell(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    tail = f"<tr><td colspan='{len(headers)}' style='{CELL}'>... {more} more</td></tr>" if more else ""
    return f"<table style='{STYLE}'><thead><tr>{head}</tr></thead><tbody>{body}{tail}</tbody></table>"


def html_block(title: str, lines: Sequence[str], table: str = "") -> str:
    """A titled block: a bold title, lines of escaped text, then an already built ``table``."""
    text = "".join(f"<div>{html.escape(line)}</div>" for line in lines)
    return f"<div class='lathe'><strong>{html.escape(title)}</strong>{text}{table}</div>"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
