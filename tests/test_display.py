"""Bundles, profiles and leaderboards read well in a terminal (repr) and a notebook (HTML)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import lathe
from lathe.profile import Profile
from lathe.search import Candidate, Leaderboard
from lathe.testing import mixed_table


class _Checked(HTMLParser):
    """Collects the text and checks that every opened tag is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _text_of(html: str) -> str:
    parser = _Checked()
    parser.feed(html)
    assert parser.open == []
    return " ".join(parser.text)


@pytest.fixture(scope="module")
def bundle() -> lathe.Bundle:
    table = mixed_table(200).rename(columns={"plan": "<b>plan</b>"})
    return lathe.train(table, target="target", trials=3, budget=None, verbose=False)


def test_bundle_repr_says_what_it_is(bundle: lathe.Bundle) -> None:
    text = repr(bundle)
    assert text.startswith("Bundle: binary classification of 'target' (classes: no, yes)")
    assert "inputs: 5 (amount, <b>plan</b>, active, signup, note)" in text
    assert f"model: {bundle.manifest['model']['family']}; cv roc_auc=" in text
    assert "holdout roc_auc=" in text
    assert len(text.splitlines()) == 4


def test_bundle_html_is_escaped_and_holds_the_leaderboard(bundle: lathe.Bundle) -> None:
    html = bundle._repr_html_()
    assert "<b>plan</b>" not in html
    text = _text_of(html)
    assert "<b>plan</b>" in text
    count = len(bundle.leaderboard.candidates)  # three searched, and a blend where it scored better
    assert f"Leaderboard: {count} candidates by roc_auc (higher is better)" in text


def test_leaderboard_repr_ranks_best_first(bundle: lathe.Bundle) -> None:
    lines = repr(bundle.leaderboard).splitlines()
    count = len(bundle.leaderboard.candidates)
    assert lines[0] == f"Leaderboard: {count} candidates by roc_auc (higher is better)"
    assert lines[1].split()[:4] == ["rank", "#", "family", "roc_auc"]
    assert lines[2].split()[:3] == ["1", str(bundle.leaderboard.best.number), bundle.leaderboard.best.family]
    assert len(lines) == count + 2


def test_long_leaderboards_are_cut() -> None:
    candidates = tuple(Candidate(i, "linear", {"C": 1.0 / (i + 1)}, i / 20, 0.0, 0.1, float(i)) for i in range(14))
    board = Leaderboard("accuracy", True, candidates)
    assert repr(board).splitlines()[-1].strip() == "... 4 more"
    assert "... 4 more" in _text_of(board._repr_html_())
    assert _text_of(board._repr_html_()).count("linear") == 10


def test_profile_repr_and_html(bundle: lathe.Bundle) -> None:
    profile = Profile.from_dict(bundle.manifest["profile"])
    lines = repr(profile).splitlines()
    assert lines[0] == "Profile: 200 rows, 9 columns"
    assert lines[2].split() == ["customer_id", "identifier", "integer", "0%", "200"]
    assert lines[-1].split() == ["target", "categorical", "string", "0%", "2"]
    text = _text_of(profile._repr_html_())
    assert "Profile: 200 rows, 9 columns" in text
    assert "<b>plan</b>" in text


def test_display_of_a_bundle_without_holdout() -> None:
    table = mixed_table(100)
    bundle = lathe.train(table, target="target", trials=1, budget=None, verbose=False, holdout=0)
    assert "holdout" not in repr(bundle)
    assert "trained on 100 rows" in repr(bundle)
