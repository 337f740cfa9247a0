"""The ONNX export: built with onnx.helper, scored by onnxruntime, checked against the bundle."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import pytest

from lathe.bundle import Bundle
from lathe.errors import ExportError
from lathe.export._onnx import NAT, WHITESPACE, build, feed, score
from lathe.export._pipeline import Affine, Pipeline, Tree, Trees, pipeline_of
from lathe.export._verify import check_rows, compare
from lathe.features import TextStats
from lathe.profile import Task
from lathe.testing import mixed_table, reviews_table, shops_table, small_bundle

TASKS = ("binary", "multiclass", "regression")
FAMILIES = ("linear", "lightgbm", "xgboost", "catboost", "random_forest", "blend")
SEPARATORS = ("\t", "\n", "\u00a0", "\u3000", "  ", " \u2003 ", " ", "\x0b\x1c")


def _without_text(task: str) -> pd.DataFrame:
    return mixed_table(300, task).drop(columns=["note"])


def _checked(bundle: Bundle, rows: pd.DataFrame | None = None) -> dict[str, object]:
    """Export ``bundle``, check the model in full, and compare its scores on the check rows."""
    pipeline = pipeline_of(bundle)
    rows = check_rows(pipeline, bundle.sample) if rows is None else rows
    artifact = build(pipeline)
    onnx.checker.check_model(onnx.load_from_string(artifact), full_check=True)
    return compare(bundle, rows, score(artifact, rows, pipeline), "onnxruntime")


def _features(pipeline: Pipeline, rows: pd.DataFrame) -> np.ndarray:
    """The feature matrix the ONNX graph computes, one feature at a time (a model that returns it)."""
    width = len(pipeline.features)
    columns = []
    for j in range(width):
        unit = Affine(np.eye(width)[j : j + 1], np.zeros(1))
        alone = dataclasses.replace(pipeline, task=Task.REGRESSION, classes=(), link="identity", model=unit)
        columns.append(score(build(alone), rows, alone)["prediction"].to_numpy())
    return np.column_stack(columns)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("task", TASKS)
def test_onnxruntime_reproduces_the_bundle(task: str, family: str) -> None:
    check = _checked(small_bundle(task, family, table=_without_text(task)))
    print(task, family, check)  # the largest difference, shown with pytest -s


@pytest.mark.parametrize("task", TASKS)
def test_a_category_of_many_levels_is_looked_up(task: str) -> None:
    bundle = small_bundle(task, "lightgbm", table=shops_table(300, task).drop(columns=["note"]))
    assert any(step.kind == "encode" for step in bundle.plan.steps)
    _checked(bundle)


def test_a_category_compared_case_folded_is_refused() -> None:
    table = shops_table(300).drop(columns=["note"])
    table.loc[10:14, "shop"] = table.loc[10:14, "shop"].str.upper()
    with pytest.raises(ExportError, match=r"encode transform of column 'shop' compares levels case-folded"):
        build(pipeline_of(small_bundle("binary", "linear", table=table)))


def test_a_model_using_text_length_is_refused() -> None:
    pipeline = pipeline_of(small_bundle("binary", "linear"))
    with pytest.raises(ExportError, match=r"text_stats step of column 'note'.*ONNX lacks"):
        build(pipeline)


def test_a_text_vector_is_refused() -> None:
    """Even where the text's length is not used, its terms cannot be split out in standard ONNX."""
    pipeline = pipeline_of(small_bundle("binary", "lightgbm", table=reviews_table(400)))
    stats = {name for step in pipeline.steps if isinstance(step, TextStats) for name in step.outputs}
    vector = dataclasses.replace(
        pipeline, steps=tuple(s for s in pipeline.steps if not isinstance(s, TextStats)),
        features=tuple(f for f in pipeline.features if f not in stats),
    )  # fmt: skip
    with pytest.raises(ExportError, match=r"text_vector step of column 'review' cannot be exported to ONNX"):
        build(vector)


def test_the_model_says_what_it_reads_and_gives() -> None:
    pipeline = pipeline_of(small_bundle("multiclass", "lightgbm", table=_without_text("multiclass")))
    model = onnx.load_from_string(build(pipeline))
    assert [i.name for i in model.graph.input] == [c.name for c in pipeline.inputs]
    assert [o.name for o in model.graph.output] == ["prediction", "probabilities"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["lathe.classes"]) == ["a", "b", "c"]
    assert [i["kind"] for i in json.loads(meta["lathe.inputs"])] == ["number", "string", "boolean", "datetime"]
    assert {n.op_type for n in model.graph.node} >= {"TreeEnsemble", "ArgMax", "Gather"}


