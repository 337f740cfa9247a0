"""Exact TreeSHAP for LightGBM (and XGBoost, CatBoost) models, each leaf's Shapley weights worked out once.

Path-dependent TreeSHAP (Lundberg et al., 2020) gives a leaf of value ``v`` whose path splits on
the distinct features ``U`` (``d`` of them) this share of a row's prediction for feature ``i`` in U::

    v (o_i - z_i)  sum over S in U\\{i} of  |S|! (d-|S|-1)! / d!  prod_{j in S} o_j  prod_{j in U\\S\\{i}} z_j

where ``z_j`` is the share of the training rows that go the leaf's way at ``j``'s splits (their
product where ``j`` splits twice) and ``o_j`` is 1 when the row goes the leaf's way at all of them.
Only subsets of ``Q = {j != i : o_j = 1}`` survive, and the sum is ``H[Q] / z_i`` with::

    H[Q] = prod_{j in U\\Q} z_j  sum_k  k! (d-k-1)! / d!  [t^k] prod_{j in Q} (z_j + t)

which depends on the leaf and ``Q`` alone (the idea of Fast TreeSHAP v2, Yang 2021). ``H`` is
tabulated for every subset of every leaf's features, by a compiled loop, when the model is first
explained. Explaining a row then takes one decision per split node, which clears the node's
feature from the pattern of the leaves on the side the row does not take, and one look-up per
distinct feature of each leaf's path, compiled with numba and shared between threads by trees
(one row) or by rows (many); instead of the recursive walk with its O(d^2) arithmetic per leaf.
The base value is ``sum over leaves of v prod_{j in U} z_j``. A model whose tables would pass
``MAX_TABLE`` values (very deep trees) has no ``TreeShap``; LightGBM's own is used for it.
XGBoost's trees come in LightGBM's layout, their nodes' cover (sum of hessians) in place of the
counts of rows, as XGBoost's own TreeSHAP weighs them; CatBoost's, the training rows' weights.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import lightgbm as lgb
import numba
import numpy as np

MAX_TABLE = 16_000_000  # float64 values over all leaves' tables: 128 MB
LIGHTGBM_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at or below it counts as zero
MISSING = {"None": 0, "NaN": 1, "Zero": 2}  # LightGBM's missing types, as the kernel reads them


def leaf_scale(dump: dict[str, Any]) -> float:
    """What each leaf value of a LightGBM model dump counts for: 1, or one over the number of
    iterations where the trees are averaged (random-forest mode)."""
    if not dump.get("average_output"):
        return 1.0
    return 1.0 / max(1, len(dump["tree_info"]) // int(dump["num_tree_per_iteration"]))


@dataclass
class _Trees:
    """Every tree's splits in preorder and its leaves, as flat lists; nodes are numbered in preorder."""

    scale: float = 1.0  # each leaf value's weight (see leaf_scale)
    nodes: int = 0
    root: list[int] = field(default_factory=list)  # per tree: its root node
    split_start: list[int] = field(default_factory=lambda: [0])  # tree t's splits: split_start[t] to [t + 1]
    leaf_end: list[int] = field(default_factory=lambda: [0])  # tree t's leaves: leaf_end[t] to [t + 1]
    node: list[int] = field(default_factory=list)  # per split: its node
    feature: list[int] = field(default_factory=list)
    threshold: list[float] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    default_left: list[bool] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # nodes
    right: list[int] = field(default_factory=list)
    bit: list[int] = field(default_factory=list)  # the split's feature in its leaves' patterns
    leaf_node: list[int] = field(default_factory=list)  # per leaf: its node
    leaf_start: list[int] = field(default_factory=lambda: [0])  # per leaf: its slots (distinct path features)
    offset: list[int] = field(default_factory=list)  # per leaf: its table
    table_size: int = 0
    value: list[float] = field(default_factory=list)  # per leaf: its value
    share: list[float] = field(default_factory=list)  # per slot: z, the share of rows that go the leaf's way
    target: list[int] = field(default_factory=list)  # per slot: output * (features + 1) + feature
    base: dict[int, float] = field(default_factory=dict)

    def add_tree(self, root: dict[str, Any], output: int, width: int) -> None:
        self.root.append(self._add(root, output, width, {}))
        self.split_start.append(len(self.node))
        self.leaf_end.append(len(self.leaf_node))

    def _add(self, node: dict[str, Any], output: int, width: int, path: dict[int, tuple[int, float]]) -> int:
        """Add ``node`` and what is under it; ``path`` maps each feature split above to (its bit, its share)."""
        index, self.nodes = self.nodes, self.nodes + 1
        if "split_feature" not in node:
            self._leaf(index, float(node["leaf_value"]) * self.scale, output, width, path)
            return index
        if node.get("decision_type") != "<=":
            raise ValueError(f"split of type {node.get('decision_type')}")
        feature = int(node["split_feature"])
        position = path[feature][0] if feature in path else len(path)
        split = len(self.node)
        self.node.append(index)
        self.feature.append(feature)
        self.threshold.append(float(node["threshold"]))
        self.missing.append(MISSING[node.get("missing_type", "None")])
        self.default_left.append(bool(node.get("default_left", True)))
        self.bit.append(1 << position)
        self.left.append(-1)
        self.right.append(-1)
        total = float(node["internal_count"])
        for child, side in ((node["left_child"], self.left), (node["right_child"], self.right)):
            share = path.get(feature, (position, 1.0))[1] * _count(child) / total
            side[split] = self._add(child, output, width, {**path, feature: (position, share)})
        return index

    def _leaf(self, index: int, value: float, output: int, width: int, path: dict[int, tuple[int, float]]) -> None:
        features = sorted(path, key=lambda f: path[f][0])
        shares = [path[f][1] for f in features]
        self.base[output] = self.base.get(output, 0.0) + value * math.prod(shares)
        self.leaf_node.append(index)
        self.offset.append(self.table_size)
        self.table_size += 1 << len(features)
        if self.table_size > MAX_TABLE:
            raise OverflowError
        self.value.append(value)
        self.share += shares
        self.target += [output * width + f for f in features]
        self.leaf_start.append(len(self.target))


