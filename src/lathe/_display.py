"""What a person sees while lathe works: status lines, a budget bar, the live leaderboard."""

from __future__ import annotations

import importlib.util
import time
from types import TracebackType

import pandas as pd
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from lathe.explain import format_value
from lathe.profile import ColumnProfile, Profile
from lathe.search import Candidate, Leaderboard

console = Console(stderr=True)  # status, progress and errors
results = Console()  # what a command was asked for, on standard output


def status(message: str) -> None:
    """One line of status."""
    console.print(f"[bold cyan]lathe[/] {message}", highlight=False)


def warning(message: str) -> None:
    """One line a person must not miss."""
    console.print(f"[bold yellow]lathe warning:[/] {message}", highlight=False)


def leaderboard_table(board: Leaderboard, limit: int = 10) -> Table:
    """The leaderboard as a rich table, best first."""
    arrow = "↑" if board.greater_is_better else "↓"
    table = Table(title=f"leaderboard — {board.metric} {arrow}", title_justify="left")
    for name in ("#", "learner", board.metric, "± std", "fit s/fold", "predict s/1k", "at s", "params"):
        table.add_column(name, justify="right" if name not in ("learner", "params") else "left")
    for rank, c in enumerate(board.ranked()[:limit], start=1):
        predict = "-" if c.predict_seconds_per_1k is None else f"{c.predict_seconds_per_1k:.3f}"
        table.add_row(
            str(rank), c.family, f"{c.cv_score:.4f}", f"{c.cv_std:.4f}", f"{c.fit_seconds:.1f}", predict,
            f"{c.elapsed_seconds:.0f}", _params(c),
        )  # fmt: skip
    return table


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


def profile_summary(profile: Profile) -> Table:
    """A profile as a terminal table, one row per column, issues included."""
    duplicates = f", {profile.duplicate_rows:,} duplicate rows" if profile.duplicate_rows else ""
    table = Table(title=f"{profile.rows:,} rows{duplicates}", title_justify="left")
    for name in ("column", "type", "missing", "distinct", "range or most frequent", "issues"):
        table.add_column(name, justify="right" if name in ("missing", "distinct") else "left")
    for c in profile.columns:
        table.add_row(
            c.name, c.semantic_type.value, f"{100 * c.missing_share:.1f}%", f"{c.distinct:,}", _span(c),
            "[yellow]" + "; ".join(c.issues) + "[/]" if c.issues else "",
        )  # fmt: skip
    return table


def _span(column: ColumnProfile) -> str:
    if column.top:
        return f"{column.top[0][0]} ({column.top[0][1]:,})"
    if column.minimum is None:
        return ""
    return f"{format_value(column.minimum)} to {format_value(column.maximum)}"


def _has_widgets() -> bool:
    """Whether rich can draw a live display in this notebook (it needs ipywidgets: ``lathe[notebook]``)."""
    return importlib.util.find_spec("ipywidgets") is not None


def _params(candidate: Candidate) -> str:
    return candidate.described[:70]


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
            console.print(leaderboard_table(self.board))

    def __rich__(self) -> RenderableType:
        elapsed = self.finished or time.monotonic() - self.start
        total = self.finished or self.budget or max(elapsed, 1.0)
        bar = ProgressBar(total=total, completed=min(elapsed, total), width=40)
        line = Table.grid(padding=(0, 1))
        line.add_row("searched" if self.finished else "searching", bar, f"{elapsed:.0f}/{total:.0f} s")
        return Group(line, leaderboard_table(self.board)) if self.board else line

    def candidate_finished(self, candidate: Candidate, leaderboard: Leaderboard) -> None:
        """Show the new candidate (called by the search)."""
        self.board = leaderboard
        if self.enabled and self.live is None:
            status(
                f"candidate {len(leaderboard.candidates)}: {candidate.family} "
                f"{leaderboard.metric}={candidate.cv_score:.4f} at {candidate.elapsed_seconds:.0f}s"
            )
