"""A training killed with SIGKILL in the search, in the blend and in the final refit, then run
again with ``--resume``, ends with the bundle an uninterrupted run gives, and fits nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from lathe.cli import main
from lathe.search import KILL_AT
from lathe.testing import mixed_table
from tests.test_reproducible import assert_same_bundle

# The portfolio's first three are linear, LightGBM and XGBoost; a blend of them wins on this
# table, so the final refit fits several models and can be killed between them.
TRIALS = 3


def _train(data: Path, out: Path, *more: object, seed: int = 7) -> list[str]:
    options = ["--target", "target", "--trials", str(TRIALS), "--seed", str(seed), "--out", str(out)]
    return ["train", str(data), *options, *map(str, more)]


def _lathe(args: list[str], kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != KILL_AT} | ({KILL_AT: kill_at} if kill_at else {})
    env["COLUMNS"] = "500"  # status lines unwrapped
    command = [sys.executable, "-m", "lathe.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def _killed(args: list[str], kill_at: str) -> str:
    run = _lathe(args, kill_at)
    assert run.returncode == -signal.SIGKILL, f"not killed at {kill_at}: {run.stdout}{run.stderr}"
    return run.stdout + run.stderr


def test_killed_in_the_search_the_blend_and_the_refit_it_resumes_to_the_same_bundle(tmp_path: Path) -> None:
    data, checkpoint = tmp_path / "table.csv", tmp_path / "checkpoint"
    mixed_table(200, seed=3).to_csv(data, index=False)
    assert main(_train(data, tmp_path / "uninterrupted")) == 0
    resumed = _train(data, tmp_path / "resumed", "--resume", checkpoint)

    _killed(resumed, "search:2")  # two trials saved, the third one being fitted
    assert main(_train(data, tmp_path / "resumed", "--resume", checkpoint, seed=8)) == 2  # another seed: refused
    said = _killed(resumed, "blend:1")  # the third trial fitted; killed as the blend is saved
    assert "reusing 2 finished candidate(s)" in said
    assert "candidate 3: xgboost" in said
    assert "candidate 1:" not in said
    assert "candidate 2:" not in said
    said = _killed(resumed, "refit:1")  # the blend computed again and saved; one member refitted
    assert "reusing 3 finished candidate(s)" in said
    assert "candidate 3:" not in said
    run = _lathe(resumed)
    assert run.returncode == 0, run.stderr
    assert "reusing 3 finished candidate(s), the search and the blend done, 1 model(s) refitted" in run.stderr
    assert not checkpoint.exists()  # removed once the bundle is saved
    assert_same_bundle(tmp_path / "uninterrupted", tmp_path / "resumed")


def test_a_folder_that_is_not_a_checkpoint_is_refused(tmp_path: Path, capsys: object) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    data = tmp_path / "table.csv"
    mixed_table(40).to_csv(data, index=False)
    assert main(_train(data, tmp_path / "model", "--resume", tmp_path / "notes")) == 2
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"
    assert not (tmp_path / "model").exists()
