"""Checkpoints: a training that survives a kill at any moment and resumes where it stopped.

A checkpoint is a folder the train workflow fills as it goes, each file written whole (to a
temporary file in the same folder, flushed to disk, then renamed over its name; a file is
there whole or not at all):

- ``checkpoint.json``: the fingerprint of what is searched: the feature matrix, the target, the
  rows' weights, times or groups, the settings (task, metric, seed, folds, trials, limits) and
  the versions of lathe and its learners. A checkpoint of anything else is refused.
- ``trial-NNNNN.json``, one per trial the search finished or abandoned: Optuna's parameters,
  the fold scores it reported (the pruner then decides again as it did) and its candidate;
  ``margin-NNNNN.npy``: a finished trial's out-of-fold margins, kept while it is among the
  blend's pool. The search keeps no fold models (each fold's fit is scored and dropped), so
  none are saved.
- ``search.json``: the leaderboard once the search and its blend are done.
- ``refit-NNNNN.json`` and the model file it names (the bundle's own formats: LightGBM text,
  XGBoost, CatBoost and linear JSON): candidate NNNNN refitted on every training row.

A resumed search replays the finished trials without fitting them: Optuna asks for each
again and is told what came of it, so the trials after them are those an uninterrupted run
with the same seed draws, and the leaderboard is the same. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from lathe.errors import CheckpointError
from lathe.profile import Task
from lathe.search._leaderboard import Candidate, Leaderboard
from lathe.search._learners import FAMILIES, Model

FORMAT = 1
KILL_AT = "LATHE_KILL_AT"  # STAGE:N, for tests: this process kills itself (SIGKILL) there; see ``_reached``
_HEAD = "checkpoint.json"
_SEARCH = "search.json"


@dataclass(frozen=True)
class Trial:
    """One trial of the search as it ended: Optuna's ``params``, the ``reports`` (step, value) it
    made, its ``candidate`` (None: abandoned, ``timed`` out or pruned) and the search's seconds
    ``elapsed`` when it ended."""

    number: int
    params: dict[str, Any]
    reports: tuple[tuple[int, float], ...]
    candidate: Candidate | None
    timed: bool
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        candidate = None if self.candidate is None else self.candidate.to_dict()
        return {"number": self.number, "params": self.params, "reports": [list(r) for r in self.reports],
                "candidate": candidate, "timed": self.timed, "elapsed": self.elapsed}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        """The inverse of ``to_dict``."""
        candidate = None if data["candidate"] is None else Candidate.from_dict(data["candidate"])
        reports = tuple((int(step), float(value)) for step, value in data["reports"])
        return cls(int(data["number"]), data["params"], reports, candidate, bool(data["timed"]), float(data["elapsed"]))


def check_checkpoint_folder(path: str | Path) -> Path:
    """``path`` as a folder a checkpoint may live in: new, empty or a checkpoint already."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"{folder}: is a file; --resume names a folder for the checkpoint")
    if folder.is_dir() and not (folder / _HEAD).is_file() and any(folder.iterdir()):
        raise CheckpointError(f"{folder}: exists and is not a lathe checkpoint; give --resume a new or empty folder")
    return folder