def _count(node: dict[str, Any]) -> float:
    count = float(node.get("internal_count", node.get("leaf_count", 0)))
    if count <= 0:
        raise ValueError("a node no training row reached")
    return count


@numba.njit(cache=True)
def _tables(value: np.ndarray, share: np.ndarray, leaf_start: np.ndarray, size: int) -> np.ndarray:
    """Every leaf's table one after another: ``H[Q]`` times the leaf's value for every subset ``Q``
    of its features (bit b for its slot b)."""
    out = np.empty(size)
    at = 0
    for leaf in range(len(value)):
        first, d = leaf_start[leaf], leaf_start[leaf + 1] - leaf_start[leaf]
        polynomial = np.zeros((1 << d, d + 1))  # coefficients of prod_{j in Q} (z_j + t), per Q
        polynomial[0, 0] = 1.0
        others = np.ones(1 << d)  # prod_{j not in Q} z_j, per Q
        for j in range(d):
            z, half = share[first + j], 1 << j
            for q in range(half):  # Q with j: Q without j times (z_j + t)
                polynomial[half + q, 0] = polynomial[q, 0] * z
                for k in range(1, d + 1):
                    polynomial[half + q, k] = polynomial[q, k] * z + polynomial[q, k - 1]
                others[half + q] = others[q]
                others[q] *= z
        weights = np.empty(d)  # k! (d-k-1)! / d! = 1 / (d * C(d-1, k))
        choose = 1.0
        for k in range(d):
            weights[k] = 1.0 / (d * choose)
            choose = choose * (d - 1 - k) / (k + 1)
        for q in range(1 << d):
            weighed = 0.0
            for k in range(d):
                weighed += polynomial[q, k] * weights[k]
            out[at + q] = value[leaf] * others[q] * weighed
        at += 1 << d
    return out


