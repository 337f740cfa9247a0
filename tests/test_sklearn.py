"""LatheClassifier and LatheRegressor against scikit-learn's own estimator checks and tools."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import lathe
from lathe import LatheClassifier, LatheRegressor
from lathe.sklearn import expected_failed_checks
from lathe.testing import mixed_table


def _blobs(rows: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    return X, np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "up", "down")


@pytest.mark.parametrize("estimator", [LatheClassifier(trials=2), LatheRegressor(trials=2)], ids=type)
def test_passes_check_estimator(estimator: LatheClassifier | LatheRegressor) -> None:
    results = check_estimator(
        estimator, expected_failed_checks=expected_failed_checks(estimator), on_fail=None, on_skip=None
    )
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert not failed
    not_passed = {r["check_name"] for r in results if r["status"] not in ("passed", "skipped")}
    assert not_passed == set(expected_failed_checks(estimator))


def test_numpy_columns_are_named_x0_to_xn() -> None:
    X, y = _blobs()
    clf = LatheClassifier(trials=2).fit(X, y)
    assert not hasattr(clf, "feature_names_in_")
    assert clf.n_features_in_ == 3
    assert [c["name"] for c in clf.bundle_.manifest["inputs"]] == ["x0", "x1", "x2"]
    assert list(clf.classes_) == ["down", "up"]
    assert clf.score(X, y) > 0.9
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert clf.leaderboard_ is clf.bundle_.leaderboard


def test_pandas_frames_keep_their_names_and_kinds(tmp_path: Path) -> None:
    table = mixed_table(300, "multiclass")
    X, y = table.drop(columns=["target"]), table["target"]
    clf = LatheClassifier(trials=2).fit(X, y)
    assert list(clf.feature_names_in_) == list(X.columns)
    inputs = {c["name"]: c for c in clf.bundle_.manifest["inputs"]}
    assert inputs["plan"]["categories"] == ["basic", "plus", "pro"]
    assert inputs["signup"]["kind"] == "datetime"
    assert set(clf.predict(X)) <= {"a", "b", "c"}
    clf.bundle_.save(tmp_path / "model")
    scored = lathe.load(tmp_path / "model").predict(X)
    np.testing.assert_array_equal(scored[[f"probability_{c}" for c in clf.classes_]].to_numpy(), clf.predict_proba(X))


def test_regressor_on_a_frame() -> None:
    table = mixed_table(300, "regression")
    reg = LatheRegressor(trials=2, metric="mae").fit(table.drop(columns=["target"]), table["target"])
    assert reg.bundle_.manifest["metric"] == "mae"
    assert reg.score(table.drop(columns=["target"]), table["target"]) > 0.5


def test_clone_and_params_round_trip() -> None:
    clf = LatheClassifier(trials=3, seed=7, metric="accuracy")
    assert clone(clf).get_params() == clf.get_params()
    assert clf.set_params(trials=1).trials == 1
    X, y = _blobs()
    assert not hasattr(clone(clf.fit(X, y)), "bundle_")


def test_cross_validation_and_pipelines() -> None:
    X, y = _blobs()
    scores = cross_val_score(LatheClassifier(trials=1), X, y, cv=3)
    assert len(scores) == 3
    assert scores.min() > 0.8
    pipe = make_pipeline(StandardScaler(), LatheRegressor(trials=1)).fit(X, X[:, 0] * 2.0)
    assert pipe.score(X, X[:, 0] * 2.0) > 0.9


def test_sample_weights_change_the_model() -> None:
    X, y = _blobs(300)
    region = X[:, 0] > 1.0  # rows there are almost all "up"
    flipped = np.where(region, "down", y)  # relabel them "down" ...
    weight = np.where(region, 0.0, 1.0)  # ... and give the relabelled rows no weight
    plain = LatheClassifier(trials=2).fit(X, flipped)
    weighted = LatheClassifier(trials=2).fit(X, flipped, sample_weight=weight)
    probe = np.array([[1.5, 0.0, 0.0], [2.0, 0.5, 0.0]])
    up = list(plain.classes_).index("up")
    assert (weighted.predict_proba(probe)[:, up] > plain.predict_proba(probe)[:, up] + 0.3).all()
    assert list(weighted.predict(probe)) == ["up", "up"]


def test_errors_sklearn_expects() -> None:
    X, y = _blobs()
    with pytest.raises(ValueError, match="one class"):
        LatheClassifier(trials=1).fit(X, np.full(len(X), "up"))
    with pytest.raises(ValueError, match="Unknown label type"):
        LatheClassifier(trials=1).fit(X, X[:, 0])
    clf = LatheClassifier(trials=1).fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(pd.DataFrame(X, columns=["a", "b", "d"]))
