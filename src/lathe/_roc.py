"""ROC AUC by average ranks: the one figure both the leak checks and the search's metric need."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` for the rows where ``positive`` is true, by average ranks (the
    Mann-Whitney U, ties counting half): scikit-learn's figure, without its checks' cost (a
    metric is scored thousands of times in a run). One class only raises ``ValueError``.

    >>> roc_auc(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    count = int(np.count_nonzero(positive))
    if count in (0, len(positive)):
        raise ValueError("only one class is present in y_true: ROC AUC is not defined")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - count * (count + 1) / 2) / (count * (len(positive) - count)))
