"""One tool's run for bench/automl.py, inside that tool's own environment (so each tool's imports live
in its function): learn from DATA/train.parquet as DATA/meta.json says (task, target, metric) within
BUDGET seconds, predict DATA/test_features.parquet, and write to WORK:

- predictions.parquet: a probability column per class, named by the class, or ``prediction``;
- timing.json: train_s (from the tool's import or command to a trained model, reading the training
  file included), predict_s, and the tool's package and version.

A failure ends with a line ``error: ...`` that the bench records.

Usage: python -P bench/_automl_tools.py TOOL DATA BUDGET WORK (-P: so that bench/profile.py does not hide
the standard library's profile module, which torch imports)
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

CORES = 2
# Each tool's name for the metric the bench scores, per task.
METRICS = {
    "lathe": {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"},
    "flaml": {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"},
    "autogluon": {"binary": "roc_auc", "multiclass": "log_loss", "regression": "root_mean_squared_error"},
    "h2o": {"binary": "AUC", "multiclass": "logloss", "regression": "RMSE"},
    "plainml": {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"},
}
Predict = Callable[[Path], pd.DataFrame]
Meta = dict[str, Any]  # meta.json: task, target, metric, classes, ...


def _cli(command: list[object]) -> None:
    """Run a tool's command line; its output goes to the log, its last words into the error."""
    done = subprocess.run([str(part) for part in command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(done.stdout, flush=True)
    if done.returncode:
        last = " | ".join(line.strip() for line in done.stdout.strip().splitlines()[-3:])
        raise RuntimeError(f"{Path(str(command[0])).name} {command[1]} exited with {done.returncode}: {last}")


def _probabilities(frame: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    return frame.set_axis([str(label) for label in classes], axis=1).reset_index(drop=True)


def lathe(train: Path, meta: Meta, budget: float, work: Path) -> Predict:
    """`lathe train` on every row (``--holdout 0``, as the other tools learn from all they are
    given), then `lathe predict` (probability_<class> or prediction columns)."""
    command = Path(sys.executable).with_name("lathe")
    bundle = work / "model"
    _cli([command, "train", train, "--target", meta["target"], "--task", meta["task"], "--holdout", "0",
          "--metric", METRICS["lathe"][meta["task"]], "--budget", f"{budget:g}", "--out", bundle])  # fmt: skip

    def predict(features: Path) -> pd.DataFrame:
        _cli([command, "predict", bundle, features, "--out", work / "scored.parquet"])
        scored = pd.read_parquet(work / "scored.parquet")
        if meta["task"] == "regression":
            return scored[["prediction"]]
        columns = [name for name in scored.columns if name.startswith("probability_")]
        return _probabilities(scored[columns], [name.removeprefix("probability_") for name in columns])

    return predict


def plainml(train: Path, meta: Meta, budget: float, work: Path) -> Predict:
    """`plainml train` with its time budget, then `plainml predict --proba`."""
    command = Path(sys.executable).with_name("plainml")
    task = "regression" if meta["task"] == "regression" else "classification"
    _cli([command, "train", train, "--target", meta["target"], "--task", task,
          "--metric", METRICS["plainml"][meta["task"]], "--time-budget", f"{budget:g}s", "--n-jobs", CORES,
          "--out", work / "runs", "--name", "model", "--no-report"])  # fmt: skip

    def predict(features: Path) -> pd.DataFrame:
        out = work / "scored.parquet"
        run = next((work / "runs").glob("*_model"))  # plainml puts the time before the name
        _cli([command, "predict", run, features, "--output", out, "--proba", "--runs-dir", work / "runs"])
        scored = pd.read_parquet(out)
        if meta["task"] == "regression":
            return scored[[f"predicted_{meta['target']}"]].set_axis(["prediction"], axis=1)
        return _probabilities(scored[[f"probability_{label}" for label in meta["classes"]]], meta["classes"])

    return predict


def flaml(train: Path, meta: Meta, budget: float, work: Path) -> Predict:
    """FLAML's AutoML with time_budget and its default learners."""
    from flaml import AutoML

    X = pd.read_parquet(train)
    y = X.pop(meta["target"])
    automl = AutoML()
    task = "regression" if meta["task"] == "regression" else "classification"
    automl.fit(X, y, task=task, metric=METRICS["flaml"][meta["task"]], time_budget=budget, n_jobs=CORES, seed=0,
               verbose=0, log_file_name=str(work / "flaml.log"))  # fmt: skip

    def predict(features: Path) -> pd.DataFrame:
        X_test = pd.read_parquet(features)
        if meta["task"] == "regression":
            return pd.DataFrame({"prediction": automl.predict(X_test)})
        return _probabilities(pd.DataFrame(automl.predict_proba(X_test)), list(automl.classes_))

    return predict


def _autogluon(presets: str | None) -> Callable[[Path, Meta, float, Path], Predict]:
    def fit(train: Path, meta: Meta, budget: float, work: Path) -> Predict:
        """AutoGluon's TabularPredictor with time_limit (and ``presets``)."""
        from autogluon.tabular import TabularPredictor

        predictor = TabularPredictor(label=meta["target"], problem_type=meta["task"], path=str(work / "model"),
                                     eval_metric=METRICS["autogluon"][meta["task"]], verbosity=1)  # fmt: skip
        predictor.fit(pd.read_parquet(train), time_limit=budget, presets=presets, num_cpus=CORES)

        def predict(features: Path) -> pd.DataFrame:
            X_test = pd.read_parquet(features)
            if meta["task"] == "regression":
                return pd.DataFrame({"prediction": predictor.predict(X_test).to_numpy()})
            proba = predictor.predict_proba(X_test)
            return _probabilities(proba, list(proba.columns))

        return predict

    return fit


def _free_port() -> int:
    """A port for H2O's server such that it and the next one (H2O's internal port) are free."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as other:
            if other.connect_ex(("127.0.0.1", port + 1)) != 0:
                return port
    raise RuntimeError("no free port pair for H2O")


def h2o(train: Path, meta: Meta, budget: float, work: Path) -> Predict:
    """H2O AutoML with max_runtime_secs, on a fresh local server of its own (JVM, nthreads=2)."""
    import h2o as h2o_module
    from h2o.automl import H2OAutoML

    h2o_module.init(nthreads=CORES, port=_free_port(), ice_root=str(work), verbose=False)
    h2o_module.no_progress()
    frame = h2o_module.import_file(str(train.resolve()))
    if meta["task"] != "regression":
        frame[meta["target"]] = frame[meta["target"]].asfactor()
    automl = H2OAutoML(max_runtime_secs=round(budget), seed=0, sort_metric=METRICS["h2o"][meta["task"]])
    automl.train(y=meta["target"], training_frame=frame)
    levels = frame[meta["target"]].levels()[0] if meta["task"] != "regression" else []

    def predict(features: Path) -> pd.DataFrame:
        scored = automl.leader.predict(h2o_module.import_file(str(features.resolve()))).as_data_frame()
        h2o_module.cluster().shutdown()
        if meta["task"] == "regression":
            return pd.DataFrame({"prediction": scored["predict"].to_numpy()})
        return _probabilities(scored.iloc[:, 1:], levels)  # after "predict", one column per level, in order

    return predict


def hgb(train: Path, meta: Meta, budget: float, work: Path) -> Predict:
    """scikit-learn's HistGradientBoosting with defaults; categories from the dtype (text past 255 levels
    as codes), dates as seconds."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    X = pd.read_parquet(train)
    y = X.pop(meta["target"])
    encode = _hgb_encoder(X)
    kind = HistGradientBoostingRegressor if meta["task"] == "regression" else HistGradientBoostingClassifier
    model = kind(categorical_features="from_dtype", random_state=0).fit(encode(X), y)

    def predict(features: Path) -> pd.DataFrame:
        X_test = encode(pd.read_parquet(features))
        if meta["task"] == "regression":
            return pd.DataFrame({"prediction": model.predict(X_test)})
        return _probabilities(pd.DataFrame(model.predict_proba(X_test)), list(model.classes_))

    return predict


def _hgb_encoder(X: pd.DataFrame) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Text columns as categories with the training levels, dates as seconds since 1970."""
    dates = [name for name in X.columns if pd.api.types.is_datetime64_any_dtype(X[name])]
    texts = [name for name in X.columns if not pd.api.types.is_numeric_dtype(X[name]) and name not in dates
             and not pd.api.types.is_bool_dtype(X[name])]  # fmt: skip
    levels = {name: pd.CategoricalDtype(sorted(X[name].dropna().unique())) for name in texts}

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for name in dates:
            frame[name] = (frame[name] - pd.Timestamp(0)).dt.total_seconds()
        for name, dtype in levels.items():
            frame[name] = frame[name].astype(dtype)
            if len(dtype.categories) > 255:  # HGB's limit for a categorical feature
                frame[name] = frame[name].cat.codes.astype("float64").where(frame[name].notna())
        return frame

    return encode


FIT = {"lathe": lathe, "flaml": flaml, "autogluon": _autogluon(None), "autogluon-best": _autogluon("best_quality"),
       "h2o": h2o, "plainml": plainml, "hgb": hgb}  # fmt: skip
# The package whose version each tool reports.
DISTRIBUTION = {"lathe": "lathe", "flaml": "flaml", "hgb": "scikit-learn", "h2o": "h2o", "plainml": "plainml",
                "autogluon": "autogluon.tabular", "autogluon-best": "autogluon.tabular"}  # fmt: skip


def main() -> None:
    """Fit, predict, write the predictions and timings."""
    tool, data, budget, work = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
    meta = json.loads((data / "meta.json").read_text())
    try:
        started = time.perf_counter()
        predict = FIT[tool](data / "train.parquet", meta, budget, work)
        trained = time.perf_counter()
        predict(data / "test_features.parquet").to_parquet(work / "predictions.parquet")
        timing = {
            "train_s": trained - started,
            "predict_s": time.perf_counter() - trained,
            "version": f"{DISTRIBUTION[tool]} {version(DISTRIBUTION[tool])}",
        }
    except Exception as error:
        traceback.print_exc()
        print(f"error: {type(error).__name__}: {error}".replace("\n", " "), flush=True)
        sys.exit(1)
    (work / "timing.json").write_text(json.dumps(timing))


if __name__ == "__main__":
    main()
