"""A pipeline whose prediction is one of its features, as the export computes it."""

from __future__ import annotations

import dataclasses

import numpy as np

from lathe.export._pipeline import Affine, Pipeline
from lathe.profile import Task


def feature_probe(pipeline: Pipeline, feature: str) -> Pipeline:
    """``pipeline`` with a model that predicts its ``feature`` as it is (1 times it, 0 times the
    others, no bias): scored by an engine, the feature as the engine computes it, to the last bit."""
    weights = np.zeros((1, len(pipeline.features)))
    weights[0, pipeline.features.index(feature)] = 1.0
    unit = Affine(weights, np.zeros(1))
    return dataclasses.replace(pipeline, task=Task.REGRESSION, classes=(), link="identity", model=unit)
