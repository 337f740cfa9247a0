"""The PMML export, scored by JPMML-Evaluator (Java, in this process) against the bundle's own predictions."""

from __future__ import annotations

import dataclasses
import functools
import xml.etree.ElementTree as ET
from typing import ClassVar

import jpype
import numpy as np
import pandas as pd
import pytest

from lathe.backends import read_frame
from lathe.bundle import SAMPLE_ROWS, Bundle
from lathe.errors import ExportError
from lathe.export._pipeline import Affine, Pipeline, Trees, pipeline_of
from lathe.export._pmml import NAMESPACE, build, score
from lathe.export._verify import check_rows, compare
from lathe.features import DateParts, InputColumn, OneHot, TextVector, Transform, coerce_frame, plan_features
from lathe.profile import Task, profile_table
from lathe.search import FAMILIES, Leaderboard
from lathe.testing import mixed_table, reviews_table, shops_table, small_bundle
from tests.export._probe import feature_probe

PMML = f"{{{NAMESPACE}}}"
# Around the epoch, century and leap days, and the ends of what datetime64[ns] holds.
EDGE_DATES = ("1900-03-01T12:00:00", "1969-12-31T23:59:59", "1970-01-01T00:00:00", "1999-12-31T23:59:00",
              "2000-02-29T00:01:00", "2024-02-29T13:37:00", "1677-09-21T00:12:44", "2262-04-11T23:47:16")  # fmt: skip


@functools.cache
def _bundle(task: str, family: str) -> Bundle:
    """``small_bundle`` on its default table, fitted once per test run."""
    return small_bundle(task, family)


def _checked(bundle: Bundle, extra: pd.DataFrame | None = None) -> dict[str, object]:
    """``compare`` on ``check_rows`` (and ``extra`` coerced rows): raises where JPMML differs."""
    pipeline = pipeline_of(bundle)
    rows = check_rows(pipeline, bundle.sample)
    if extra is not None:
        rows = pd.concat([rows, extra], ignore_index=True)
    return compare(bundle, rows, score(build(pipeline), rows, pipeline), "JPMML")


@pytest.mark.parametrize("family", ["linear", "lightgbm", "xgboost", "catboost", "blend"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_jpmml_reproduces_the_bundle(task: str, family: str) -> None:
    _checked(_bundle(task, family))  # raises where JPMML's scores differ from the bundle's by over 1e-6


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("fold", [False, True])
def test_a_category_of_many_levels_is_looked_up(task: str, fold: bool) -> None:
    table = shops_table(300, task)
    if fold:  # levels compared case-folded
        table.loc[10:14, "shop"] = table.loc[10:14, "shop"].str.upper()
    bundle = small_bundle(task, "lightgbm", table=table)
    assert any(step.kind == "encode" and step.fold_case == fold for step in bundle.plan.steps)  # type: ignore[attr-defined]
    _checked(bundle)


@pytest.mark.parametrize(
    ("task", "family"), [("binary", "lightgbm"), ("multiclass", "linear"), ("regression", "lightgbm")]
)
def test_a_text_vector_is_reproduced(task: str, family: str) -> None:
    bundle = small_bundle(task, family, table=reviews_table(400, task))
    assert any(isinstance(step, TextVector) for step in bundle.plan.steps)
    _checked(bundle)


def test_a_text_vector_comes_out_to_the_last_bit() -> None:
    """Each text feature as JPMML computes it equals lathe's, bit for bit (sums in the same order)."""
    bundle = small_bundle("binary", "linear", table=reviews_table(400))
    pipeline = pipeline_of(bundle)
    rows = check_rows(pipeline, bundle.sample)
    (vector,) = [step for step in pipeline.steps if isinstance(step, TextVector)]
    native = bundle.plan.transform(rows)
    for name in (vector.outputs[0], vector.outputs[-1]):
        probe = feature_probe(pipeline, name)
        scored = score(build(probe), rows, probe)["prediction"].to_numpy()
        np.testing.assert_array_equal(scored, native[:, pipeline.features.index(name)])


def test_the_document_is_pmml_4_4() -> None:
    bundle = small_bundle("multiclass", "lightgbm", rounds=10)
    pipeline = pipeline_of(bundle)
    document = build(pipeline)
    root = ET.fromstring(document)
    assert (root.tag, root.get("version")) == (f"{PMML}PMML", "4.4")
    assert root.find(f"{PMML}Header/{PMML}Application").get("name") == "lathe"
    fields = [f.get("name") for f in root.iterfind(f"{PMML}DataDictionary/{PMML}DataField")]
    assert fields == [c.name for c in pipeline.inputs] + ["target"]  # one per input, then the target
    kinds = {f.get("name"): f.get("dataType") for f in root.iterfind(f"{PMML}DataDictionary/{PMML}DataField")}
    assert kinds == {"amount": "double", "plan": "string", "active": "double", "signup": "dateTime", "note": "string",
                     "target": "string"}  # fmt: skip
    model = root.find(f"{PMML}MiningModel")
    assert model.find(f"{PMML}Segmentation").get("multipleModelMethod") == "modelChain"
    outputs = [(f.get("name"), f.get("feature")) for f in model.iterfind(f"{PMML}Output/{PMML}OutputField")]
    assert outputs == [("prediction", "predictedValue")] + [(f"probability_{c}", "probability") for c in "abc"]
    trees = list(root.iter(f"{PMML}TreeModel"))
    assert len(trees) == len(pipeline.model.trees)
    assert {t.get("splitCharacteristic") for t in trees} == {"binarySplit"}
    score(document, bundle.sample, pipeline)  # starts the JVM the schema check runs in
    _validate(document)


def _validate(document: str) -> None:
    """Check ``document`` against the PMML 4.4 XML Schema that JPMML-Model ships (``pmml.xsd``)."""
    factory = jpype.JClass("javax.xml.validation.SchemaFactory").newInstance("http://www.w3.org/2001/XMLSchema")
    xsd = jpype.JClass("org.dmg.pmml.PMML").class_.getResource("/pmml.xsd")
    source = jpype.JClass("javax.xml.transform.stream.StreamSource")(jpype.JClass("java.io.StringReader")(document))
    factory.newSchema(xsd).newValidator().validate(source)  # raises SAXParseException where invalid


def _stamps(*texts: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts), format="ISO8601"))


