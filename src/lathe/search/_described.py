"""A fitted model as the sum it computes, as plain data: an affine map (``Affine``) or a sum of
decision trees (``Trees``: LightGBM's, or XGBoost's or CatBoost's with its base score as a tree of one
leaf per margin), with a linear part where a blend mixes in linear models. The exports render it
(``lathe.export``) and the bundle's compiled scorer walks it (``lathe.bundle``); none reads a
learner's objects.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lathe.errors import ExportError
from lathe.search._learners import signed_log
from lathe.search._tree_shap import LIGHTGBM_ZERO, leaf_scale

ZERO = LIGHTGBM_ZERO  # |x| at or below it counts as zero where a split reads zero as missing


@dataclass(frozen=True)
class Affine:
    """``margins = features @ weights.T + signed_log(features) @ logged.T + bias``: one row of
    ``weights`` (and of ``logged``, where some features enter as their signed log,
    sign(x) ln(1 + |x|)) per margin."""

    weights: np.ndarray  # (margins, features)
    bias: np.ndarray  # (margins,)
    logged: np.ndarray | None = None  # (margins, features)

    def margins(self, features: np.ndarray) -> np.ndarray:
        """The margins of a feature matrix (a reference for the formats)."""
        logged = 0.0 if self.logged is None else signed_log(features) @ self.logged.T
        return np.asarray(features @ self.weights.T + logged + self.bias)


@dataclass(frozen=True)
class Tree:
    """One decision tree as flat node arrays; node 0 is the root.

    At a split node, a row goes ``left`` when ``feature`` value <= ``threshold``, except that
    where ``zero_is_missing`` a value within ``ZERO`` of zero goes left exactly when
    ``default_left``. A leaf (``feature`` -1) adds ``value`` to margin ``margin``.
    """

    margin: int
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    default_left: tuple[bool, ...]
    zero_is_missing: tuple[bool, ...]
    value: tuple[float, ...]

    def goes_left(self, node: int, x: float) -> bool:
        """The split rule at ``node`` for feature value ``x`` (a reference for the formats)."""
        if self.zero_is_missing[node] and abs(x) <= ZERO:
            return self.default_left[node]
        return x <= self.threshold[node]


@dataclass(frozen=True)
class Trees:
    """A sum of trees per margin, plus a linear part where a blend holds linear models too."""

    trees: tuple[Tree, ...]
    linear: Affine | None = None


def describe_model(model: Any, features: int, margins: int) -> Affine | Trees:
    """A fitted model as the sum it computes: an ``Affine`` map, or ``Trees`` (with a linear part
    where a blend mixes in linear models)."""
    family = getattr(model, "family", type(model).__name__)
    if family == "linear":
        weights = model.coef / model.scale
        logged = np.where(model.skewed, weights, 0.0) if model.skewed.any() else None
        centre = np.array([math.fsum(row) for row in weights * model.mean])  # rounded once: the same on every load
        return Affine(np.where(model.skewed, 0.0, weights), model.intercept - centre, logged)
    if family == "lightgbm":
        return _trees(model.booster)
    if family in ("xgboost", "catboost"):
        return _walked(model)
    if family != "blend":
        raise ExportError(f"a {family} model cannot be exported yet; only linear, tree and blended models can")
    weights, bias, trees = np.zeros((margins, features)), np.full(margins, float(model.offset)), []
    logged = np.zeros((margins, features))
    for weight, member in zip(model.weights, model.members, strict=True):
        part = describe_model(member, features, margins)
        linear = part if isinstance(part, Affine) else part.linear
        if linear is not None:
            weights, bias = weights + weight * linear.weights, bias + weight * linear.bias
            logged += 0.0 if linear.logged is None else weight * linear.logged
        if isinstance(part, Trees):
            trees += [dataclasses.replace(t, value=tuple(weight * v for v in t.value)) for t in part.trees]
    linear = Affine(weights, bias, logged if logged.any() else None)
    return Trees(tuple(trees), linear) if trees else linear


def _trees(booster: Any) -> Trees:
    dump = booster.dump_model()
    per_iteration, share = int(dump["num_tree_per_iteration"]), leaf_scale(dump)
    if any(p.startswith("sigmoid:") and float(p.split(":")[1]) != 1.0 for p in str(dump["objective"]).split()):
        raise ExportError("a LightGBM model with a sigmoid slope other than 1 cannot be exported")
    trees = tuple(_tree(info["tree_structure"], i % per_iteration, share) for i, info in enumerate(dump["tree_info"]))
    return Trees(trees)


def _walked(model: Any) -> Trees:
    """XGBoost's or CatBoost's trees as lathe reads them from the library's JSON model: each split's
    float32 rule as ``x <=`` the largest double that the library sends left, and the base score (or
    bias) as a one-leaf tree per margin (see ``lathe.search.xgboost_trees`` and ``catboost_trees``)."""
    try:
        trees = model.trees
    except ValueError as exc:
        raise ExportError(f"this {model.family} model cannot be exported: {exc}") from None
    return Trees(tuple(_tree(root, margin, 1.0) for root, margin in trees))


def _tree(root: dict[str, Any], margin: int, share: float) -> Tree:
    nodes: list[dict[str, Any]] = []
    children: list[list[int]] = []

    def visit(node: dict[str, Any]) -> int:
        index = len(nodes)
        nodes.append(node)
        children.append([-1, -1])
        if "split_feature" in node:
            if node.get("decision_type") != "<=":
                raise ExportError(f"a LightGBM split of type {node.get('decision_type')!r} cannot be exported")
            children[index] = [visit(node["left_child"]), visit(node["right_child"])]
        return index

    visit(root)
    split = ["split_feature" in n for n in nodes]
    return Tree(
        margin=margin,
        feature=tuple(int(n["split_feature"]) if s else -1 for n, s in zip(nodes, split, strict=True)),
        threshold=tuple(float(n["threshold"]) if s else 0.0 for n, s in zip(nodes, split, strict=True)),
        left=tuple(c[0] for c in children),
        right=tuple(c[1] for c in children),
        default_left=tuple(bool(n.get("default_left", True)) for n in nodes),
        zero_is_missing=tuple(n.get("missing_type") == "Zero" for n in nodes),
        value=tuple(0.0 if s else float(n["leaf_value"]) * share for n, s in zip(nodes, split, strict=True)),
    )
