"""Feature selection: the feature columns that add nothing the others do not already give.

A column is dropped when it is constant over the training rows, an exact duplicate of an
earlier column, or almost perfectly correlated with one (``|r| >= CORRELATED``, measured on
at most ``SAMPLE_ROWS`` training rows). Earlier columns win, so the plan's order decides which
of two twins stays.
"""

from __future__ import annotations

import numpy as np

CORRELATED = 0.9999
SAMPLE_ROWS = 100_000


def redundant_features(X: np.ndarray, names: list[str], seed: int = 0) -> tuple[tuple[str, str], ...]:
    """(feature name, why it adds nothing) for each redundant column of the training matrix ``X``."""
    dropped: dict[int, str] = {}
    varying = np.ptp(X, axis=0) > 0
    for j in np.flatnonzero(~varying).tolist():
        dropped[j] = "constant: the same value in every training row"
    seen: dict[bytes, int] = {}
    for j in np.flatnonzero(varying).tolist():
        first = seen.setdefault(np.ascontiguousarray(X[:, j]).tobytes(), j)
        if first != j:
            dropped[j] = f"duplicate of {names[first]}"
    for j, i, r in _correlated(X, [j for j in range(X.shape[1]) if j not in dropped], seed):
        if j not in dropped and i not in dropped:
            dropped[j] = f"correlated with {names[i]} (r = {r:.3f})"
    return tuple((names[j], dropped[j]) for j in sorted(dropped))


def _correlated(X: np.ndarray, columns: list[int], seed: int) -> list[tuple[int, int, float]]:
    """(later column, earlier column, r) for the pairs of ``columns`` with ``|r| >= CORRELATED``, in order."""
    if len(columns) < 2:
        return []
    sample = X[np.random.default_rng(seed).choice(len(X), SAMPLE_ROWS, replace=False)] if len(X) > SAMPLE_ROWS else X
    r = np.corrcoef(sample[:, columns], rowvar=False)
    pairs = np.argwhere(np.triu(np.abs(r) >= CORRELATED, k=1))
    return sorted((columns[b], columns[a], float(r[a, b])) for a, b in pairs)
