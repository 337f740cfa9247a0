"""The bundle's whole scoring path as plain data, the one description every export format reads.

A ``Pipeline`` holds the raw inputs and their kinds, the fitted transforms that make the features
(``FeaturePlan.steps``, with the redundant outputs dropped), the model as either an affine map
(``Affine``) or a sum of decision trees (``Trees``: LightGBM's, or XGBoost's or CatBoost's with
its base score as a tree of one leaf per margin), and the link from the model's margins to the
prediction. Formats translate this description; none reads a learner's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lathe.bundle import Bundle
from lathe.features import InputColumn, Transform, Waves, waves
from lathe.profile import Task
from lathe.search import ZERO, Affine, Tree, Trees, describe_model, linked

__all__ = ["ZERO", "Affine", "Pipeline", "Tree", "Trees", "Waves", "pipeline_of", "waves"]


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
    described = describe_model(
        model, len(plan.feature_names), 1 if task is not Task.MULTICLASS else len(bundle.classes)
    )
    return Pipeline(
        task=task, classes=tuple(bundle.classes), ids=tuple(bundle.ids), inputs=plan.inputs, steps=plan.steps,
        dropped=frozenset(name for name, _ in plan.dropped), features=tuple(plan.feature_names), model=described,
        link=link, threshold=bundle.threshold,
    )  # fmt: skip
