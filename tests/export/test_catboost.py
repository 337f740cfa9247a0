"""A CatBoost bundle's exports make CatBoost's own decisions at every split: a value exactly at
each border, and one step of a float32 and of a double around it, scored by onnxruntime, JPMML and
the SQL engines as by CatBoost itself."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import catboost
import numpy as np
import pandas as pd
import pytest

from lathe.bundle import Bundle
from lathe.errors import ExportError
from lathe.export import pipeline_of
from lathe.export._pipeline import Pipeline, Trees
from lathe.profile import Task
from lathe.search._catboost import CatBoostModel
from lathe.testing import mixed_table, small_bundle
from tests.export._engines import ENGINES, engine_predictions

FEATURE = "amount"  # a number, imputed: the feature is the raw value wherever it is given


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return small_bundle("regression", "catboost", table=mixed_table(300, "regression").drop(columns=["note"]))


def _model(bundle: Bundle) -> CatBoostModel:
    assert isinstance(bundle.model, CatBoostModel)
    return bundle.model


def _native(bundle: Bundle, folder: Path) -> catboost.CatBoost:
    """CatBoost's own model, read from the file the bundle keeps."""
    model = _model(bundle)
    return catboost.CatBoost().load_model(str(folder / model.save(folder)), format="json")


def _edge_rows(bundle: Bundle, pipeline: Pipeline) -> pd.DataFrame:
    """One sample row again and again, ``FEATURE`` at, a float32 either side of, and a double
    either side of the midpoints to the float32 around each border."""
    j = pipeline.features.index(FEATURE)
    borders = sorted({np.float32(s["border"]) for t in _model(bundle).document["oblivious_trees"]
                      for s in t["splits"] if s["float_feature_index"] == j})  # fmt: skip
    values: list[float] = []
    for border in borders:
        up, down = np.nextafter(border, np.float32(np.inf)), np.nextafter(border, np.float32(-np.inf))
        for middle in ((float(border) + float(up)) / 2, (float(border) + float(down)) / 2):
            values += [middle, float(np.nextafter(middle, -np.inf)), float(np.nextafter(middle, np.inf))]
        values += [float(border), float(up), float(down)]
    assert bundle.sample is not None
    rows = pd.concat([bundle.sample.head(1)] * len(values), ignore_index=True)
    rows[FEATURE] = values
    return rows


@pytest.mark.parametrize("engine", ENGINES)
def test_values_at_and_around_each_border_score_as_in_catboost(
    bundle: Bundle, engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pipeline = pipeline_of(bundle)
    rows = _edge_rows(bundle, pipeline)
    features = bundle.plan.transform(rows)
    np.testing.assert_array_equal(features[:, pipeline.features.index(FEATURE)], rows[FEATURE].to_numpy())
    expected = np.asarray(_native(bundle, tmp_path).predict(features, prediction_type="RawFormulaVal"))
    np.testing.assert_allclose(bundle.model.predict(features), expected, rtol=1e-12)
    np.testing.assert_allclose(engine_predictions(engine, rows, pipeline, request), expected, rtol=1e-12)
    assert len(np.unique(expected)) > 1  # the values do fall either side of the borders


def test_the_bias_is_a_tree_of_one_leaf_and_each_oblivious_tree_a_tree(bundle: Bundle) -> None:
    model = pipeline_of(bundle).model
    assert isinstance(model, Trees)
    document = _model(bundle).document
    _, bias = document["scale_and_bias"]
    assert model.trees[-1].feature == (-1,)
    assert model.trees[-1].value == (float(np.atleast_1d(bias)[0]),)
    assert len(model.trees) == len(document["oblivious_trees"]) + 1
    depth = len(document["oblivious_trees"][0]["splits"])
    assert len(model.trees[0].feature) == 2 ** (depth + 1) - 1  # every leaf of the oblivious tree kept


def test_a_model_lathe_does_not_fit_is_refused_by_name(bundle: Bundle) -> None:
    """A model with categorical features splits on more than numbers."""
    document = dict(_model(bundle).document)
    document["features_info"] = {**document["features_info"], "categorical_features": [{"feature_index": 0}]}
    foreign = dataclasses.replace(bundle, model=CatBoostModel(Task.REGRESSION, document))
    with pytest.raises(ExportError, match=r"cannot be exported: lathe reads CatBoost models of numeric features"):
        pipeline_of(foreign)
