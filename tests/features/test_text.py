"""Free text: its terms, the fitted text vector, saved and replayed exactly, by the frame and the
row path alike; chosen where a text has enough rows and terms, and worth it where words tell."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lathe
from lathe.backends import read_frame
from lathe.features import (
    FeaturePlan,
    InputColumn,
    TextStats,
    TextVector,
    coerce_frame,
    plan_features,
    terms_of,
    transform_from_dict,
)
from lathe.profile import profile_table
from lathe.testing import mixed_table, reviews_table

ODD_TEXTS = (
    "LATE late, Late!refund",  # cases and punctuation
    "caf\u00e9 na\u00efve stra\u00dfe",  # letters outside ASCII split terms
    "\u212aelvin \u017fure \u0130stanbul",  # str.lower would make ASCII of these: they stay separators
    "a1-A1 a1a1 2024 x_y",  # digits are term characters, the underscore is not
    "\u3000late\u00a0refund\u2014broken\u2026",  # white space and punctuation outside ASCII
    "\U0001d431late \U0001f600refund",  # characters outside the Basic Multilingual Plane
    "!!! ???",  # no term at all
    "zzz qqq never seen words",
)


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return reviews_table(600, "binary")


@pytest.fixture(scope="module")
def plan(reviews: pd.DataFrame) -> FeaturePlan:
    return plan_features(profile_table(read_frame(reviews)), reviews, exclude=("target",))


@pytest.fixture(scope="module")
def vector(plan: FeaturePlan) -> TextVector:
    (found,) = [step for step in plan.steps if isinstance(step, TextVector)]
    return found


def _texts(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype=object)


def test_terms_are_runs_of_ascii_letters_and_digits_lower_cased() -> None:
    assert terms_of("LATE late, Late!refund") == ["late", "late", "late", "refund"]
    assert terms_of("caf\u00e9 stra\u00dfe") == ["caf", "stra", "e"]
    assert terms_of("\u212aelvin \u0130x") == ["elvin", "x"]  # no Kelvin sign or dotted I made ASCII
    assert terms_of("a1-A1 x_y") == ["a1", "a1", "x", "y"]
    assert terms_of("!!!") == []


def test_a_text_with_enough_rows_and_terms_gets_statistics_and_a_vector(plan: FeaturePlan, vector: TextVector) -> None:
    assert [(step.column, step.kind) for step in plan.steps] == [
        ("price", "impute"),
        ("review", "text_stats"),
        ("review", "text_vector"),
    ]
    assert vector.outputs == tuple(f"review__text_{c}" for c in range(1, len(vector.outputs) + 1))
    assert 2 <= len(vector.outputs) <= 16
    assert {"love", "broken", "the"} <= set(vector.terms)
    assert all(term == term.lower() and term.isascii() for term in vector.terms)


def test_the_vocabulary_is_the_most_frequent_terms_by_texts() -> None:
    texts = _texts([f"common{k % 3} shared rare{k} w{k % 20}" for k in range(300)] + [None] * 20)
    fitted = TextVector.fit("t", texts)
    assert fitted is not None
    assert fitted.terms[0] == "shared"  # in every text
    assert not any(term.startswith("rare") for term in fitted.terms)  # in one text each: under the floor
    assert set(fitted.terms) == {"shared", "common0", "common1", "common2", *(f"w{k}" for k in range(20))}
    documents = np.array([300, 100, 100, 100] + [15] * 20)
    np.testing.assert_allclose(fitted.idf, np.log(301 / (1 + documents)) + 1)


def test_too_few_texts_or_terms_keep_the_statistics_alone() -> None:
    assert TextVector.fit("t", _texts([f"a{k % 30} b{k % 7} c" for k in range(99)])) is None  # 99 texts
    assert TextVector.fit("t", _texts([f"{'abcdefg'[k % 7]} x y" for k in range(500)])) is None  # 9 terms
    table = mixed_table(400)  # its note has seven words
    made = plan_features(profile_table(read_frame(table)), table, exclude=("target",))
    assert [step.kind for step in made.steps if step.column == "note"] == ["text_stats"]


def test_the_projection_is_orthonormal_and_fitted_alike_twice(reviews: pd.DataFrame, vector: TextVector) -> None:
    matrix = np.array(vector.projection)
    np.testing.assert_allclose(matrix.T @ matrix, np.eye(matrix.shape[1]), atol=1e-12)
    texts = coerce_frame(reviews, (InputColumn("review", "string"),))["review"]
    assert TextVector.fit("review", texts) == vector


def test_a_saved_plan_replays_exactly(plan: FeaturePlan, reviews: pd.DataFrame, vector: TextVector) -> None:
    again = FeaturePlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    np.testing.assert_array_equal(again.transform(reviews), plan.transform(reviews))
    assert transform_from_dict(json.loads(json.dumps(vector.to_dict()))) == vector


def test_the_row_path_equals_the_frame_path_to_the_last_bit(plan: FeaturePlan, reviews: pd.DataFrame) -> None:
    rows = pd.concat([reviews, reviews.head(len(ODD_TEXTS)).assign(review=list(ODD_TEXTS))], ignore_index=True)
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    np.testing.assert_array_equal(plan.transform_rows(records), plan.transform(rows))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=60), st.lists(st.sampled_from(
    ["love", "Broken", "THE", "refund", "\u00e9", " ", ", ", "-", "\u212a", "zz"]), max_size=12).map("".join)),
    min_size=1, max_size=8))  # fmt: skip
def test_any_text_is_vectorised_alike_by_both_paths(vector: TextVector, texts: list[str | None]) -> None:
    frame = np.column_stack(vector.apply(_texts(texts)))
    rows = np.array([vector.row(text) for text in texts])
    np.testing.assert_array_equal(rows, frame)


def test_a_text_utf8_cannot_hold_is_read_term_by_term(vector: TextVector) -> None:
    texts = ["love \ud800 broken", "love broken"]  # a lone surrogate: Arrow refuses it
    np.testing.assert_array_equal(np.column_stack(vector.apply(_texts(texts))), [vector.row(t) for t in texts])
    np.testing.assert_array_equal(vector.row(texts[0]), vector.row(texts[1]))


def test_missing_text_and_unseen_words_give_zeros(vector: TextVector) -> None:
    width = len(vector.outputs)
    values = _texts([None, "zzz qqq, never-seen!", "\u00e9\u00e8 \u212a", "love the box"])
    out = np.column_stack(vector.apply(values))
    np.testing.assert_array_equal(out[:3], np.zeros((3, width)))
    assert np.abs(out[3]).max() > 0
    assert vector.row(None) == vector.row("zzz qqq") == [0.0] * width


def test_unseen_words_do_not_change_a_texts_vector(vector: TextVector) -> None:
    np.testing.assert_array_equal(vector.row("Love the BOX!"), vector.row("love zzz the qqq box"))


def test_more_rows_than_one_chunk_are_vectorised_alike(vector: TextVector) -> None:
    rng = np.random.default_rng(0)
    words = np.array((*vector.terms[:30], "zzz", "Qq"))
    texts = _texts([" ".join(rng.choice(words, k)) if k else None for k in rng.integers(0, 12, 45_000)])
    frame = np.column_stack(vector.apply(texts))
    for r in (0, 1, 19_999, 20_000, 20_001, 39_999, 40_000, 44_999):
        np.testing.assert_array_equal(vector.row(texts[r]), frame[r])


def test_words_that_tell_improve_the_model() -> None:
    """Holdout ROC AUC on reviews whose words (not their length) tell: with the text vector, and
    with the text's statistics alone (length and word count as numbers, the text left out)."""
    table = reviews_table(1000, "binary", seed=1)
    length, words = TextStats(column="review").apply(coerce_frame(table, (InputColumn("review", "string"),))["review"])
    statistics = table.drop(columns=["review"]).assign(review_length=length, review_words=words)
    vector = lathe.train(table, "target", trials=1, budget=None, verbose=False)
    alone = lathe.train(statistics, "target", trials=1, budget=None, verbose=False)
    assert any(step.kind == "text_vector" for step in vector.plan.steps)
    with_vector, without = (b.manifest["metrics"]["holdout"]["roc_auc"] for b in (vector, alone))
    assert with_vector > 0.8 > 0.65 > without  # 0.838 and 0.553 when written
