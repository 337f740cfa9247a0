"""Blends: a weighted sum of fitted models' margins plus an offset, then the task's link.

A blend is how lathe ensembles (greedy ensemble selection over out-of-fold margins) and how it
calibrates (Platt scaling of a binary margin, temperature of multiclass margins): both are a
weight per member and an offset. Summing margins, not probabilities, keeps a blend's
explanation exact (the weighted sum of its members' contributions) and its exports a sum of
the members' own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression

from lathe.profile import Task
from lathe.search._learners import FAMILIES, Model, linked
from lathe.search._metrics import Metric, log_loss

ROUNDS = 25  # greedy steps, members drawn with replacement
POOL = 8  # the best candidates the ensemble is drawn from
CALIBRATION_GAIN = 1e-3  # log loss must fall by this much for calibration to be kept


@dataclass(frozen=True)
class BlendModel:
    """``margin = offset + sum(weight_i * margin_i)``, then the link of ``task``."""

    family: ClassVar[str] = "blend"
    task: Task
    members: tuple[Model, ...]
    weights: tuple[float, ...]
    offset: float = 0.0

    def margin(self, X: np.ndarray) -> np.ndarray:
        total = sum(w * m.margin(X) for w, m in zip(self.weights, self.members, strict=True))
        return np.asarray(total) + self.offset

    def predict(self, X: np.ndarray) -> np.ndarray:
        return linked(self.task, self.margin(X))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        parts = sum(w * m.contributions(X) for w, m in zip(self.weights, self.members, strict=True))
        total = np.array(parts, dtype="float64")
        total[:, :, -1] += self.offset
        return total

    def save(self, folder: Path, stem: str = "model") -> str:
        files = [m.save(folder, f"{stem}.{i}") for i, m in enumerate(self.members)]
        members = [
            {"family": m.family, "file": f, "weight": w}
            for m, f, w in zip(self.members, files, self.weights, strict=True)
        ]
        (folder / f"{stem}.blend.json").write_text(json.dumps({"offset": self.offset, "members": members}))
        return f"{stem}.blend.json"


def load_model(folder: Path, family: str, file: str, task: Task) -> Model:
    """The model of ``family`` (a learner family or "blend") saved as ``file`` in ``folder``."""
    if family != BlendModel.family:
        return FAMILIES[family].load(folder, file, task)
    saved = json.loads((folder / file).read_text())
    members = tuple(FAMILIES[m["family"]].load(folder, m["file"], task) for m in saved["members"])
    return BlendModel(task, members, tuple(float(m["weight"]) for m in saved["members"]), float(saved["offset"]))


def select_members(margins: dict[int, np.ndarray], y: np.ndarray, task: Task, metric: Metric) -> dict[int, float]:
    """Greedy ensemble selection (Caruana et al., 2004) over out-of-fold ``margins`` by candidate
    number, best candidate first: each step adds (with replacement) the member whose addition
    scores best. The weights are the members' shares of the steps."""
    numbers = list(margins)
    counts = dict.fromkeys(numbers, 0)
    counts[numbers[0]] = 1
    total = margins[numbers[0]].copy()
    for step in range(2, ROUNDS + 1):
        scores = {n: metric.signed(metric(y, linked(task, (total + margins[n]) / step))) for n in numbers}
        chosen = max(numbers, key=lambda n: (scores[n], -numbers.index(n)))
        counts[chosen] += 1
        total += margins[chosen]
    return {n: c / ROUNDS for n, c in counts.items() if c}


def calibration(margin: np.ndarray, y: np.ndarray, task: Task) -> tuple[float, float] | None:
    """A scale and offset for ``margin`` (out of fold) that lower the log loss by at least
    ``CALIBRATION_GAIN``: Platt scaling for binary, a temperature for multiclass; else None."""
    if task is Task.REGRESSION:
        return None
    before = log_loss(y, linked(task, margin))
    if task is Task.BINARY:
        platt = LogisticRegression(C=1e4).fit(margin.reshape(-1, 1), y)
        scale, offset = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    else:
        found = minimize_scalar(
            lambda t: log_loss(y, linked(task, margin * np.exp(t))), bounds=(-3, 3), method="bounded"
        )
        scale, offset = float(np.exp(found.x)), 0.0
    after = log_loss(y, linked(task, margin * scale + offset))
    return (scale, offset) if after < before - CALIBRATION_GAIN else None
