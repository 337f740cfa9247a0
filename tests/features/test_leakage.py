"""Label-leakage checks: planted leaks are caught and left out; honest signal is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lathe
from lathe.features import find_leaks
from lathe.profile import Task
from lathe.testing import mixed_table


def _with_leaks(task: str) -> pd.DataFrame:
    table = mixed_table(600, task, seed=4)
    rng = np.random.default_rng(4)
    table["outcome_code"] = table["target"]  # the answer itself, under another name
    positive = (
        table["target"].isin(["yes", "a"]) if task != "regression" else table["target"] > table["target"].median()
    )
    table["refund_reason"] = np.where(positive, rng.choice(["late", "broken", "price"], len(table)), None)
    table["target_group"] = rng.integers(0, 3, len(table))  # harmless, but named after the target
    return table


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_planted_leaks_are_caught_and_left_out(task: str) -> None:
    bundle = lathe.train(_with_leaks(task), target="target", trials=1, verbose=False)
    found = {leak["column"]: leak for leak in bundle.manifest["leakage"]}
    inputs = {c["name"] for c in bundle.manifest["inputs"]}

    assert found["outcome_code"]["strong"]
    assert "almost perfectly on its own" in found["outcome_code"]["finding"]
    assert "outcome_code" not in inputs
    if task == "binary":  # for three classes or a number, being missing marks a part of the answer, not all
        assert "whether it is missing" in found["refund_reason"]["finding"]
        assert "refund_reason" not in inputs
    assert not found["target_group"]["strong"]
    assert "target_group" in inputs
    assert {"amount", "plan", "active"} <= inputs
    assert "Suspected leak (left out): outcome_code" in bundle.report_html


def test_keeping_suspected_leaks_is_a_choice(capsys: pytest.CaptureFixture[str]) -> None:
    bundle = lathe.train(_with_leaks("binary"), target="target", trials=1, keep_suspected_leaks=True)

    assert "outcome_code" in {c["name"] for c in bundle.manifest["inputs"]}
    assert "Suspected leak (kept): outcome_code" in bundle.report_html
    assert "lathe warning: suspected leak: outcome_code predicts target" in capsys.readouterr().err


def test_honest_signal_is_not_a_leak() -> None:
    table = mixed_table(2000, "binary")
    y = (table["target"] == "yes").to_numpy().astype(int)
    frame = table[["amount", "plan", "active", "signup", "note"]]

    assert find_leaks(frame, y, Task.BINARY, "target") == []


def test_the_rank_auc_is_sklearns() -> None:
    from sklearn.metrics import roc_auc_score

    from lathe._roc import roc_auc

    rng = np.random.default_rng(2)
    labels, scores = rng.integers(0, 2, 500), rng.integers(0, 20, 500).astype(float)  # many ties
    assert roc_auc(labels == 1, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-15)
    with pytest.raises(ValueError, match="only one class"):
        roc_auc(np.zeros(5, dtype=bool), scores[:5])


def test_a_monotone_leak_in_a_number_is_caught_out_of_fold() -> None:
    rng = np.random.default_rng(1)
    delay = rng.normal(10, 20, 5000)
    frame = pd.DataFrame({"arr_delay": delay, "noise": rng.normal(size=5000)})

    leaks = find_leaks(frame, (delay > 15).astype(int), Task.BINARY, "late")

    assert [leak.column for leak in leaks] == ["arr_delay"]
    assert leaks[0].score > 0.99