def test_feed_encodes_missing_values_as_the_contract_says() -> None:
    bundle = small_bundle("regression", "linear", table=_without_text("regression"))
    pipeline = pipeline_of(bundle)
    rows = check_rows(pipeline, bundle.sample)
    tensors = feed(rows, pipeline)
    assert {k: (v.dtype.kind, v.shape) for k, v in tensors.items()} == {
        "amount": ("f", (len(rows), 1)), "plan": ("O", (len(rows), 1)),
        "active": ("f", (len(rows), 1)), "signup": ("i", (len(rows), 1)),
    }  # fmt: skip
    assert np.isnan(tensors["amount"]).sum() == rows["amount"].isna().sum()
    assert (tensors["plan"] == "").sum() == rows["plan"].isna().sum() > 0
    assert (tensors["signup"] == NAT).sum() == rows["signup"].isna().sum() > 0


def test_dates_before_1970_get_their_calendar_parts_exactly() -> None:
    table = _without_text("regression")
    rng = np.random.default_rng(3)
    span = pd.Timestamp("2030-12-31").value - pd.Timestamp("1950-01-01").value
    stamps = pd.Timestamp("1950-01-01").value + rng.integers(0, span, len(table))
    stamps[:4] = [-1, 0, pd.Timestamp("1952-02-29 23:59").value, pd.Timestamp("1969-03-01").value]
    table["signup"] = pd.to_datetime(stamps)
    bundle = small_bundle("regression", "lightgbm", table=table)
    pipeline = pipeline_of(bundle)
    assert {"signup__year", "signup__minute"} <= set(pipeline.features)
    rows = check_rows(pipeline, bundle.sample)
    assert rows["signup"].min() < pd.Timestamp("1952-01-01") < pd.Timestamp("2029-01-01") < rows["signup"].max()
    np.testing.assert_array_equal(_features(pipeline, rows), bundle.plan.transform(rows))
    _checked(bundle, rows)


def test_a_zero_is_missing_split_sends_zero_the_default_way() -> None:
    bundle = small_bundle("regression", "lightgbm", table=_without_text("regression"))
    pipeline = pipeline_of(bundle)
    j = pipeline.features.index("signup__weekday_sin")  # exactly 0 on Mondays, also negative and positive
    # node 0: x <= 0.5, zero goes right; node 2: x <= -0.5, zero goes left; node 3: x <= 0 (zero: left)
    tree = Tree(
        margin=0, feature=(j, -1, j, j, -1, -1, -1), threshold=(0.5, 0.0, -0.5, 0.0, 0.0, 0.0, 0.0),
        left=(1, -1, 3, 4, -1, -1, -1), right=(2, -1, 6, 5, -1, -1, -1),
        default_left=(False, True, True, True, True, True, True),
        zero_is_missing=(True, False, True, False, False, False, False),
        value=(0.0, 2.0, 0.0, 0.0, 1.0, 5.0, 3.0),
    )  # fmt: skip
    lone = Tree(0, (-1,), (0.0,), (-1,), (-1,), (True,), (False,), (0.25,))
    handmade = dataclasses.replace(pipeline, model=Trees((tree, lone)))
    rows = check_rows(handmade, bundle.sample)
    features = bundle.plan.transform(rows)
    expected = handmade.predict(features)
    assert (features[:, j] == 0).any()
    assert set(expected) == {1.25, 2.25, 3.25}  # zero reaches 1.25 only through both default ways
    np.testing.assert_array_equal(score(build(handmade), rows, handmade)["prediction"].to_numpy(), expected)


def test_trees_split_and_sum_in_double_precision() -> None:
    bundle = small_bundle("regression", "lightgbm", table=_without_text("regression"))
    pipeline = pipeline_of(bundle)
    rows = bundle.sample.head(3).copy()
    rows["amount"] = [0.1, np.nextafter(0.1, 1.0), float(np.float32(0.1))]  # the last two: 0.1 in float32
    split = Tree(0, (pipeline.features.index("amount"), -1, -1), (0.1, 0.0, 0.0), (1, -1, -1), (2, -1, -1),
                 (True,) * 3, (False,) * 3, (0.0, 1 + 1e-12, 2.0))  # fmt: skip
    handmade = dataclasses.replace(pipeline, model=Trees((split,) * 3))
    assert score(build(handmade), rows, handmade)["prediction"].tolist() == [3 * (1 + 1e-12), 6.0, 6.0]


