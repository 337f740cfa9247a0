"""The bundle's whole scoring path as plain data, the one description every export format reads.

A ``Pipeline`` holds the raw inputs and their kinds, the fitted transforms that make the features
(``FeaturePlan.steps``, with the redundant outputs dropped), the model as either an affine map
(``Affine``) or a sum of decision trees (``Trees``: LightGBM's, or XGBoost's with its base score
as a tree of one leaf per margin), and the link from the model's margins to the prediction.
Formats translate this description; none reads a learner's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lathe.bundle import Bundle
from lathe.errors import ExportError
from lathe.features import CYCLES, DateParts, InputColumn, Transform
from lathe.profile import Task
from lathe.search import LIGHTGBM_ZERO, xgboost_trees

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
    """``margins = features @ weights.T + bias``: one row of ``weights`` per margin."""

    weights: np.ndarray  # (margins, features)
    bias: np.ndarray  # (margins,)


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
    """A sum of trees per margin."""

    trees: tuple[Tree, ...]


@dataclass(frozen=True)
class Pipeline:
    """Everything an export needs, from raw inputs to prediction.

    ``features`` are the model's feature names in matrix order: the outputs of ``steps`` in
    order, less ``dropped``. ``link`` is "identity" (regression: the prediction is margin 0),
    "sigmoid" (binary: probability of ``classes[1]`` is 1/(1+exp(-scale*margin 0)), of
    ``classes[0]`` its complement) or "softmax" (multiclass, one margin per class).
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
    scale: float = 1.0  # sigmoid's slope (LightGBM's sigmoid parameter)

    @property
    def margins(self) -> int:
        """How many margins the model yields (one but for multiclass)."""
        return len(self.classes) if self.task is Task.MULTICLASS else 1

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Reference scoring of a feature matrix from this description alone (used in tests):
        class probabilities (n x k) or numbers (n,)."""
        margins = np.zeros((len(features), self.margins))
        if isinstance(self.model, Affine):
            margins += features @ self.model.weights.T + self.model.bias
        else:
            for tree in self.model.trees:
                for r, row in enumerate(features):
                    node = 0
                    while tree.feature[node] >= 0:
                        go_left = tree.goes_left(node, row[tree.feature[node]])
                        node = tree.left[node] if go_left else tree.right[node]
                    margins[r, tree.margin] += tree.value[node]
        if self.link == "identity":
            return margins[:, 0]
        if self.link == "sigmoid":
            p = 1.0 / (1.0 + np.exp(-self.scale * margins[:, 0]))
            return np.column_stack([1.0 - p, p])
        e = np.exp(margins - margins.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def pipeline_of(bundle: Bundle) -> Pipeline:
    """The ``Pipeline`` of a loaded bundle."""
    plan, model, task = bundle.plan, bundle.model, bundle.task
    link = {Task.REGRESSION: "identity", Task.BINARY: "sigmoid", Task.MULTICLASS: "softmax"}[task]
    family = getattr(model, "family", type(model).__name__)
    scale = 1.0
    if family == "linear":
        m: Any = model
        weights = m.coef / m.scale
        described: Affine | Trees = Affine(weights, m.intercept - weights @ m.mean)
    elif family == "lightgbm":
        described, scale = _trees(getattr(model, "booster"))  # noqa: B009
    elif family == "xgboost":
        described = _xgboost(getattr(model, "booster"))  # noqa: B009
    else:
        raise ExportError(f"a {family} model cannot be exported yet; only linear, lightgbm and xgboost models can")
    return Pipeline(
        task=task, classes=tuple(bundle.classes), ids=tuple(bundle.ids), inputs=plan.inputs, steps=plan.steps,
        dropped=frozenset(name for name, _ in plan.dropped), features=tuple(plan.feature_names), model=described,
        link=link, scale=scale,
    )  # fmt: skip


def _trees(booster: Any) -> tuple[Trees, float]:
    dump = booster.dump_model()
    if dump.get("average_output"):
        raise ExportError("a LightGBM random-forest model (averaged trees) cannot be exported yet")
    per_iteration = int(dump["num_tree_per_iteration"])
    objective = str(dump["objective"]).split()
    scale = next((float(p.split(":")[1]) for p in objective if p.startswith("sigmoid:")), 1.0)
    trees = tuple(_tree(info["tree_structure"], i % per_iteration) for i, info in enumerate(dump["tree_info"]))
    return Trees(trees), scale


def _xgboost(booster: Any) -> Trees:
    """XGBoost's trees, read from its JSON model: each split's ``float32(x) < split`` as ``x <=``
    the largest double that XGBoost sends left, and the base score as a one-leaf tree per margin
    (see ``lathe.search.xgboost_trees``)."""
    try:
        trees = xgboost_trees(booster)
    except ValueError as exc:
        raise ExportError(f"this XGBoost model cannot be exported: {exc}") from None
    return Trees(tuple(_tree(root, margin) for root, margin in trees))


def _tree(root: dict[str, Any], margin: int) -> Tree:
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
        value=tuple(0.0 if s else float(n["leaf_value"]) for n, s in zip(nodes, split, strict=True)),
    )
