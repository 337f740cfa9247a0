"""Drift measures between two binned distributions: effect sizes, not p-values.

Each function takes the counts of the same bins in the reference and in the current rows. The
shares are smoothed by ``EPSILON`` (added to every share, then renormalised) so that a bin empty
on one side gives a large but finite value.
"""

from __future__ import annotations

import numpy as np

from lathe.monitor._bins import Bins

EPSILON = 1e-4


def shares(counts: np.ndarray) -> np.ndarray:
    """``counts`` as shares of their total, smoothed by ``EPSILON``."""
    counts = np.asarray(counts, dtype="float64")
    raw = counts / max(float(counts.sum()), 1.0)
    return (raw + EPSILON) / (1.0 + EPSILON * len(raw))


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index: the sum over bins of (q - p) ln(q / p), the symmetric
    Kullback-Leibler divergence. Below 0.1 is usually read as no change, above 0.25 as a large one."""
    p, q = shares(reference), shares(current)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance in base 2: from 0 (same shares) to 1 (no bin in common)."""
    p, q = shares(reference), shares(current)
    m = (p + q) / 2
    divergence = (np.sum(p * np.log2(p / m)) + np.sum(q * np.log2(q / m))) / 2
    return float(np.sqrt(max(divergence, 0.0)))


def wasserstein(reference: np.ndarray, current: np.ndarray, centers: np.ndarray) -> float:
    """Earth mover's distance between the counts placed at the bins' ``centers`` (in the
    column's units), missing values left out."""
    p, q = np.asarray(reference, dtype="float64"), np.asarray(current, dtype="float64")
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    gap = np.abs(np.cumsum(p / p.sum()) - np.cumsum(q / q.sum()))[:-1]
    return float(np.sum(gap * np.diff(np.asarray(centers, dtype="float64"))))


def share_change(reference: float, current: float) -> float:
    """How far a share (missing values, unseen values) moved, in absolute terms."""
    return float(abs(current - reference))


def measured(bins: Bins, reference: np.ndarray, current: np.ndarray, unseen: int | None) -> dict[str, float | None]:
    """Every measure of one column: ``reference`` and ``current`` are its counts per bin
    (missing last), ``unseen`` the current rows' count of values the reference never had."""
    present = float(current[:-1].sum())
    return {
        "psi": psi(reference, current),
        "js": js_distance(reference, current),
        "wasserstein": wasserstein(reference[:-1], current[:-1], bins.centers) if bins.numeric else None,
        "missing": share_change(_share(reference[-1], reference), _share(current[-1], current)),
        "unseen": None if unseen is None else (unseen / present if present else 0.0),
    }


def _share(part: float, counts: np.ndarray) -> float:
    total = float(np.sum(counts))
    return float(part) / total if total else 0.0
