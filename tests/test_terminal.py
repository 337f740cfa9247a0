"""What the commands print fits the terminal: 80 columns without a cut word, and no worse at 160."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from rich.console import Console, RenderableType

import lathe
from lathe import _display
from lathe.profile import Profile
from lathe.search import Candidate, Leaderboard
from lathe.search._search import FAMILIES
from lathe.testing import mixed_table

LONG = 30  # characters in each column name of the profile checked at 80 columns


def _drawn(renderable: RenderableType, width: int) -> list[str]:
    console = Console(width=width, record=True, file=StringIO())
    console.print(renderable)
    lines = console.export_text().splitlines()
    assert all(len(line) <= width for line in lines), "\n".join(lines)
    return lines


@pytest.fixture(scope="module")
def board() -> Leaderboard:
    """Every family's portfolio entries, and a blend of them, as a search would rank them."""
    entries = [(family, params) for family, learner in FAMILIES.items() for params in learner.portfolio]
    candidates = [
        Candidate(n, family, dict(params), 0.9 - n / 100, 0.0123, 0.4, float(n), predict_seconds_per_1k=0.0125)
        for n, (family, params) in enumerate(entries)
    ]
    blend = {"members": [[0, 0.5], [3, 0.25], [5, 0.125], [7, 0.125]], "offset": -0.0125}
    candidates.append(Candidate(len(entries), "blend", blend, 0.95, 0.01, 1.2, 30.0))
    return Leaderboard("balanced_accuracy", True, tuple(candidates))


@pytest.fixture(scope="module")
def profile() -> Profile:
    """A profile of columns named with ``LONG`` characters each, with issues."""
    table = mixed_table(200)
    table.columns = [f"{name}_".ljust(LONG, "x") for name in table.columns]
    return lathe.profile(table, None)


def _parameter_words(lines: list[str]) -> list[str]:
    return [word for line in lines for word in re.findall(r"[^\s│]+=[^\s│]+|[-+]?[\d.]+\*#\d+", line)]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_leaderboard_fits_and_never_cuts_a_word(board: Leaderboard, width: int) -> None:
    lines = _drawn(_display.leaderboard(board), width)
    text = "\n".join(lines)
    for column in ("#", "learner", "balanced_accuracy", "± std", "s/fold", "ms/row"):
        assert column in text
    shown = board.ranked()[:10]
    for candidate in shown:
        assert re.search(rf"│\s+{candidate.number} │ {candidate.family}\s", text)
    words = {word for candidate in shown for word in candidate.brief}
    assert set(_parameter_words(lines)) <= words  # each parameter shown whole, or not at all
    assert all(re.fullmatch(r"[^…]* … +│", line) for line in lines if "…" in line)  # "…" stands for whole words
    if "params" not in text:
        assert "parameters: in a wider terminal, `lathe info` and the report" in text


def test_a_wide_terminal_shows_every_parameter(board: Leaderboard) -> None:
    text = "\n".join(_drawn(_display.leaderboard(board), 160))
    assert "params" in text
    for candidate in board.ranked()[:10]:
        assert " ".join(candidate.brief) in text
    assert "leaves=31 lr=0.1 min_leaf=20 col_frac=0.9 row_frac=1 l2=0.001" in text


def test_the_live_search_display_fits_80_columns(board: Leaderboard) -> None:
    display = _display.SearchDisplay(budget=60.0, enabled=False)
    display.candidate_finished(board.candidates[0], board)
    lines = _drawn(display, 80)
    assert lines[0].startswith("searching")
    assert any("balanced_accuracy" in line for line in lines)


def test_the_profile_never_cuts_a_column_name_at_80_columns(profile: Profile) -> None:
    lines = _drawn(_display.profile_summary(profile), 80)
    text = "\n".join(lines)
    for column in profile.columns:
        assert re.search(rf"^[│ ] {column.name} ", text, re.MULTILINE), column.name
        for issue in column.issues:
            assert any(column.name in line and issue in line for line in lines), issue  # on the name's line
    assert "…" not in text
    for header in ("column", "type", "missing", "distinct"):
        assert header in lines[2]


def test_the_profile_at_160_columns_keeps_every_column(profile: Profile) -> None:
    short = Profile.from_dict(lathe.profile(mixed_table(200), None).to_dict())
    lines = _drawn(_display.profile_summary(short), 160)
    assert all(
        word in lines[2] for word in ("column", "type", "missing", "distinct", "range or most frequent", "issues")
    )
    amount = next(line for line in lines if line.startswith("│ amount "))
    assert "5.32053 to 425.425" in amount
    assert "1 outlier (beyond 4 standard deviations)" in amount  # the issues in the table, on one line
    assert "…" not in "\n".join(lines)
    wide = _drawn(_display.profile_summary(profile), 160)
    assert "range or most frequent" in wide[2]