class Checkpoint:
    """The checkpoint folder of one training: what it holds, and each step saved as it ends."""

    def __init__(self, folder: Path, trials: list[Trial]) -> None:
        self.folder = folder
        self.trials = trials  # those saved when it was opened, by number

    @classmethod
    def open(
        cls, path: str | Path, X: np.ndarray, y: np.ndarray, arrays: Iterable[np.ndarray | None],
        settings: dict[str, Any],
    ) -> Checkpoint:  # fmt: skip
        """The checkpoint in ``path`` of a search of ``X`` and ``y`` (and the rows' other
        ``arrays``) with ``settings``: started afresh where the folder is new or empty, else
        checked to be of the same (``CheckpointError`` if not)."""
        folder = check_checkpoint_folder(path)
        digest = _fingerprint(X, y, arrays, settings)
        head = folder / _HEAD
        if head.is_file():
            saved = json.loads(head.read_text())
            if saved.get("format") != FORMAT or saved.get("fingerprint") != digest:
                raise CheckpointError(
                    f"{folder}: the checkpoint of another training (other data, settings, seed or lathe version); "
                    "give --resume a new folder, or remove this one to start afresh"
                )
        else:
            folder.mkdir(parents=True, exist_ok=True)
            _write(head, lambda h: h.write(json.dumps({"format": FORMAT, "fingerprint": digest}).encode()))
        for stale in folder.glob(".*.tmp"):  # a write a kill cut short
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        trials = [Trial.from_dict(json.loads(p.read_text())) for p in sorted(folder.glob("trial-*.json"))]
        return cls(folder, trials)

    def progress(self) -> str:
        """What the checkpoint holds, in words: the candidates it spares refitting, and the stages done."""
        finished = sum(t.candidate is not None for t in self.trials)
        said = [f"reusing {finished} finished candidate(s)"]
        said += [f"{len(self.trials) - finished} abandoned trial(s)"] if len(self.trials) > finished else []
        said += ["the search and the blend done"] if (self.folder / _SEARCH).is_file() else []
        refits = len(list(self.folder.glob("refit-*.json")))
        said += [f"{refits} model(s) refitted on every row"] if refits else []
        return ", ".join(said)

    def save_trial(self, trial: Trial, margin: np.ndarray | None, pool: Iterable[int]) -> None:
        """Save ``trial`` and, for a candidate in the blend's pool, its out-of-fold ``margin``; drop
        the margins of those no longer in the ``pool``."""
        if margin is not None:
            _write(self._margin(trial.number), lambda h: np.save(h, margin, allow_pickle=False))
        _write(self.folder / f"trial-{trial.number:05d}.json", lambda h: h.write(json.dumps(trial.to_dict()).encode()))
        kept = {self._margin(n) for n in pool}
        for path in self.folder.glob("margin-*.npy"):
            if path not in kept:
                path.unlink()
        _reached("search", trial.number + 1)

    def margin(self, number: int) -> np.ndarray:
        """Candidate ``number``'s out-of-fold margins (it is in the blend's pool)."""
        return np.asarray(np.load(self._margin(number), allow_pickle=False))

    def _margin(self, number: int) -> Path:
        return self.folder / f"margin-{number:05d}.npy"

    def searched(self) -> Leaderboard | None:
        """The leaderboard of the search and its blend, where they are done."""
        path = self.folder / _SEARCH
        return Leaderboard.from_dict(json.loads(path.read_text())) if path.is_file() else None

    def save_search(self, board: Leaderboard) -> None:
        """Save the leaderboard of the search and its blend."""
        _reached("blend", 1)  # the blend done, not yet saved: as if killed while blending
        _write(self.folder / _SEARCH, lambda h: h.write(json.dumps(board.to_dict()).encode()))

    def refitted(self, number: int, task: Task) -> Model | None:
        """Candidate ``number`` refitted on every row, where saved."""
        path = self.folder / f"refit-{number:05d}.json"
        if not path.is_file():
            return None
        saved = json.loads(path.read_text())
        return FAMILIES[saved["family"]].load(self.folder, saved["file"], task)

    def save_refit(self, number: int, model: Model) -> None:
        """Save candidate ``number`` refitted on every row: its model file, then the record naming it."""
        staging = Path(tempfile.mkdtemp(prefix=".refit-", suffix=".tmp", dir=self.folder))
        file = model.save(staging, f"refitted-{number:05d}")
        with (staging / file).open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging / file, self.folder / file)
        staging.rmdir()
        record = {"family": model.family, "file": file}
        _write(self.folder / f"refit-{number:05d}.json", lambda h: h.write(json.dumps(record).encode()))
        _reached("refit", len(list(self.folder.glob("refit-*.json"))))

    def remove(self) -> None:
        """Delete the checkpoint (its training is saved)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _fingerprint(X: np.ndarray, y: np.ndarray, arrays: Iterable[np.ndarray | None], settings: dict[str, Any]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in (X, y, *arrays):
        if array is None:
            digest.update(b"none")
            continue
        values = np.ascontiguousarray(array)
        digest.update(repr((values.dtype.str, values.shape)).encode())
        digest.update(values.view(np.uint8).ravel().data)
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _write(path: Path, fill: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, flushed to disk, renamed over it."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself on disk
    finally:
        os.close(folder)


def _reached(stage: str, count: int) -> None:
    """Kill this process with SIGKILL where ``LATHE_KILL_AT`` is ``STAGE:COUNT``: after the search's
    ``COUNT``-th trial saved (``search``), as the blend's leaderboard is about to be saved
    (``blend:1``), after the ``COUNT``-th model refitted on every row is saved (``refit``). The
    kill-and-resume tests use it to stop a real training at a known point."""
    if os.environ.get(KILL_AT) == f"{stage}:{count}":
        os.kill(os.getpid(), signal.SIGKILL)
