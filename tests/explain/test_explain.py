"""Explanations: exact, additive, in raw columns, and equal to shap's own TreeSHAP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shap

import lathe
from lathe.backends import read_frame
from lathe.bundle import Bundle
from lathe.explain import Explainer, partial_dependence, permutation_importance, reason_codes
from lathe.features import FeaturePlan, plan_features
from lathe.profile import Task, profile_table
from lathe.search import FAMILIES, Leaderboard, Model
from lathe.testing import mixed_table, small_bundle

CLASSES = {"binary": ["no", "yes"], "multiclass": ["a", "b", "c"], "regression": []}


def _fitted(task: str, family: str) -> tuple[pd.DataFrame, FeaturePlan, Model]:
    table = mixed_table(300, task)
    plan = plan_features(profile_table(read_frame(table)), table, exclude=("target",))
    X = plan.transform(table)
    y = table["target"].to_numpy()
    if task != "regression":
        y = np.searchsorted(CLASSES[task], y)
    learner = FAMILIES[family]
    params = learner.portfolio[0] | {"rounds": 40}
    model = learner.fit(X, y, Task(task), params, n_classes=len(CLASSES[task])).model
    return table, plan, model


def _bundle(task: str, family: str) -> tuple[pd.DataFrame, Bundle]:
    table, plan, model = _fitted(task, family)
    manifest = {"task": task, "target": "target", "classes": CLASSES[task], "ids": ["customer_id"]}
    return table, Bundle(manifest, plan, model, Leaderboard("m", True, ()))


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("task", sorted(CLASSES))
def test_base_plus_contributions_is_the_raw_output(task: str, family: str) -> None:
    table, plan, model = _fitted(task, family)
    explanation = Explainer(plan, model).explain(table)
    np.testing.assert_allclose(explanation.margin, model.margin(plan.transform(table)), rtol=0, atol=1e-6)
    assert explanation.columns == ("amount", "plan", "active", "signup", "note")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("task", sorted(CLASSES))
def test_explained_frame_adds_up_to_the_prediction(task: str, family: str) -> None:
    table, bundle = _bundle(task, family)
    _adds_up(bundle, table, task)


@pytest.mark.parametrize("task", sorted(CLASSES))
def test_a_blend_is_explained_exactly(task: str) -> None:
    _adds_up(small_bundle(task, "blend"), mixed_table(300, task), task)


def _adds_up(bundle: Bundle, table: pd.DataFrame, task: str) -> None:
    explained = bundle.explain(table, top=2)
    total = explained["base_value"] + explained.filter(like="contribution_").sum(axis=1)
    if task == "regression":
        target = explained["prediction"]
    else:
        chosen = [f"probability_{label}" for label in explained["explained"]]
        target = pd.Series([explained.at[i, c] for i, c in enumerate(chosen)])
    np.testing.assert_allclose(total, target, atol=1e-9)
    pd.testing.assert_frame_equal(explained[bundle.predict(table).columns], bundle.predict(table))
    assert [c for c in explained.columns if c.startswith("contribution_")] == [
        f"contribution_{c}" for c in ("amount", "plan", "active", "signup", "note")
    ]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_tree_contributions_equal_shaps_own_treeshap(task: str) -> None:
    """shap's own TreeSHAP (its C++ code over its own parse of the trees), not a call back
    into LightGBM. It reads a multiclass model as one sum over all trees, so there the
    check is on the per-class contributions summed over classes (TreeSHAP is linear in trees)."""
    table, plan, model = _fitted(task, "lightgbm")
    X = plan.transform(table)
    explainer = shap.TreeExplainer(model.booster)  # type: ignore[attr-defined]
    explainer.model.model_type = "internal"
    reference = np.asarray(explainer.shap_values(X))
    ours = model.contributions(X).sum(axis=1)
    np.testing.assert_allclose(ours[:, :-1], reference, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours[0, -1], np.ravel(explainer.expected_value)[0], rtol=0, atol=1e-6)


def test_reason_codes_name_the_strongest_pushes_with_their_values() -> None:
    frame = pd.DataFrame({"calls": [7.0, np.nan], "plan": ["pro", "basic"]})
    effects = np.array([[0.18, -0.02], [0.0, -0.3]])
    reasons = reason_codes(effects, ["calls", "plan"], frame, ["the churn probability"] * 2, top=2)
    assert reasons[0] == (
        "calls = 7 raised the churn probability by 0.18; plan = pro lowered the churn probability by 0.02"
    )
    assert reasons[1] == "plan = basic lowered the churn probability by 0.3"


def test_permutation_importance_finds_the_column_that_matters() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=500), "noise": rng.normal(size=500)})
    truth = frame["signal"].to_numpy()
    drops = permutation_importance(lambda f: -float(np.mean((f["signal"] - truth) ** 2)), frame, ["noise", "signal"])
    assert [d["column"] for d in drops] == ["signal", "noise"]
    assert drops[1]["drop"] == 0.0


def test_partial_dependence_follows_a_linear_model() -> None:
    frame = pd.DataFrame({"x": np.linspace(0, 10, 101), "z": 1.0})
    curve = partial_dependence(lambda f: (2 * f["x"].astype(float) + 1).to_numpy()[:, None], frame, "x", ["y"])
    assert curve["numeric"]
    np.testing.assert_allclose(curve["series"][0]["values"], 2 * np.array(curve["grid"]) + 1)


def test_predict_explain_and_explain_row_on_the_command_line(tmp_path: Path, csv_file: Path) -> None:
    from lathe.cli import main

    assert main(["train", str(csv_file), "--target", "target", "--trials", "2", "--out", str(tmp_path / "m")]) == 0
    assert main(["predict", str(tmp_path / "m"), str(csv_file), "--out", str(tmp_path / "x.csv"), "--explain"]) == 0
    scored = pd.read_csv(tmp_path / "x.csv")
    assert {"base_value", "contribution_amount", "reasons"} <= set(scored.columns)
    assert scored["reasons"].str.count(";").max() == 2
    assert main(["explain", str(tmp_path / "m"), str(csv_file), "--row", "3"]) == 0
    assert main(["explain", str(tmp_path / "m"), str(csv_file), "--row", "4000"]) == 2


def test_the_report_shows_global_explanations(tmp_path: Path, parquet_file: Path) -> None:
    bundle = lathe.train(parquet_file, target="target", budget=None, trials=2, verbose=False)
    explanations = bundle.manifest["explanations"]
    assert {d["column"] for d in explanations["importance"]} == {"amount", "plan", "active", "signup", "note"}
    assert sum(d["importance"] for d in explanations["importance"]) == pytest.approx(1.0)
    assert len(explanations["partial_dependence"]) == 4
    for chart in ("importance", "permutation", "dependence"):
        assert f'data-chart="{chart}"' in bundle.report_html
