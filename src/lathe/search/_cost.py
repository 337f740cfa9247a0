"""What a candidate costs where it is deployed: one row's latency in process, and its saved size.

Both are measured on a fitted fold model, the way a bundle serves (``Bundle.predict_rows``: the
feature plan's ``transform_rows``, then the model's ``predict`` of one row; LightGBM's single-row
fast path included). The plan's share is the same for every candidate and is measured once by
the caller (``SearchSpec.plan_latency_ms``). A refit on every row has about as many trees as the
fold model (the rounds found, plus a tenth), so its size is close to the fold model's.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lathe.search._learners import Model

CALLS = 25  # one-row predictions timed; the median counts, after one untimed call that warms the path
MEGABYTE = 2**20


def one_row_latency_ms(model: Model, row: np.ndarray) -> float:
    """The median milliseconds ``model`` takes to predict the single row ``row`` (shape 1 x features)."""
    return median_ms(lambda: model.predict(row))


def median_ms(call: Callable[[], object]) -> float:
    """The median milliseconds of ``CALLS`` calls of ``call``, after one untimed call."""
    call()
    seconds = []
    for _ in range(CALLS):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds)) * 1000


def saved_size_mb(model: Model) -> float:
    """The megabytes of the files ``model.save`` writes."""
    with tempfile.TemporaryDirectory(prefix="lathe-size-") as folder:
        model.save(Path(folder))
        return sum(p.stat().st_size for p in Path(folder).iterdir()) / MEGABYTE