@pytest.mark.parametrize("family", ["linear", "lightgbm"])
def test_every_date_part_before_and_after_1970(family: str) -> None:
    table = mixed_table(300, "binary")
    seconds = np.random.default_rng(1).integers(pd.Timestamp("1950-01-01").value // 10**9,
                                                pd.Timestamp("2030-12-31").value // 10**9, len(table))  # fmt: skip
    table["signup"] = pd.to_datetime(seconds, unit="s")
    table.loc[::13, "signup"] = pd.NaT
    bundle = small_bundle("binary", family, table=table)
    (dates,) = [s for s in pipeline_of(bundle).steps if isinstance(s, DateParts)]
    assert dates.parts == ("year", "month", "day", "weekday", "hour", "minute")
    assert dates.indicator
    extra = bundle.sample.head(8).copy()
    extra["signup"] = _stamps(*EDGE_DATES)
    _checked(bundle, extra)


def test_a_fraction_of_a_second_is_dropped() -> None:
    """PMML's date functions count whole seconds: the documented difference."""
    bundle = _bundle("regression", "linear")
    pipeline = pipeline_of(bundle)
    rows = bundle.sample.head(4).copy()
    rows["signup"] = _stamps("1969-12-31T23:59:59", "1969-12-31T23:59:59", "2024-05-01T10:00:00", "2024-05-01T10:00:00")
    fractions = rows.copy()
    fractions["signup"] = _stamps("1969-12-31T23:59:59.25", "1969-12-31T23:59:59.999999999", "2024-05-01T10:00:00.5",
                                  "2024-05-01T10:00:00.000001")  # fmt: skip
    document = build(pipeline)
    pd.testing.assert_frame_equal(score(document, fractions, pipeline), score(document, rows, pipeline))


def test_text_and_case_folding_as_python_counts_them() -> None:
    table = mixed_table(300, "multiclass")
    table["plan"] = [v.upper() if i % 3 == 0 else v for i, v in enumerate(table["plan"])]
    table.loc[::17, "plan"] = None
    bundle = small_bundle("multiclass", "linear", table=table)
    (levels,) = [s for s in pipeline_of(bundle).steps if isinstance(s, OneHot)]
    assert levels.fold_case
    assert levels.indicator
    extra = bundle.sample.head(6).copy()
    # casefold: the long s (U+017F) folds to s, the sharp s to ss
    extra["plan"] = ["PLU\u017f", "BA\u017fIC", "Pro", "\u017f", "Stra\u00dfe", "plus"]
    extra["note"] = ["great \U0001f44d\u00a0thanks\u2003ok", "x\u3000y\x1cz\u2028w", "\U0001f600\U0001f600 a",
                     "a\u200bb", "tab\tnew\nline", "x"]  # fmt: skip
    _checked(bundle, extra)


def _zero_as_missing_bundle() -> Bundle:
    """A LightGBM bundle trained with ``zero_as_missing``, on amounts that are often exactly zero."""
    table = mixed_table(300, "binary")
    table.loc[::7, "amount"] = 0.0
    table.loc[3::11, "amount"] = -table.loc[3::11, "amount"]
    plan = plan_features(profile_table(read_frame(table)), table, exclude=("target",))
    classes = ["no", "yes"]
    params = FAMILIES["lightgbm"].portfolio[0] | {"rounds": 40, "zero_as_missing": True}
    y = np.searchsorted(classes, table["target"].to_numpy())
    model = FAMILIES["lightgbm"].fit(plan.transform(table), y, Task.BINARY, params, n_classes=2).model
    sample = coerce_frame(table.head(SAMPLE_ROWS), plan.inputs).reset_index(drop=True)
    manifest = {"task": "binary", "target": "target", "classes": classes, "ids": []}
    return Bundle(manifest, plan, model, Leaderboard("m", True, ()), sample=sample)


def test_zero_read_as_missing_takes_the_default_branch() -> None:
    bundle = _zero_as_missing_bundle()
    pipeline = pipeline_of(bundle)
    assert isinstance(pipeline.model, Trees)
    defaults = {t.default_left[i] for t in pipeline.model.trees for i in range(len(t.feature)) if t.zero_is_missing[i]}
    assert defaults == {True, False}  # zero goes left at some nodes, right at others
    rows = check_rows(pipeline, bundle.sample)
    tiny = rows.head(8).copy()
    tiny["amount"] = [0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, 2e-35, -2e-35]
    rows = pd.concat([rows, tiny], ignore_index=True)
    compare(bundle, rows, score(build(pipeline), rows, pipeline), "JPMML")
    plain = Trees(
        tuple(dataclasses.replace(t, zero_is_missing=(False,) * len(t.feature)) for t in pipeline.model.trees)
    )
    unaware = dataclasses.replace(pipeline, model=plain)
    with pytest.raises(ExportError, match="does not reproduce"):  # the rows do take the zero branches
        compare(bundle, rows, score(build(unaware), rows, unaware), "JPMML")


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_a_tie_goes_to_the_earlier_class(task: str) -> None:
    """All margins 0: every class equally likely, and the prediction is the first, as numpy's argmax."""
    bundle = _bundle(task, "linear")
    pipeline = pipeline_of(bundle)
    margins, width = pipeline.margins, len(pipeline.features)
    even = dataclasses.replace(pipeline, model=Affine(np.zeros((margins, width)), np.zeros(margins)))
    scored = score(build(even), bundle.sample, even)
    assert set(scored["prediction"]) == {pipeline.classes[0]}
    assert (scored.drop(columns="prediction").to_numpy() == 1 / len(pipeline.classes)).all()


@dataclasses.dataclass(frozen=True)
class _Shout(Transform):
    kind: ClassVar[str] = "shout"

    @property
    def outputs(self) -> tuple[str, ...]:
        return (f"{self.column}__shout",)


def _pipeline() -> Pipeline:
    return pipeline_of(_bundle("binary", "linear"))


def test_a_transform_pmml_cannot_express_is_refused() -> None:
    pipeline = _pipeline()
    shouting = dataclasses.replace(pipeline, steps=(*pipeline.steps, _Shout(column="plan")))
    with pytest.raises(ExportError, match=r"PMML cannot express the shout transform of column 'plan'"):
        build(shouting)


def test_an_input_named_as_an_output_field_is_refused() -> None:
    pipeline = _pipeline()
    clashing = dataclasses.replace(pipeline, inputs=(*pipeline.inputs, InputColumn("probability_yes", "number")))
    with pytest.raises(ExportError, match="'probability_yes'"):
        build(clashing)


def test_a_tuned_threshold_decides_the_label() -> None:
    _checked(small_bundle("binary", "lightgbm", threshold=0.3))
