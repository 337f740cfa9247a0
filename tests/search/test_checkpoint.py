"""Checkpoints: a search resumed from some of its trials ends as an uninterrupted one, fitting
none of them again; a checkpoint of another search is refused."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from lathe.errors import CheckpointError
from lathe.profile import Task
from lathe.search import Leaderboard, SearchSpec, metric_for, open_checkpoint, refit, run_search

SPEC = SearchSpec(Task.BINARY, 2, metric_for(Task.BINARY), trials=3, seed=3)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4))
    return X, (X[:, 0] + X[:, 1] ** 2 + rng.normal(0, 0.5, 200) > 1).astype(int)


def _untimed(board: Leaderboard) -> list[tuple[object, ...]]:
    return [(c.number, c.family, c.params, c.cv_score, c.fold_scores) for c in board.candidates] + [
        (board.threshold, board.trials, board.timed_out)
    ]


def test_a_search_resumed_from_its_first_trials_ends_as_an_uninterrupted_one(tmp_path: Path) -> None:
    X, y = _data()
    whole = open_checkpoint(tmp_path / "whole", X, y, SPEC)
    board = run_search(X, y, SPEC, checkpoint=whole)
    assert len(whole.trials) == 0  # it was new
    part = tmp_path / "part"  # as a run killed after its second trial left it
    part.mkdir()
    for name in ("checkpoint.json", "trial-00000.json", "trial-00001.json", "margin-00000.npy", "margin-00001.npy"):
        shutil.copy(tmp_path / "whole" / name, part / name)
    resumed = open_checkpoint(part, X, y, SPEC)
    assert [t.number for t in resumed.trials] == [0, 1]
    again = run_search(X, y, SPEC, checkpoint=resumed)
    assert _untimed(again) == _untimed(board)
    assert again.candidates[:2] == board.candidates[:2]  # replayed, not fitted: their timings too
    # Finished: the saved leaderboard is the answer, whatever the rows (nothing is fitted).
    assert run_search(X[:0], y[:0], SPEC, checkpoint=open_checkpoint(part, X, y, SPEC)) == again


def test_a_refit_saved_is_loaded_not_fitted_again(tmp_path: Path) -> None:
    X, y = _data()
    checkpoint = open_checkpoint(tmp_path, X, y, SPEC)
    board = run_search(X, y, SPEC, checkpoint=checkpoint)
    fitted = refit(board, X, y, SPEC, checkpoint=checkpoint)
    assert len(list(tmp_path.glob("refit-*.json"))) == len(board.best.params.get("members", [0]))
    loaded = refit(board, X[:0], y[:0], SPEC, checkpoint=checkpoint)  # no rows: it can only load
    assert np.array_equal(loaded.predict(X), fitted.predict(X))


def test_a_checkpoint_of_another_search_is_refused(tmp_path: Path) -> None:
    X, y = _data()
    open_checkpoint(tmp_path, X, y, SPEC)
    for other in ((X + 1, y, SPEC), (X, 1 - y, SPEC), (X, y, dataclasses.replace(SPEC, seed=4)),
                  (X, y, dataclasses.replace(SPEC, trials=4))):  # fmt: skip
        with pytest.raises(CheckpointError, match="the checkpoint of another training"):
            open_checkpoint(tmp_path, *other)
    open_checkpoint(tmp_path, X, y, dataclasses.replace(SPEC, budget=30.0))  # the budget is no part of it


def test_a_folder_of_other_files_is_refused_and_a_write_cut_short_is_cleared(tmp_path: Path) -> None:
    X, y = _data()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="is not a lathe checkpoint"):
        open_checkpoint(tmp_path / "other", X, y, SPEC)
    open_checkpoint(tmp_path / "mine", X, y, SPEC)
    (tmp_path / "mine" / ".trial-00000.json.x1.tmp").write_text("{")  # a kill mid-write
    assert open_checkpoint(tmp_path / "mine", X, y, SPEC).trials == []
    assert not list((tmp_path / "mine").glob(".*.tmp"))
