"""The bundle's whole scoring path as plain data, the one description every export format reads.

A ``Pipeline`` holds the raw inputs and their kinds, the fitted transforms that make the features
(``FeaturePlan.steps``, with the redundant outputs dropped), the model as either an affine map
(``Affine``) or a sum of decision trees (``Trees``: LightGBM's, or XGBoost's or CatBoost's with
its base score as a tree of one leaf per margin), and the link from the model's margins to the
prediction. Formats translate this description; none reads a learner's objects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from lathe.bundle import Bundle
from lathe.errors import ExportError
from lathe.features import CYCLES, DateParts, InputColumn, Transform
from lathe.profile import Task
from lathe.search import LIGHTGBM_ZERO, leaf_scale, linked, signed_log

ZERO = LIGHTGBM_ZERO  # |x| at or below it counts as zero where a split reads zero as missing
LOWEST = {"month": 1, "day": 1}  # a cyclic part's smallest value (0 for the others)


@dataclass(frozen=True)
class Waves:
    """The sine and cosine of a cyclic date part, as lathe computes them, for each of its values
    (``lowest``, ``lowest + 1``, ...) and for its fill (a missing timestamp).

    Formats look them up rather than compute them: an engine's sine may differ from NumPy's in the
    last bit, and a tree may split exactly between two such values.
    """

    lowest: int
    sin: tuple[float, ...]
    cos: tuple[float, ...]
    fill_sin: float
    fill_cos: float


def waves(step: DateParts, part: str) -> Waves:
    """The ``Waves`` of cyclic ``part`` of ``step``, computed as ``DateParts.apply`` does."""
    lowest, cycle = LOWEST.get(part, 0), CYCLES[part]
    values = np.append(np.arange(lowest, lowest + cycle, dtype=np.float64), step.fills[step.parts.index(part)])
    angles = 2 * np.pi * values / cycle
    sin, cos = np.sin(angles).tolist(), np.cos(angles).tolist()
    return Waves(lowest, tuple(sin[:-1]), tuple(cos[:-1]), sin[-1], cos[-1])


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


@dataclass(frozen=True)
class Pipeline:
    """Everything an export needs, from raw inputs to prediction.

    ``features`` are the model's feature names in matrix order: the outputs of ``steps`` in
    order, less ``dropped``. ``link`` is "identity" (regression: the prediction is margin 0),
    "sigmoid" (binary: probability of ``classes[1]`` is 1/(1+exp(-margin 0)), of
    ``classes[0]`` its complement) or "softmax" (multiclass, one margin per class). The
    predicted class is the most probable (the earlier on a tie), or for binary with a
    ``threshold``, ``classes[1]`` where its probability reaches the threshold.
    """

    task: Task
    classes: tuple[Any, ...]
    ids: tuple[str, ...]
    inputs: tuple[InputColumn, ...]
    steps: tuple[Transform, ...]
    dropped: frozenset[str]
    features: tuple[str, ...]
    model: Affine | Trees
    link: str
    threshold: float | None = None

    @property
    def margins(self) -> int:
        """How many margins the model yields (one but for multiclass)."""
        return len(self.classes) if self.task is Task.MULTICLASS else 1

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Reference scoring of a feature matrix from this description alone (used in tests):
        class probabilities (n x k) or numbers (n,)."""
        margins = np.zeros((len(features), self.margins))
        linear = self.model if isinstance(self.model, Affine) else self.model.linear
        if linear is not None:
            margins += linear.margins(features)
        if isinstance(self.model, Trees):
            for tree in self.model.trees:
                for r, row in enumerate(features):
                    node = 0
                    while tree.feature[node] >= 0:
                        go_left = tree.goes_left(node, row[tree.feature[node]])
                        node = tree.left[node] if go_left else tree.right[node]
                    margins[r, tree.margin] += tree.value[node]
        return linked(self.task, margins)


def pipeline_of(bundle: Bundle) -> Pipeline:
    """The ``Pipeline`` of a loaded bundle."""
    plan, model, task = bundle.plan, bundle.model, bundle.task
    link = {Task.REGRESSION: "identity", Task.BINARY: "sigmoid", Task.MULTICLASS: "softmax"}[task]
    described = _described(model, len(plan.feature_names), 1 if task is not Task.MULTICLASS else len(bundle.classes))
    return Pipeline(
        task=task, classes=tuple(bundle.classes), ids=tuple(bundle.ids), inputs=plan.inputs, steps=plan.steps,
        dropped=frozenset(name for name, _ in plan.dropped), features=tuple(plan.feature_names), model=described,
        link=link, threshold=bundle.threshold,
    )  # fmt: skip


def _described(model: Any, features: int, margins: int) -> Affine | Trees:
    """A fitted model as the sum it computes: an ``Affine`` map, or ``Trees`` (with a linear part
    where a blend mixes in linear models)."""
    family = getattr(model, "family", type(model).__name__)
    if family == "linear":
        weights = model.coef / model.scale
        logged = np.where(model.skewed, weights, 0.0) if model.skewed.any() else None
        return Affine(np.where(model.skewed, 0.0, weights), model.intercept - weights @ model.mean, logged)
    if family == "lightgbm":
        return _trees(model.booster)
    if family in ("xgboost", "catboost"):
        return _walked(model)
    if family != "blend":
        raise ExportError(f"a {family} model cannot be exported yet; only linear, tree and blended models can")
    weights, bias, trees = np.zeros((margins, features)), np.full(margins, float(model.offset)), []
    logged = np.zeros((margins, features))
    for weight, member in zip(model.weights, model.members, strict=True):
        part = _described(member, features, margins)
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
