"""The search's folds side by side (one per core, one thread each) against one after another (each
on every core): the seconds the first portfolio candidates take, by the rows searched on.

For each size, generated classification data with as many folds as `lathe train` would use
(5 up to 20,000 rows, 3 above), the search's first TRIALS candidates (linear, LightGBM, XGBoost,
LightGBM) are run both ways through lathe's own search; the same candidates score the same either
way. Prints a table and writes it to bench/RESULTS.md (section "folds"); it sets where the search
stops fitting folds side by side (`SIDE_BY_SIDE` in lathe/search/_search.py).

Usage: python bench/folds.py
"""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn.datasets import make_classification

from _results import record
from lathe.profile import Task
from lathe.search import SearchSpec, _search, metric_for, run_search

SIZES = ((1_200, 10, 5), (5_000, 20, 2), (20_000, 30, 2), (50_000, 40, 2))  # rows, features, classes
TRIALS = 4


def _seconds(X: np.ndarray, y: np.ndarray, spec: SearchSpec, side_by_side: bool) -> tuple[float, list[float]]:
    """Seconds for the search, and its candidates' scores, with the folds side by side or not."""
    _search.SIDE_BY_SIDE = len(X) if side_by_side else 0
    started = time.perf_counter()
    board = run_search(X, y, spec)
    return time.perf_counter() - started, [c.cv_score for c in board.candidates]


def main() -> None:
    rows = []
    for size, features, classes in SIZES:
        X, y = make_classification(size, features, n_informative=features // 2, n_classes=classes, random_state=0)
        task = Task.BINARY if classes == 2 else Task.MULTICLASS
        spec = SearchSpec(task, classes, metric_for(task), trials=TRIALS, folds=5 if size <= 20_000 else 3)
        apart, scores = _seconds(X, y, spec, side_by_side=False)
        together, same = _seconds(X, y, spec, side_by_side=True)
        assert np.allclose(scores, same), "the folds side by side scored differently"
        rows.append(f"| {size:,} | {features} | {classes} | {spec.folds} | {apart:.1f} | {together:.1f} | "
                    f"{apart / together:.2f}x |")  # fmt: skip
        print(rows[-1], flush=True)
    section = "\n".join([
        f"## folds: the search's first {TRIALS} candidates, folds one after another on every core or side by side",
        "",
        "| rows | features | classes | folds | one after another s | side by side s | speed-up |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"{os.cpu_count()} cores, one run. Candidates: linear, LightGBM, XGBoost, LightGBM (the portfolio's first "
        f"{TRIALS}), and a blend where it scores better; generated data (scikit-learn's make_classification).",
        "",
    ])  # fmt: skip
    record(section)


if __name__ == "__main__":
    main()