class TreeShap:
    """A LightGBM booster's exact TreeSHAP contributions, as ``predict(pred_contrib=True)`` gives them."""

    def __init__(self, trees: _Trees, outputs: int, features: int) -> None:
        self.width = features + 1
        self.base = np.array([trees.base.get(k, 0.0) for k in range(outputs)])
        ints = [np.array(v, dtype=np.int64) for v in (
            trees.root, trees.split_start, trees.leaf_end, trees.node, trees.feature, trees.left, trees.right,
            trees.bit, trees.leaf_node, trees.leaf_start, trees.offset, trees.target,
        )]  # fmt: skip
        root, split_start, leaf_end, node, feature, left, right, bit, leaf_node, leaf_start, offset, target = ints
        share = np.array(trees.share)
        table = _tables(np.array(trees.value), share, leaf_start, trees.table_size)
        self.arrays: tuple[Any, ...] = (
            np.int64(trees.nodes), root, split_start, leaf_end, node, feature, np.array(trees.threshold),
            np.array(trees.missing, dtype=np.int8), np.array(trees.default_left, dtype=np.bool_), left, right, bit,
            leaf_node, leaf_start, offset, table, target, (1.0 - share) / share,
        )  # fmt: skip
        self.trees = len(trees.leaf_end) - 1

    @classmethod
    def of(cls, booster: lgb.Booster) -> TreeShap | None:
        """The tables for ``booster``; None where they would be too large or the model is not a plain sum of trees."""
        dump = booster.dump_model()
        if dump.get("linear_tree"):
            return None
        outputs = int(dump["num_tree_per_iteration"])
        roots = ((info["tree_structure"], i % outputs) for i, info in enumerate(dump["tree_info"]))
        return cls.of_trees(roots, outputs, int(dump["max_feature_idx"]) + 1, leaf_scale(dump))

    @classmethod
    def of_trees(
        cls, roots: Iterable[tuple[dict[str, Any], int]], outputs: int, features: int, scale: float = 1.0
    ) -> TreeShap | None:
        """The tables for a sum of trees in the layout of LightGBM's ``dump_model`` (each root with the
        output it adds to, each leaf value counting ``scale`` times); None where they would be too
        large or a node has no training rows."""
        trees, width = _Trees(scale=scale), features + 1
        try:
            for root, output in roots:
                trees.add_tree(root, output, width)
        except (ValueError, OverflowError):
            return None
        return cls(trees, outputs, features)

    def contributions(self, X: np.ndarray, threads: int = 1) -> np.ndarray:
        """Per row, each output's feature contributions then its base value: rows x (outputs * (features + 1)),
        worked out on ``threads`` threads."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.zeros((len(X), len(self.base) * self.width))
        if len(X) == 1 and threads > 1:  # one row: the trees shared out, each part added up apart
            cuts = np.linspace(0, self.trees, threads + 1).astype(int)
            parts = [(X, a, b, np.zeros_like(out)) for a, b in itertools.pairwise(cuts)]
            self._run(parts)
            out = sum((part[3] for part in parts), out)
        else:  # many rows: the rows shared out
            cuts = np.linspace(0, len(X), min(threads, len(X)) + 1).astype(int)
            self._run([(X[a:b], 0, self.trees, out[a:b]) for a, b in itertools.pairwise(cuts) if b > a])
        out[:, self.width - 1 :: self.width] = self.base
        return out

    def _run(self, parts: list[tuple[np.ndarray, int, int, np.ndarray]]) -> None:
        if len(parts) == 1:
            _add_shares(*parts[0], *self.arrays)
        else:
            list(_pool(len(parts)).map(lambda part: _add_shares(*part, *self.arrays), parts))


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="lathe-treeshap")


@numba.njit(cache=True, nogil=True)
def _add_shares(
    X: np.ndarray, first: int, last: int, out: np.ndarray, nodes: int, root: np.ndarray, split_start: np.ndarray,
    leaf_end: np.ndarray, node: np.ndarray, feature: np.ndarray, threshold: np.ndarray, missing: np.ndarray,
    default_left: np.ndarray, left: np.ndarray, right: np.ndarray, bit: np.ndarray, leaf_node: np.ndarray,
    leaf_start: np.ndarray, offset: np.ndarray, table: np.ndarray, target: np.ndarray, gain: np.ndarray,
) -> None:  # fmt: skip
    """Add the shares of trees ``first`` to ``last`` for each row of ``X`` to ``out``: first the
    splits, which clear their feature from the pattern of the side the row does not take, then
    the leaves, which look their shares up by their pattern; without branches where the row goes
    either way as often."""
    pattern = np.empty(nodes, dtype=np.int64)  # per node: the features the row follows it at, as bits
    for row in range(X.shape[0]):
        x_row, out_row = X[row], out[row]
        for tree in range(first, last):
            pattern[root[tree]] = -1
            for split in range(split_start[tree], split_start[tree + 1]):  # LightGBM's NumericalDecision
                x = x_row[feature[split]]
                if np.isnan(x) and missing[split] != 1:
                    x = 0.0
                if (missing[split] == 1 and np.isnan(x)) or (missing[split] == 2 and abs(x) <= LIGHTGBM_ZERO):
                    went_left = np.int64(default_left[split])
                else:
                    went_left = np.int64(x <= threshold[split])
                pattern[left[split]] = pattern[node[split]] & ~(bit[split] * (1 - went_left))
                pattern[right[split]] = pattern[node[split]] & ~(bit[split] * went_left)
            for leaf in range(leaf_end[tree], leaf_end[tree + 1]):
                first_slot, end = leaf_start[leaf], leaf_start[leaf + 1]
                followed = pattern[leaf_node[leaf]] & ((1 << (end - first_slot)) - 1)
                for slot in range(first_slot, end):
                    taken = (followed >> (slot - first_slot)) & 1
                    share = table[offset[leaf] + followed - (taken << (slot - first_slot))]
                    out_row[target[slot]] += share * (taken * gain[slot] + (taken - 1))