def _fixed_length_notes(rows: int, length: int = 24) -> list[str]:
    """Texts of one length (so that the length feature is dropped as constant) but 3 to 6 words,
    separated by tabs, newlines and Unicode spaces; the words of letters outside ASCII, which hold
    no terms (so that no text vector, which ONNX cannot express, is fitted)."""
    rng = np.random.default_rng(1)
    notes = []
    for _ in range(rows):
        k = int(rng.integers(3, 7))
        separators = [SEPARATORS[i] for i in rng.integers(0, len(SEPARATORS), k - 1)]
        letters = length - sum(map(len, separators))
        sizes = np.diff([0, *np.sort(rng.choice(np.arange(1, letters), k - 1, replace=False)), letters])
        words = ["".join(rng.choice(list("àçéü"), s)) for s in sizes]
        notes.append("".join(w + s for w, s in zip(words, [*separators, ""], strict=True)))
    return notes


@pytest.mark.parametrize("family", FAMILIES)
def test_a_text_word_count_is_exported_when_its_length_is_dropped(family: str) -> None:
    table = mixed_table(300, "binary")
    table["note"] = _fixed_length_notes(len(table))
    bundle = small_bundle("binary", family, table=table)
    pipeline = pipeline_of(bundle)
    assert "note__length" in pipeline.dropped
    assert "note__words" in pipeline.features
    rows = check_rows(pipeline, bundle.sample)
    _checked(bundle, rows)
    if family == "linear":
        np.testing.assert_array_equal(_features(pipeline, rows), bundle.plan.transform(rows))


def test_categories_compared_case_folded_match_in_any_case() -> None:
    table = _without_text("binary")
    table["plan"] = table["plan"].replace({"basic": "Café"}).where(np.arange(len(table)) % 3 > 0, "CAFÉ")
    bundle = small_bundle("binary", "lightgbm", table=table)
    pipeline = pipeline_of(bundle)
    assert any(getattr(step, "fold_case", False) for step in pipeline.steps)
    rows = check_rows(pipeline, bundle.sample)
    rows.loc[:5, "plan"] = ["café", "cAfÉ", "PRO", "Plus", "cafe", "caf"]
    _checked(bundle, rows)


@pytest.mark.parametrize(
    ("classes", "kind"), [((False, True), "b"), ((0, 1), "i"), ((0.5, 1.5), "f"), (("n", "y"), "O")]
)
def test_labels_keep_their_type(classes: tuple[object, ...], kind: str) -> None:
    bundle = small_bundle("binary", "linear", table=_without_text("binary"))
    pipeline = dataclasses.replace(pipeline_of(bundle), classes=classes)
    rows = bundle.sample
    session = onnxruntime.InferenceSession(build(pipeline), providers=["CPUExecutionProvider"])
    prediction, probabilities = session.run(None, feed(rows, pipeline))
    assert prediction.dtype.kind == kind
    assert prediction.tolist() == np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)].tolist()
    assert list(score(build(pipeline), rows, pipeline).columns[1:]) == [f"probability_{c}" for c in classes]


def test_an_input_named_like_an_output_is_refused() -> None:
    pipeline = pipeline_of(small_bundle("regression", "linear", table=_without_text("regression")))
    renamed = dataclasses.replace(pipeline, inputs=(dataclasses.replace(pipeline.inputs[0], name="prediction"),))
    with pytest.raises(ExportError, match="rename the column"):
        build(renamed)


def test_whitespace_is_what_python_calls_space() -> None:
    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_a_tuned_threshold_decides_the_label() -> None:
    bundle = small_bundle("binary", "lightgbm", table=_without_text("binary"), threshold=0.3)
    rows = check_rows(pipeline_of(bundle), bundle.sample)
    scored = bundle.predict(rows)
    assert ((scored["probability_yes"] >= 0.3) & (scored["probability_yes"] < 0.5)).any()  # the threshold matters
    assert (scored["prediction"] == np.where(scored["probability_yes"] >= 0.3, "yes", "no")).all()
    _checked(bundle, rows)


@pytest.mark.parametrize("family", ["linear", "blend"])
def test_a_skewed_features_signed_log_is_part_of_the_linear_map(family: str) -> None:
    # mixed_table's "amount" is log-normal: the linear model, alone or in a blend, takes its signed
    # log, which every format then computes (the equality tests above and in PMML and SQL).
    pipeline = pipeline_of(small_bundle("binary", family))
    linear = pipeline.model if isinstance(pipeline.model, Affine) else pipeline.model.linear
    assert linear is not None
    assert linear.logged is not None
    assert [pipeline.features[k] for k in np.flatnonzero(linear.logged[0])] == ["amount"]
    assert linear.weights[0][pipeline.features.index("amount")] == 0.0
