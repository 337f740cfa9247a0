"""Models that are a sum of trees lathe reads itself (XGBoost's, CatBoost's): predicted by walking
the trees in double precision, as ONNX, PMML and SQL add them up, and explained by exact TreeSHAP
over the same trees.

The trees come in the layout of LightGBM's ``dump_model`` (``tree_structure``), which lathe's
TreeSHAP and exports read, each with the margin it adds to. One row is walked through the trees by
a compiled loop (numba), faster than the libraries' own predictors set up for one row; many rows are
walked in blocks, shared out between threads.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike

from lathe.profile import Task
from lathe.search import _learners
from lathe.search._tree_shap import TreeShap

BLOCK = 64  # rows walked through one tree after another
FEW = 8  # fewer rows than this walk the trees one by one
ROWS_PER_THREAD = 2000  # fewer rows than this per thread are walked on one
_FLOAT32_OVERFLOW = 2.0**128  # one float32 step beyond the largest


def split_below(split: ArrayLike) -> np.ndarray:
    """The largest double ``x`` with ``float32(x) < split`` (``split`` float32 numbers, each worked
    out apart): XGBoost's rule ``float32(x) < split`` is ``x <= split_below(split)`` for every double ``x``.

    Doubles round to the float32 below ``split`` up to the midpoint between the two, which
    itself rounds to the one of even mantissa.
    """
    above = np.asarray(split, dtype=np.float32)
    with np.errstate(over="ignore"):  # below the lowest float32 is -inf: doubles from halfway to -2**128 round to it
        below = np.nextafter(above, np.float32(-np.inf))
        lower = np.where(np.isfinite(below), below.astype(np.float64), -_FLOAT32_OVERFLOW)
        middle = (lower + above.astype(np.float64)) / 2  # exact: two neighbouring float32 need 25 bits
        rounds_below = middle.astype(np.float32) < above
    return np.where(rounds_below, middle, np.nextafter(middle, -np.inf))


class WalkedTrees(ABC):
    """A fitted model whose margin is the sum of ``trees`` (see the module's docstring). A subclass
    reads its library's trees (``_read``) and gives the library's own contributions, for a model
    whose TreeSHAP tables would be too large."""

    task: Task

    @abstractmethod
    def _read(self) -> list[tuple[dict[str, Any], int]]:
        """The trees, each with the margin it adds to."""

    @property
    @abstractmethod
    def features(self) -> int:
        """How many features the model reads."""

    @abstractmethod
    def _own_contributions(self, X: np.ndarray) -> np.ndarray:
        """The library's own TreeSHAP: rows x margins x (features + 1)."""

    @cached_property
    def trees(self) -> list[tuple[dict[str, Any], int]]:
        return self._read()

    @cached_property
    def _forest(self) -> _Forest:
        return _Forest.of(self.trees)

    @cached_property
    def _outputs(self) -> int:
        return 1 + max(margin for _, margin in self.trees)

    def margin(self, X: np.ndarray) -> np.ndarray:
        return self._forest.margin(X, self._outputs, _learners.threads())

    def predict(self, X: np.ndarray) -> np.ndarray:
        return _learners.linked(self.task, self.margin(X))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        # Exact TreeSHAP in double precision over the same trees (see _tree_shap); the library's
        # own where the tables would be too large.
        if self._tree_shap is None:
            return self._own_contributions(X)
        return self._tree_shap.contributions(X, _learners.threads()).reshape(len(X), -1, X.shape[1] + 1)

    @cached_property
    def _tree_shap(self) -> TreeShap | None:
        return TreeShap.of_trees(self.trees, self._outputs, self.features)


@dataclass(frozen=True)
class _Forest:
    """Every tree's nodes as flat arrays for the compiled walk, the two children of a split side by
    side (``child`` the left one, the right one next) and each leaf its own child with threshold
    +inf: a row takes exactly its tree's ``depth`` steps, without a branch."""

    roots: np.ndarray
    margins: np.ndarray
    depth: np.ndarray
    feature: np.ndarray  # 0 at a leaf
    child: np.ndarray
    threshold: np.ndarray  # +inf at a leaf
    nan_right: np.ndarray  # a missing value goes right
    value: np.ndarray  # a leaf's value (0 at a split)

    @classmethod
    def of(cls, trees: list[tuple[dict[str, Any], int]]) -> _Forest:
        feature: list[int] = []
        child: list[int] = []
        threshold: list[float] = []
        nan_right: list[bool] = []
        value: list[float] = []

        def slots(count: int) -> int:
            """``count`` new nodes, each a leaf of value 0 for now; the first one's index."""
            first = len(feature)
            feature.extend([0] * count)
            child.extend(range(first, first + count))
            threshold.extend([np.inf] * count)
            nan_right.extend([False] * count)
            value.extend([0.0] * count)
            return first

        def place(node: dict[str, Any], at: int) -> int:
            """Put ``node`` and its subtree at node ``at``; return the subtree's depth."""
            if "split_feature" not in node:
                value[at] = node["leaf_value"]
                return 0
            first = slots(2)
            feature[at], child[at], threshold[at] = node["split_feature"], first, node["threshold"]
            nan_right[at] = not node["default_left"]
            return 1 + max(place(node["left_child"], first), place(node["right_child"], first + 1))

        roots = [slots(1) for _ in trees]
        depth = [place(root, at) for (root, _), at in zip(trees, roots, strict=True)]
        margins = [margin for _, margin in trees]
        return cls(
            roots=np.array(roots, dtype=np.int64), margins=np.array(margins, dtype=np.int64),
            depth=np.array(depth, dtype=np.int64), feature=np.array(feature, dtype=np.int64),
            child=np.array(child, dtype=np.int64), threshold=np.array(threshold, dtype=np.float64),
            nan_right=np.array(nan_right, dtype=np.bool_), value=np.array(value, dtype=np.float64),
        )  # fmt: skip

    def margin(self, X: np.ndarray, outputs: int, threads: int) -> np.ndarray:
        """The sum of the trees per margin, rows x ``outputs``, on up to ``threads`` threads."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.zeros((len(X), outputs))
        arrays = (self.roots, self.margins, self.depth, self.feature, self.child, self.threshold, self.nan_right,
                  self.value)  # fmt: skip
        if len(X) < FEW:  # serving's case: one row, whose walk is faster where the CPU can guess ahead
            _walk_few(X, out, *arrays)
            return out
        parts = min(threads, len(X) // ROWS_PER_THREAD)
        if parts <= 1:
            _walk(X, out, *arrays)
            return out
        cuts = np.linspace(0, len(X), parts + 1).astype(int)
        list(_pool(parts).map(lambda c: _walk(X[c[0] : c[1]], out[c[0] : c[1]], *arrays), itertools.pairwise(cuts)))
        return out


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="lathe-trees")


@numba.njit(cache=True, nogil=True)
def _walk(
    X: np.ndarray, out: np.ndarray, roots: np.ndarray, margins: np.ndarray, depth: np.ndarray, feature: np.ndarray,
    child: np.ndarray, threshold: np.ndarray, nan_right: np.ndarray, value: np.ndarray,
) -> None:  # fmt: skip
    """Add each tree's leaf for each row of ``X`` to the row's margin in ``out``: a block of rows
    walks one tree after another, one level at a time, so that the tree stays in the cache and
    the rows' walks overlap; a row goes right where ``x > threshold``, or where it is missing
    and the split sends missing values right."""
    node = np.empty(BLOCK, dtype=np.int64)
    for start in range(0, X.shape[0], BLOCK):
        rows = min(BLOCK, X.shape[0] - start)
        for tree in range(roots.shape[0]):
            node[:rows] = roots[tree]
            for _ in range(depth[tree]):
                for j in range(rows):
                    at = node[j]
                    x = X[start + j, feature[at]]
                    node[j] = child[at] + np.int64((x > threshold[at]) | (np.isnan(x) & nan_right[at]))
            for j in range(rows):
                out[start + j, margins[tree]] += value[node[j]]


@numba.njit(cache=True, nogil=True)
def _walk_few(
    X: np.ndarray, out: np.ndarray, roots: np.ndarray, margins: np.ndarray, depth: np.ndarray, feature: np.ndarray,
    child: np.ndarray, threshold: np.ndarray, nan_right: np.ndarray, value: np.ndarray,
) -> None:  # fmt: skip
    """``_walk`` for a few rows: each row down each tree on its own, branching at each split."""
    for row in range(X.shape[0]):
        for tree in range(roots.shape[0]):
            at = roots[tree]
            while child[at] != at:
                x = X[row, feature[at]]
                at = child[at] + 1 if x > threshold[at] or (np.isnan(x) and nan_right[at]) else child[at]
            out[row, margins[tree]] += value[at]
