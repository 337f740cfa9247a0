"""Each drift measure against an independent computation (scipy, pandas bins), and the thresholds' rules."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, wasserstein_distance

from lathe.backends import close, read_frame
from lathe.errors import ColumnNotFoundError, InvalidParameterError
from lathe.monitor import Bins, js_distance, parse_overrides, psi, shares, threshold, wasserstein
from lathe.monitor._bins import bins_of, count_rows
from lathe.monitor._thresholds import check_overrides

RNG = np.random.default_rng(7)
PAIRS = [
    (RNG.integers(0, 500, 11), RNG.integers(0, 500, 11)),
    (np.array([100, 0, 50, 3]), np.array([90, 12, 40, 0])),
    (np.array([1, 1, 1, 1]), np.array([1, 1, 1, 1])),
]


@pytest.mark.parametrize(("reference", "current"), PAIRS)
def test_psi_is_the_symmetric_kullback_leibler_divergence(reference: np.ndarray, current: np.ndarray) -> None:
    p, q = shares(reference), shares(current)
    assert psi(reference, current) == pytest.approx(entropy(p, q) + entropy(q, p), abs=1e-12)


@pytest.mark.parametrize(("reference", "current"), PAIRS)
def test_js_distance_matches_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    expected = jensenshannon(shares(reference), shares(current), base=2)
    assert js_distance(reference, current) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("reference", "current"), PAIRS[:2])
def test_wasserstein_matches_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    centers = np.cumsum(RNG.uniform(0.5, 3.0, len(reference)))
    expected = wasserstein_distance(centers, centers, reference, current)
    assert wasserstein(reference, current, centers) == pytest.approx(expected, rel=1e-9)


def test_counts_in_the_engine_match_pandas_bins() -> None:
    """The bins counted by the aggregate query are the ones pandas cuts independently."""
    frame = pd.DataFrame({"x": RNG.normal(0, 1, 3000), "c": RNG.choice(["a", "b", "c", None], 3000)})
    frame.loc[::7, "x"] = np.nan
    x_bins, c_bins = bins_of(frame["x"], "number", "x"), bins_of(frame["c"], "category", "c")
    table = read_frame(frame)
    [(rows, [(x_counts, _), (c_counts, _)])] = count_rows(table, [x_bins, c_bins])
    close(table)
    cut = pd.cut(frame["x"], [-np.inf, *x_bins.edges, np.inf], right=False).value_counts(sort=False).to_numpy()
    assert rows == 3000
    assert x_counts.tolist() == [*cut.tolist(), int(frame["x"].isna().sum())]
    levels = frame["c"].value_counts()
    assert c_counts.tolist() == [*(int(levels[v]) for v in c_bins.levels), 0, int(frame["c"].isna().sum())]


def test_thresholds_shrink_with_the_rows_down_to_the_floor() -> None:
    rule = {"units": 30.0, "power": 1.0, "floor": 0.05}
    small, large = threshold(rule, 100, 10_000), threshold(rule, 10_000_000, 10_000)
    assert small > large == pytest.approx(0.05)
    assert threshold({"value": 0.3}, 5, 5) == 0.3


def test_overrides_are_parsed_and_checked() -> None:
    assert parse_overrides(["amount=0.2", "plan:js=0.1", "a=b=0.5"]) == {"amount": 0.2, "plan:js": 0.1, "a=b": 0.5}
    for bad in ("amount", "amount=x", "amount=-1", "=3"):
        with pytest.raises(InvalidParameterError, match="COL=VALUE"):
            parse_overrides([bad])
    check_overrides({"amount": 0.2, "plan:js": 0.1}, ["amount", "plan"])
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'amount'"):
        check_overrides({"amont": 0.2}, ["amount", "plan"])
    with pytest.raises(InvalidParameterError, match="no measure"):
        check_overrides({"plan:size": 0.2}, ["amount", "plan"])


def test_bins_round_trip() -> None:
    bins = Bins("x", "number", (1, 2, 3), edges=(0.5, 1.5), low=0.0, high=2.0)
    assert Bins.from_dict(bins.to_dict()) == bins
    assert bins.labels == ["< 0.5", "0.5 to 1.5", ">= 1.5", "missing"]


def test_exported_members() -> None:
    module = importlib.import_module("lathe.monitor")
    public = sorted(n for n in vars(module) if not n.startswith("_") and n not in {"annotations"})
    assert set(module.__all__) <= set(public)
    key = [(0 if n.isupper() else 1 if n[0].isupper() else 2, n) for n in module.__all__]
    assert key == sorted(key)
