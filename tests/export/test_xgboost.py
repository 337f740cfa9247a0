"""An XGBoost bundle's exports make XGBoost's own decisions at every split: a value exactly at
each threshold, and one step of a double around it, scored by onnxruntime, JPMML and the SQL
engines as by XGBoost itself (its leaves, ``pred_leaf``, added up in double precision)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from lathe.bundle import Bundle
from lathe.errors import ExportError
from lathe.export import _onnx, _sql, pipeline_of
from lathe.export._pipeline import Pipeline, Trees
from lathe.export._verify import check_rows, compare
from lathe.profile import Task
from lathe.search import split_below
from lathe.search._xgboost import XGBoostModel
from lathe.testing import mixed_table, small_bundle
from tests.export._engines import ENGINES, engine_predictions

FEATURE = "amount"  # a number, imputed: the feature is the raw value wherever it is given


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return small_bundle("regression", "xgboost", table=mixed_table(300, "regression").drop(columns=["note"]))


def _booster(bundle: Bundle) -> xgb.Booster:
    booster: xgb.Booster = getattr(bundle.model, "booster")  # noqa: B009
    return booster


def _splits(bundle: Bundle, feature: int) -> list[float]:
    """XGBoost's float32 split values on ``feature``, from its JSON model."""
    trees = json.loads(_booster(bundle).save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    return sorted({
        float(np.float32(split)) for tree in trees
        for split, f, left in zip(tree["split_conditions"], tree["split_indices"], tree["left_children"], strict=True)
        if left != -1 and f == feature
    })  # fmt: skip


def _edge_rows(bundle: Bundle, pipeline: Pipeline) -> pd.DataFrame:
    """One sample row again and again, ``FEATURE`` set at, and a double either side of, each
    split's threshold and its float32 split value."""
    j = pipeline.features.index(FEATURE)
    values = []
    for split in _splits(bundle, j):
        for at in (float(split_below(split)), split):
            values += [at, float(np.nextafter(at, -np.inf)), float(np.nextafter(at, np.inf))]
    assert bundle.sample is not None
    rows = pd.concat([bundle.sample.head(1)] * len(values), ignore_index=True)
    rows[FEATURE] = values
    return rows


def _xgboosts_own(bundle: Bundle, features: np.ndarray) -> np.ndarray:
    """XGBoost's prediction made exact: the leaves it picks, added up in double precision."""
    booster = _booster(bundle)
    learner = json.loads(booster.save_raw("json"))["learner"]
    trees = learner["gradient_booster"]["model"]["trees"]
    leaves = booster.predict(xgb.DMatrix(features), pred_leaf=True).astype(int)
    total = np.full(len(features), float(np.float32(learner["learner_model_param"]["base_score"].strip("[]"))))
    for t, tree in enumerate(trees):
        total += np.array(tree["split_conditions"], dtype=np.float32).astype(np.float64)[leaves[:, t]]
    return total


@pytest.mark.parametrize("engine", ENGINES)
def test_values_at_and_around_each_threshold_score_as_in_xgboost(
    bundle: Bundle, engine: str, request: pytest.FixtureRequest
) -> None:
    pipeline = pipeline_of(bundle)
    rows = _edge_rows(bundle, pipeline)
    features = bundle.plan.transform(rows)
    np.testing.assert_array_equal(features[:, pipeline.features.index(FEATURE)], rows[FEATURE].to_numpy())
    expected = _xgboosts_own(bundle, features)
    native = np.asarray(_booster(bundle).predict(xgb.DMatrix(features)), dtype=np.float64)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(native, expected, rtol=0, atol=1e-6 * scale)  # XGBoost adds up in float32
    np.testing.assert_allclose(bundle.model.predict(features), expected, rtol=1e-12)
    np.testing.assert_allclose(engine_predictions(engine, rows, pipeline, request), expected, rtol=1e-12)
    assert len(np.unique(expected)) > 1  # the values do fall either side of the splits


def test_no_feature_is_missing_where_a_split_would_send_it_its_default_way(bundle: Bundle) -> None:
    pipeline = pipeline_of(bundle)
    assert bundle.sample is not None
    rows = check_rows(pipeline, bundle.sample)  # each input missing in turn, unseen levels
    assert not np.isnan(bundle.plan.transform(rows)).any()


def test_the_base_score_is_a_tree_of_one_leaf(bundle: Bundle) -> None:
    model = pipeline_of(bundle).model
    assert isinstance(model, Trees)
    base = json.loads(_booster(bundle).save_raw("json"))["learner"]["learner_model_param"]["base_score"]
    assert model.trees[-1].feature == (-1,)
    assert model.trees[-1].value == (float(np.float32(base.strip("[]"))),)
    assert len(model.trees) == _booster(bundle).num_boosted_rounds() + 1


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_classifiers_are_exported_with_their_base_margins(task: str) -> None:
    """Binary: the base score is a probability, its log-odds the margin; multiclass: one per class."""
    bundle = small_bundle(task, "xgboost", table=mixed_table(300, task).drop(columns=["note"]))
    pipeline = pipeline_of(bundle)
    assert bundle.sample is not None
    rows = check_rows(pipeline, bundle.sample)
    checks: list[dict[str, Any]] = [
        compare(bundle, rows, _onnx.score(_onnx.build(pipeline), rows, pipeline), "onnxruntime"),
        compare(bundle, rows, _sql.score(_sql.build(pipeline, "duckdb"), rows, pipeline, "duckdb"), "duckdb"),
    ]
    assert all(check["max_abs_difference"] <= 1e-12 for check in checks)


def test_a_model_lathe_does_not_fit_is_refused_by_name(bundle: Bundle) -> None:
    """A dart booster weighs its trees: its JSON trees alone are not the model."""
    features = bundle.plan.transform(bundle.sample)
    target = bundle.model.predict(features)
    dart = xgb.train({"booster": "dart", "nthread": 1}, xgb.DMatrix(features, target), num_boost_round=3)
    foreign = dataclasses.replace(bundle, model=XGBoostModel(Task.REGRESSION, dart))
    with pytest.raises(ExportError, match=r"cannot be exported: lathe reads XGBoost gbtree models .* not a dart model"):
        pipeline_of(foreign)
