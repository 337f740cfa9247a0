"""The compiled scorer equals the reference path (``FeaturePlan.transform`` and the model's own
``predict``) on random rows of every column type, with missing values, missing tokens, unseen
categories and words, infinities and dates far from the training ones; and its program is cached
in the bundle, rebuilt when stale, skipped where it cannot be written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lathe.bundle import Bundle, load_bundle
from lathe.bundle._program_cache import CACHE, cached_program
from lathe.errors import SchemaMismatchError
from lathe.testing import reviews_table, shops_table, small_bundle

FAMILIES = ["lightgbm", "linear", "xgboost", "catboost", "blend"]
TASKS = ["binary", "multiclass", "regression"]
TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}
PROPERTY = settings(
    max_examples=4, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
WORDS = ["late", "refund", "Great", "LOVE", "broken", "sturdy", "works", "zzz", "café", "", "!!", "2"]
_BUNDLES: dict[tuple[str, str], Bundle] = {}


def _table(task: str) -> pd.DataFrame:
    """Every kind of column: numbers, a one-hot and an encoded category, a boolean, two timestamps
    (one with missing values, some before 1970), a short text and a free text with a vector."""
    table = shops_table(300, task)
    rng = np.random.default_rng(1)
    born = pd.to_datetime(rng.integers(pd.Timestamp("1940-01-01").value, pd.Timestamp("2040-01-01").value, 300))
    table["born"] = pd.Series(born).where(rng.random(300) > 0.1)
    table["review"] = reviews_table(300, task)["review"].to_numpy()
    return table


def _bundle(task: str, family: str) -> Bundle:
    if (task, family) not in _BUNDLES:
        _BUNDLES[task, family] = small_bundle(task, family, table=_table(task), rounds=10)
    return _BUNDLES[task, family]


def test_the_test_bundles_hold_every_kind_of_step() -> None:
    kinds = {step.kind for step in _bundle("binary", "lightgbm").plan.steps}
    assert kinds == {"impute", "one_hot", "encode", "date_parts", "text_stats", "text_vector"}


def _values(kind: str) -> st.SearchStrategy[Any]:
    missing = st.sampled_from([None, np.nan, "NA", " null ", "?", ""])
    texts = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
    return {
        "amount": st.floats(-1e6, 1e6) | st.sampled_from([np.inf, -np.inf, np.nan, 0.0, 1e-40]) | missing,
        "plan": st.sampled_from(["basic", "plus", "pro", " Pro ", "PLUS", "gold", "x"]) | missing,
        "shop": st.sampled_from(["basic-1", "plus-12", "pro-3", "closed-1", "closed-2", "new-9"]) | missing,
        "active": st.sampled_from([True, False, "yes", "0"]) | missing,
        "stamp": st.integers(-(2**62), 2**62).map(lambda n: pd.Timestamp(n).floor("us")) | st.none(),
        "note": texts | missing,
        "review": texts | missing,
        "customer_id": st.integers(0, 10**6),
    }[kind]


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    """A few rows of raw columns; the numbers sometimes as text, the dates sometimes as ISO text,
    the plan sometimes a pandas category."""
    rows = draw(st.integers(1, 12))

    def column(kind: str) -> list[Any]:
        return draw(st.lists(_values(kind), min_size=rows, max_size=rows))

    frame = pd.DataFrame({
        "customer_id": column("customer_id"), "amount": column("amount"), "plan": column("plan"),
        "active": column("active"), "signup": column("stamp"), "note": column("note"),
        "country": ["NL"] * rows, "unused": [np.nan] * rows, "shop": column("shop"), "born": column("stamp"),
        "review": column("review"),
    })  # fmt: skip
    numbers = pd.to_numeric(frame["amount"].replace(["NA", " null ", "?", ""], None), errors="coerce")
    frame["amount"] = numbers.astype(str).where(numbers.notna(), None) if draw(st.booleans()) else numbers
    for name in ("signup", "born"):
        stamps = pd.to_datetime(frame[name])
        frame[name] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f") if draw(st.booleans()) else stamps
    if draw(st.booleans()):
        frame["plan"] = frame["plan"].astype("category")
    return frame


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("task", TASKS)
def test_compiled_scoring_equals_the_reference(task: str, family: str) -> None:
    bundle = _bundle(task, family)
    assert bundle.scorer is not None

    @PROPERTY
    @given(frames())
    def check(frame: pd.DataFrame) -> None:
        np.testing.assert_allclose(bundle.scorer.features(frame), bundle.plan.transform(frame), **TOLERANCE)  # type: ignore[union-attr]
        compiled, reference = bundle.predict(frame), bundle.predict(frame, compiled=False)
        pd.testing.assert_frame_equal(compiled, reference, check_exact=False, **TOLERANCE)
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        fast, slow = bundle.predict_rows(rows, compiled=True), bundle.predict_rows(rows)
        pd.testing.assert_frame_equal(pd.DataFrame(fast), pd.DataFrame(slow), check_exact=False, **TOLERANCE)

    check()


def test_explanations_read_the_compiled_features() -> None:
    bundle = _bundle("multiclass", "lightgbm")
    frame = _table("multiclass").drop(columns="target").head(30)
    explained = bundle.explain(frame)
    pd.testing.assert_frame_equal(explained[bundle.predict(frame).columns], bundle.predict(frame, compiled=False))
    shares = explained.filter(like="contribution_").sum(axis=1) + explained["base_value"]
    chosen = explained[[f"probability_{c}" for c in bundle.classes]].max(axis=1)
    np.testing.assert_allclose(shares, chosen, atol=1e-9)


def test_bad_rows_are_refused_as_the_reference_refuses_them() -> None:
    bundle = _bundle("binary", "lightgbm")
    frame = _table("binary").drop(columns="target").head(5)
    for bad in (frame.drop(columns="plan"), frame.assign(amount="lots"), frame.assign(signup="not a date"),
                frame.head(0)):  # fmt: skip
        with pytest.raises(SchemaMismatchError) as compiled:
            bundle.predict(bad)
        with pytest.raises(SchemaMismatchError) as reference:
            bundle.predict(bad, compiled=False)
        assert str(compiled.value) == str(reference.value)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return _bundle("binary", "xgboost").save(tmp_path / "bundle")


def _unmade() -> Any:
    raise AssertionError("the program was made again, not read from the cache")


def test_the_program_is_cached_in_the_bundle_and_read_back(saved: Path) -> None:
    frame = _table("binary").drop(columns="target").head(20)
    first = load_bundle(saved).predict(frame)
    (key,) = (saved / CACHE).iterdir()
    assert sorted(p.suffix for p in key.iterdir()) == [".json"] + [".npy"] * (len(list(key.iterdir())) - 1)

    assert cached_program(saved, _unmade)[1]
    pd.testing.assert_frame_equal(load_bundle(saved).predict(frame), first)


def test_a_stale_or_damaged_cache_is_made_anew(saved: Path) -> None:
    assert load_bundle(saved).scorer is not None
    (old,) = (saved / CACHE).iterdir()
    next(old.glob("*.npy")).write_bytes(b"damaged")
    assert load_bundle(saved).scorer is not None
    assert cached_program(saved, _unmade)[1]  # rewritten whole
    manifest = saved / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"task"', '"changed": 1, "task"', 1))

    assert load_bundle(saved).scorer is not None

    (new,) = (saved / CACHE).iterdir()
    assert new.name != old.name


def test_a_bundle_whose_cache_cannot_be_written_still_scores(saved: Path) -> None:
    (saved / CACHE).write_text("not a folder")  # as a read-only bundle, the cache cannot be made
    frame = _table("binary").drop(columns="target").head(20)

    scored = load_bundle(saved).predict(frame)

    pd.testing.assert_frame_equal(
        scored, load_bundle(saved).predict(frame, compiled=False), check_exact=False, rtol=1e-12
    )
    assert (saved / CACHE).read_text() == "not a folder"


@pytest.mark.parametrize("task", TASKS)
def test_rows_are_explained_as_their_data_frame_is(task: str) -> None:
    bundle = _bundle(task, "lightgbm")
    frame = _table(task).drop(columns="target").head(20)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")

    fast = pd.DataFrame(bundle.explain_rows(rows, top=3))
    slow = bundle.explain(pd.DataFrame(rows), top=3).rename(columns=lambda c: c.removeprefix("contribution_"))

    contributions = pd.DataFrame(list(fast.pop("contributions")))
    pd.testing.assert_frame_equal(fast, slow[fast.columns], check_exact=False, **TOLERANCE)
    pd.testing.assert_frame_equal(contributions, slow[contributions.columns], check_exact=False, **TOLERANCE)
