"""Deployment cost in the choice: each candidate's one-row latency and size, and limits on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lathe
from lathe.errors import InvalidParameterError
from lathe.search import Candidate, Leaderboard
from lathe.testing import mixed_table


@pytest.fixture(scope="module")
def free() -> lathe.Bundle:
    """Three candidates and their blend, the blend winning (seed 0), with no limits."""
    bundle = lathe.train(mixed_table(400), "target", budget=None, trials=3, verbose=False)
    assert bundle.leaderboard.best.family == "blend"
    return bundle


def _singles(bundle: lathe.Bundle) -> list[Candidate]:
    return [c for c in bundle.leaderboard.candidates if c.family != "blend"]


def _families(board: Leaderboard, candidate: Candidate) -> set[str]:
    if candidate.family != "blend":
        return {candidate.family}
    families = {c.number: c.family for c in board.candidates}
    return {families[int(n)] for n, _ in candidate.params["members"]}


def _members(candidate: Candidate) -> set[int]:
    return {int(n) for n, _ in candidate.params["members"]} if candidate.family == "blend" else {candidate.number}


def test_every_candidate_has_its_latency_and_size(free: lathe.Bundle) -> None:
    for candidate in free.leaderboard.candidates:
        assert candidate.latency_ms is not None
        assert 0 < candidate.latency_ms < 1000
        assert candidate.size_mb is not None
        assert candidate.size_mb > 0
    blend, singles = free.leaderboard.best, _singles(free)
    members = {int(n) for n, _ in blend.params["members"]}
    assert blend.size_mb == pytest.approx(sum(c.size_mb or 0.0 for c in singles if c.number in members))
    assert blend.latency_ms is not None
    assert blend.latency_ms > max(c.latency_ms or 0.0 for c in singles if c.number in members)


def test_a_size_limit_changes_the_winner_to_the_linear_model(free: lathe.Bundle) -> None:
    linear = next(c for c in _singles(free) if c.family == "linear")
    others = [c.size_mb or 0.0 for c in _singles(free) if c.family != "linear"]
    assert linear.size_mb is not None
    assert linear.size_mb * 2 < min(others)
    bundle = lathe.train(mixed_table(400), "target", budget=None, trials=3, max_size_mb=linear.size_mb * 2,
                         verbose=False)  # fmt: skip
    board, best = bundle.leaderboard, bundle.leaderboard.best
    assert _families(board, best) == {"linear"}  # the linear model, or its calibration (a blend of it alone)
    assert best.size_mb is not None
    assert best.size_mb <= linear.size_mb * 2
    assert [c.family for c in board.ranked() if c.family != "blend"] == ["linear", "lightgbm", "xgboost"]
    assert [r["family"] for r in board.rows() if not r["within_limits"]] == ["lightgbm", "xgboost"]  # ranked last


def test_a_latency_limit_is_kept_by_the_winner_and_ranks_the_slower_last(free: lathe.Bundle) -> None:
    """A limit below the free winner's one-row latency (a blend, which scores a row through each of
    its members). Latencies are measured anew in the second run, so which candidate wins is not
    asserted here (``test_the_leaderboard_keeps_its_limits`` shows a latency limit changing the
    winner without a clock); what holds whatever the timings: the winner keeps the limit, and the
    candidates over it rank after those within it."""
    limit = 0.75 * (free.leaderboard.best.latency_ms or 0.0)
    bundle = lathe.train(mixed_table(400), "target", budget=None, trials=3, max_latency_ms=limit, verbose=False)
    board = bundle.leaderboard
    assert board.max_latency_ms == limit
    assert board.best.latency_ms is not None
    assert board.best.latency_ms <= limit
    within = [row["within_limits"] for row in board.rows()]
    assert within == sorted(within, reverse=True)


def test_limits_no_candidate_keeps_are_refused_with_what_would(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"no candidate keeps --max-size-mb 1e-09: .* the smallest"):
        lathe.train(mixed_table(200), "target", budget=None, trials=1, max_size_mb=1e-9, out=tmp_path / "m",
                    verbose=False)  # fmt: skip
    assert not (tmp_path / "m").exists()
    with pytest.raises(InvalidParameterError, match="max_latency_ms must be a positive number"):
        lathe.train(mixed_table(200), "target", budget=None, trials=1, max_latency_ms=0, verbose=False)


def test_the_leaderboard_keeps_its_limits() -> None:
    board = Leaderboard("rmse", False, (Candidate(0, "linear", {}, 1.0, 0.0, 0.1, 0.1, latency_ms=2.0, size_mb=0.5),
                                        Candidate(1, "lightgbm", {}, 0.5, 0.0, 0.1, 0.2, latency_ms=9.0, size_mb=3.0)),
                        max_latency_ms=5.0)  # fmt: skip
    assert board.best.number == 0  # the slower lightgbm scores better, and wins without the limit:
    assert Leaderboard("rmse", False, board.candidates).best.number == 1
    assert Leaderboard.from_dict(board.to_dict()) == board
    assert "over the limits" in repr(board)


def test_a_lightgbm_margin_of_one_row_takes_the_fast_path_and_agrees(free: lathe.Bundle) -> None:
    """A blend sums its members' margins: one row's goes through LightGBM's single-row path."""
    lightgbm = next(m for m in free.model.members if m.family == "lightgbm")  # type: ignore[attr-defined]
    X = free.plan.transform(mixed_table(400).head(5))
    assert np.array_equal(np.vstack([lightgbm.margin(X[i : i + 1]) for i in range(5)]), lightgbm.margin(X))
    assert "_single_margin" in vars(lightgbm)
