"""What a person sees while lathe works: status lines, a budget bar, the live leaderboard."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from types import TracebackType

import pandas as pd
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from lathe.explain import format_value
from lathe.profile import ColumnProfile, Profile
from lathe.search import Candidate, Leaderboard

console = Console(stderr=True)  # status, progress and errors
results = Console()  # what a command was asked for, on standard output
PARAMS_MIN = 16  # cells the leaderboard's parameters need, or they are left out
ISSUES_MIN = 30  # cells the profile's issues need beside the other columns, or they follow the table
SPAN_MIN = 12  # cells the profile's ranges and most frequent values need, or they are left out
NAME_MIN = 10  # the profile's column names fold onto more lines only where the terminal leaves them fewer
SPAN = "range or most frequent"


def status(message: str) -> None:
    """One line of status."""
    console.print(f"[bold cyan]lathe[/] {message}", highlight=False)


def warning(message: str) -> None:
    """One line a person must not miss."""
    console.print(f"[bold yellow]lathe warning:[/] {message}", highlight=False)


def leaderboard_table(board: Leaderboard, limit: int = 10, width: int | None = None) -> Table:
    """The leaderboard as a rich table, best first, made to fit ``width`` columns (default: the
    console's): the parameters, in short words, only where they have room, cut between words."""
    width = width or console.width
    ranked = board.ranked()[:limit]
    columns = [
        ("#", [str(c.number) for c in ranked]),
        ("learner", [c.family for c in ranked]),
        (board.metric, [f"{c.cv_score:.4f}" for c in ranked]),
        ("± std", [f"{c.cv_std:.4f}" for c in ranked]),
        ("fit\ns/fold", [f"{c.fit_seconds:.1f}" for c in ranked]),
        ("predict\nms/row", ["-" if c.predict_seconds_per_1k is None else f"{c.predict_seconds_per_1k:.3f}"
                             for c in ranked]),
        ("found\nat s", [f"{c.elapsed_seconds:.0f}" for c in ranked]),
    ]  # fmt: skip
    room = width - _table_width([_cells_width(header, cells) for header, cells in columns]) - 3
    params = [_words_in(c.brief, room) for c in ranked]
    shown = room >= PARAMS_MIN and all(params)
    arrow = "↑" if board.greater_is_better else "↓"
    table = Table(
        title=f"leaderboard — {board.metric} {arrow}, best first", title_justify="left",
        caption=None if shown else "parameters: in a wider terminal, `lathe info` and the report",
        caption_justify="left",
    )  # fmt: skip
    for header, _ in columns:
        table.add_column(header, justify="left" if header == "learner" else "right", no_wrap=True)
    if shown:
        table.add_column("params", no_wrap=True, max_width=room)
    for row in zip(*(cells for _, cells in columns), *([params] if shown else []), strict=True):
        table.add_row(*row)
    return table


def leaderboard(board: Leaderboard, limit: int = 10) -> RenderableType:
    """``leaderboard_table`` made for the width it is drawn in (a live display's, a terminal's)."""
    return _Fitted(lambda width: leaderboard_table(board, limit, width))


def contribution_chart(row: pd.Series, values: pd.Series, target: str, width: int = 20) -> Table:
    """One explained row (a row of ``Bundle.explain``, and its raw ``values``) as signed bars, strongest first."""
    pushes = row.filter(like="contribution_").rename(lambda name: name.removeprefix("contribution_"))
    ordered = pushes.reindex(pushes.abs().sort_values(ascending=False).index)
    scale = float(ordered.abs().max()) or 1.0
    what = f"P({target} = {row['explained']})" if "explained" in row else f"predicted {target}"
    final = float(row["base_value"] + pushes.sum())
    table = Table(title=f"{what}: {row['base_value']:.4g} on average → {final:.4g} for this row", title_justify="left")
    for name, justify in (
        ("column", "left"),
        ("value", "left"),
        ("lowered", "right"),
        ("raised", "left"),
        ("effect", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for column, effect in ordered.items():
        bar = "█" * max(1, round(abs(effect) / scale * width)) if effect else ""
        down, up = (f"[red]{bar}[/]", "") if effect < 0 else ("", f"[green]{bar}[/]")
        table.add_row(str(column), format_value(values[str(column)]), down, up, f"{effect:+.4g}")
    return table


def profile_summary(profile: Profile) -> RenderableType:
    """A profile as a terminal table, one row per column, made for the width it is drawn in (see ``profile_table``)."""
    return _Fitted(lambda width: profile_table(profile, width))


def profile_table(profile: Profile, width: int) -> RenderableType:
    """A profile as a table, one row per column, that fits ``width`` cells. A column's name is
    never cut; where the issues have no room beside the rest, they follow the table, a line
    each; where the ranges and most frequent values have none, they are left out (the HTML page
    has them)."""
    spans, issues = [_span(c) for c in profile.columns], ["; ".join(c.issues) for c in profile.columns]
    fixed = [
        ("column", [c.name for c in profile.columns]),
        ("type", [c.semantic_type.value for c in profile.columns]),
        ("missing", [f"{100 * c.missing_share:.1f}%" for c in profile.columns]),
        ("distinct", [f"{c.distinct:,}" for c in profile.columns]),
    ]
    room = width - _table_width([_cells_width(h, cells) for h, cells in fixed]) - 3  # for the span (and issues)
    inline = any(issues) and room - _cells_width("", spans) - 3 >= ISSUES_MIN
    with_spans = room >= SPAN_MIN  # a value longer than that is cut, with "…"; a name never is
    duplicates = f", {profile.duplicate_rows:,} duplicate rows" if profile.duplicate_rows else ""
    table = Table(
        title=f"{profile.rows:,} rows{duplicates}", title_justify="left", caption_justify="left",
        caption=None if with_spans else "ranges and most frequent values: in the HTML page",
    )  # fmt: skip
    # A name is never cut: its column is as wide as the longest, or where the terminal cannot hold that, folded.
    names = _cells_width("column", fixed[0][1]) + min(0, room + 3)
    table.add_column("column", width=max(names, NAME_MIN), overflow="fold")
    for name, _ in fixed[1:]:
        table.add_column(name, justify="left" if name == "type" else "right", no_wrap=True)
    if with_spans:
        table.add_column(SPAN, max_width=None if inline else room)
    if inline:
        table.add_column("issues", style="yellow")
    for i in range(len(profile.columns)):
        spanned = [spans[i]] if with_spans else []
        table.add_row(
            *(Text(cells[i]) for _, cells in fixed), *map(Text, spanned), *([Text(issues[i])] if inline else [])
        )
    listed = [(c.name, text) for c, text in zip(profile.columns, issues, strict=True) if text and not inline]
    return Group(table, _issue_list(listed, width)) if listed else table


def _issue_list(issues: list[tuple[str, str]], width: int) -> Table:
    """Each column's issues after the table: the name, then the issues wrapped beside it."""
    grid = Table.grid(padding=(0, 1), pad_edge=True, collapse_padding=False)  # a cell each side of either column
    grid.title, grid.title_justify = "issues", "left"
    names = min(max(cell_len(name) for name, _ in issues), max(NAME_MIN, width // 2))
    grid.add_column(width=names, overflow="fold")
    grid.add_column(width=max(NAME_MIN, width - names - 4), style="yellow")
    for name, text in issues:
        grid.add_row(Text(name), Text(text))
    return grid


def _table_width(widths: list[int]) -> int:
    """The width of a table of the default box with columns of these widths (a border, a space each side)."""
    return sum(widths) + 3 * len(widths) + 1


def _cells_width(header: str, cells: list[str]) -> int:
    return max(cell_len(line) for text in (header, *cells) for line in text.split("\n") or [""])


def _words_in(words: tuple[str, ...], room: int) -> str:
    """As many of ``words`` as fit in ``room`` cells, and ``…`` where some are left out; never a cut word."""
    shown: list[str] = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        if cell_len(" ".join([*shown, word])) + (0 if last else 2) > room:
            return " ".join([*shown, "…"]) if shown else ""
        shown.append(word)
    return " ".join(shown) or "-"


def _span(column: ColumnProfile) -> str:
    if column.top:
        return f"{column.top[0][0]} ({column.top[0][1]:,})"
    if column.minimum is None:
        return ""
    return f"{format_value(column.minimum)} to {format_value(column.maximum)}"


def _has_widgets() -> bool:
    """Whether rich can draw a live display in this notebook (it needs ipywidgets: ``lathe[notebook]``)."""
    return importlib.util.find_spec("ipywidgets") is not None


class _Fitted:
    """A renderable built for the width it is drawn in."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)


class SearchDisplay:
    """A budget bar and the leaderboard, redrawn as candidates finish in a terminal or a notebook; else plain lines."""

    def __init__(self, budget: float | None, enabled: bool = True) -> None:
        self.budget = budget
        self.enabled = enabled
        self.board: Leaderboard | None = None
        self.start = time.monotonic()
        self.live: Live | None = None
        self.finished: float | None = None

    def __enter__(self) -> SearchDisplay:
        if self.enabled and (console.is_terminal or (console.is_jupyter and _has_widgets())):
            self.live = Live(self, console=console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.finished = time.monotonic() - self.start
        if self.live is not None:
            self.live.__exit__(kind, error, trace)
        elif self.enabled and self.board is not None and kind is None:
            console.print(leaderboard(self.board))

    def __rich__(self) -> RenderableType:
        elapsed = self.finished or time.monotonic() - self.start
        total = self.finished or self.budget or max(elapsed, 1.0)
        bar = ProgressBar(total=total, completed=min(elapsed, total), width=40)
        line = Table.grid(padding=(0, 1))
        line.add_row("searched" if self.finished else "searching", bar, f"{elapsed:.0f}/{total:.0f} s")
        return Group(line, leaderboard(self.board)) if self.board else line

    def candidate_finished(self, candidate: Candidate, leaderboard: Leaderboard) -> None:
        """Show the new candidate (called by the search)."""
        self.board = leaderboard
        if self.enabled and self.live is None:
            status(
                f"candidate {len(leaderboard.candidates)}: {candidate.family} "
                f"{leaderboard.metric}={candidate.cv_score:.4f} at {candidate.elapsed_seconds:.0f}s"
            )
