"""Retraining: a challenger trained on new rows against the registry's champion, promoted only on evidence.

``retrain`` re-runs the champion's settings on the new rows, its search warm-started from the
champion's winning configurations, and scores champion and challenger on the same holdout of the
new rows: the rows ``lathe train`` keeps back (the latest by the champion's time column where it
has one, else a seeded random draw), which the challenger's search never sees. The challenger is
promoted to production only where the 95% paired bootstrap interval of the metric gain lies above
``min_gain``; otherwise it is registered in staging. See ``docs/retraining.md``.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lathe import _display
from lathe._outputs import check_output_file
from lathe.backends import close, count_rows, open_table, sampled, to_frame
from lathe.bundle import Bundle
from lathe.errors import ColumnNotFoundError, InvalidParameterError, TargetError
from lathe.profile import Task
from lathe.registry import OpenedModel, Registry, open_model
from lathe.report import bootstrap_interval, render_retrain
from lathe.search import Leaderboard, Metric, metric_for, metrics_for
from lathe.workflows import HOLDOUT_SHARE, MAX_ROWS, fingerprint, holdout_rows, train, write_text

BUDGET_SHARE = 0.5  # of the champion's training time, the challenger's default budget
MIN_BUDGET = 30.0  # seconds: the least default budget
WARM_STARTS = 3  # the champion's configurations the challenger's search tries first


@dataclass(frozen=True)
class Retraining:
    """What ``retrain`` did: the champion and the challenger (registry versions), their scores on
    the holdout of the new rows, the paired gain with its interval, and whether it was promoted."""

    name: str
    champion: int
    challenger: int
    stage: str
    metric: str
    greater_is_better: bool
    min_gain: float
    promoted: bool
    scores: dict[str, Any]  # per model ("champion", "challenger"): the metric, its interval, every metric
    gain: float
    interval: dict[str, Any] | None
    holdout: dict[str, Any]  # rows, how they were chosen, fingerprint
    data: dict[str, Any]  # source, rows learnt from, fingerprint
    search: dict[str, Any]  # budget, trials, warm starts, the winners' families
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """One line: what happened, and the figures that decided it."""
        said = self.scores
        figures = (
            f"{self.metric} {said['challenger']['value']:.4g} against {said['champion']['value']:.4g} on "
            f"{self.holdout['rows']:,} held-out rows; gain {self.gain:+.4g} ({_interval(self.interval)})"
        )
        if self.promoted:
            return (
                f"PROMOTED: {self.name} version {self.challenger} is in production, over version {self.champion}: "
                f"{figures}, above --min-gain {self.min_gain:g}"
            )
        return (
            f"KEPT: {self.name} version {self.champion} stays; challenger version {self.challenger} is in "
            f"{self.stage}: {figures}, not above --min-gain {self.min_gain:g}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, the verdict included."""
        return {"verdict": self.verdict, **dataclasses.asdict(self), "notes": list(self.notes)}


def retrain(
    model: str, data: str | Path | pd.DataFrame, *, table: str | None = None, query: str | None = None,
    budget: float | None = None, trials: int | None = None, min_gain: float = 0.0,
    out: str | Path | None = "retrain.html", registry: str | Path | None = None, store: str | Path | None = None,
    verbose: bool = True,
) -> Retraining:  # fmt: skip
    """Train a challenger to the registered model ``model`` (``NAME``: its production version, or
    ``NAME:N``) on ``data``, compare the two on the same held-out rows, and register the
    challenger: in production where the gain's interval lies above ``min_gain``, else in staging.

    ``budget`` (seconds) bounds the challenger's training; by default half the champion's, at
    least 30 s. ``trials`` caps its candidates (alone: no clock). With ``out`` (.html), the page
    is written there and the figures as JSON beside it. Bad input (an unknown name, a bundle
    folder, rows lacking a column the champion reads) raises before anything is trained or
    registered.
    """
    _check(budget, trials, min_gain, out)
    _display.console.quiet = not verbose
    champion = _champion(model, registry, store)
    manifest = champion.bundle.manifest
    settings = _settings(manifest)
    where, frame = _read(data, table, query, manifest)
    holdout = _holdout(frame, manifest, settings)
    metric = metric_for(champion.bundle.task, manifest["metric"])
    old = _scored(champion.bundle, holdout)  # before the training: rows the champion cannot read fail now
    starts = warm_starts(champion.bundle.leaderboard)
    budget = _budget(manifest, budget, trials)
    _display.status(
        f"training the challenger to {champion.label} on {len(frame):,} rows, warm-started from "
        f"{len(starts)} of its configurations" + ("" if budget is None else f", within {budget:.0f} s")
    )
    challenger = train(
        frame, manifest["target"], budget=budget, trials=trials, max_rows=None, verbose=verbose, starts=starts,
        **settings,
    )  # fmt: skip
    _display.status(f"scoring the champion and the challenger on the {len(holdout.rows):,} held-out rows")
    compared = _compare(metric, holdout.y, (champion.bundle, old), (challenger, _scored(challenger, holdout)))
    promoted = compared["interval"] is not None and compared["interval"]["low"] > min_gain
    result = Retraining(
        name=champion.name, champion=champion.version or 0, challenger=0, stage="production" if promoted else "staging",
        metric=metric.name, greater_is_better=metric.greater_is_better, min_gain=min_gain, promoted=promoted,
        scores=compared["scores"], gain=compared["gain"], interval=compared["interval"],
        holdout={"rows": len(holdout.rows), "chosen": holdout.chosen, "fingerprint": fingerprint(holdout.rows)},
        data={"source": where, "rows": len(frame), "fingerprint": challenger.manifest["data"]["fingerprint"]},
        search=_search(budget, starts, champion.bundle, challenger), notes=_notes(champion.bundle, challenger),
    )  # fmt: skip
    result = _register(result, champion, challenger, registry, store)
    _written(result, out)
    return result


@dataclass(frozen=True)
class _Holdout:
    rows: pd.DataFrame
    y: np.ndarray
    chosen: str  # how the rows were chosen, in words


def _check(budget: float | None, trials: int | None, min_gain: float, out: str | Path | None) -> None:
    if budget is not None and not budget > 0:
        raise InvalidParameterError(f"budget must be a positive number of seconds, got {budget}")
    if trials is not None and trials < 1:
        raise InvalidParameterError(f"trials must be at least 1, got {trials}")
    if not np.isfinite(min_gain):
        raise InvalidParameterError(f"min_gain must be a number (the metric's units), got {min_gain}")
    if out is not None:
        check_output_file(out, (".html",))  # its JSON goes beside it


def _champion(model: str, registry: str | Path | None, store: str | Path | None) -> OpenedModel:
    """The registered model ``model`` names; a bundle folder is refused: a challenger needs a name to join."""
    opened = open_model(model, registry, store)
    if opened.registered is None:
        raise InvalidParameterError(
            f"{model}: is a bundle folder, not a registered model; register it first "
            f"(lathe registry add {model} --name NAME --stage production), then run lathe retrain NAME"
        )
    return opened


def _settings(manifest: dict[str, Any]) -> dict[str, Any]:
    """The champion's training settings that its manifest records, as ``train``'s arguments."""
    data, board = manifest["data"], manifest["leaderboard"]
    personal = {c["name"] for c in manifest["profile"]["columns"] if c.get("personal")}
    left_out = {item["column"] for item in manifest["left_out"]}
    kept_leaks = any(leak["strong"] and leak["column"] not in left_out for leak in manifest["leakage"])
    shown = data["train_rows"] + data["holdout_rows"]
    share = round(data["holdout_rows"] / shown, 2) if data["holdout_rows"] else HOLDOUT_SHARE  # a comparison needs one
    return {
        "task": manifest["task"], "metric": manifest["metric"], "seed": manifest["search"]["seed"],
        "weight": data["weight"], "time": data["time"], "group": data["group"], "holdout": share,
        "keep_pii": any(c["name"] in personal for c in manifest["inputs"]), "keep_suspected_leaks": kept_leaks,
        "max_latency_ms": board.get("max_latency_ms"), "max_size_mb": board.get("max_size_mb"),
    }  # fmt: skip


def _read(
    data: str | Path | pd.DataFrame, table: str | None, query: str | None, manifest: dict[str, Any]
) -> tuple[str, pd.DataFrame]:
    """The new rows' description and the columns the champion was trained on (at most ``MAX_ROWS``
    rows, a random sample drawn where the data lives past that); refused where the target, a role
    column or an input the champion reads is missing."""
    _display.status("reading the new rows")
    where, rows = open_table(data, table, query)
    try:
        columns = list(rows.columns)
        needed = {manifest["target"]: "target"} | {manifest["data"][r]: r for r in ("weight", "time", "group")
                                                   if manifest["data"][r]}  # fmt: skip
        needed |= {c["name"]: "the champion's input column" for c in manifest["inputs"]}
        for name, role in needed.items():
            if name not in columns:
                raise ColumnNotFoundError.for_name(name, columns, what=role)
        seen = [c["name"] for c in manifest["profile"]["columns"] if c["name"] in columns]
        picked = rows.select(*seen)
        count = count_rows(picked)
    except BaseException:
        close(rows)
        raise
    if count > MAX_ROWS:
        _display.status(f"learning from a random sample of about {MAX_ROWS:,} of the {count:,} new rows")
        picked = sampled(picked, MAX_ROWS / count, manifest["search"]["seed"])
    return where, to_frame(picked)


def _holdout(frame: pd.DataFrame, manifest: dict[str, Any], settings: dict[str, Any]) -> _Holdout:
    """The rows ``train`` will keep back from ``frame`` with the champion's settings, their target
    coded as the champion's classes (refused where the classes differ)."""
    target, task = manifest["target"], Task(manifest["task"])
    rows, y, classes = holdout_rows(
        frame, target, task, seed=settings["seed"], holdout=settings["holdout"], weight=settings["weight"],
        time=settings["time"], group=settings["group"],
    )  # fmt: skip
    if task is not Task.REGRESSION and [str(c) for c in classes] != [str(c) for c in manifest["classes"]]:
        raise TargetError(
            f"the new rows' classes of {target!r} ({', '.join(map(str, classes))}) are not the champion's "
            f"({', '.join(map(str, manifest['classes']))}); a model of other classes is a new model: lathe train"
        )
    share = f"{settings['holdout']:.0%}"
    if settings["time"]:
        chosen = f"the latest {share} of the new rows by {settings['time']}"
    elif settings["group"]:
        chosen = f"{share} of the new rows' {settings['group']} groups, drawn at random (seed {settings['seed']})"
    else:
        chosen = f"{share} of the new rows, drawn at random (seed {settings['seed']})"
    return _Holdout(rows, y, chosen)


def _scored(bundle: Bundle, holdout: _Holdout) -> np.ndarray:
    """``bundle``'s raw predictions for the holdout rows: class probabilities, or numbers."""
    return np.asarray(bundle.model.predict(bundle.plan.transform(holdout.rows)))


def warm_starts(board: Leaderboard, count: int = WARM_STARTS) -> list[tuple[str, dict[str, Any]]]:
    """The champion's winning configurations, (family, parameters), best first: a blend's members,
    or its winner, then the next best candidates, ``count`` in all (at least the blend's members)."""
    ranked = [c for c in board.ranked() if c.family != "blend"]
    best = board.best
    if best.family == "blend":
        members = {int(n) for n, _ in best.params["members"]}
        ranked = [c for c in ranked if c.number in members] + [c for c in ranked if c.number not in members]
        count = max(count, len(members))
    starts: list[tuple[str, dict[str, Any]]] = []
    for candidate in ranked:
        if (candidate.family, candidate.params) not in starts:
            starts.append((candidate.family, candidate.params))
    return starts[:count]


def _budget(manifest: dict[str, Any], budget: float | None, trials: int | None) -> float | None:
    """The challenger's budget: ``budget``; none with ``trials`` alone; else half the champion's
    training time, at least ``MIN_BUDGET``."""
    if budget is not None or trials is not None:
        return budget
    return max(MIN_BUDGET, BUDGET_SHARE * float(manifest["timings"]["train_seconds"]))


def _compare(
    metric: Metric, y: np.ndarray, champion: tuple[Bundle, np.ndarray], challenger: tuple[Bundle, np.ndarray]
) -> dict[str, Any]:
    """Both models' metrics on the holdout, with intervals, and the paired gain (challenger less
    champion, signed so that positive is better) with its bootstrap interval over the same rows."""
    (old, old_raw), (new, new_raw) = champion, challenger
    classes = old_raw.shape[1] if old_raw.ndim > 1 else 1

    def score(raw: np.ndarray, threshold: float | None, rows: np.ndarray) -> float:
        return metric.signed(metric(y[rows], raw[rows], threshold))

    def gain(rows: np.ndarray) -> float:
        return score(new_raw, new.threshold, rows) - score(old_raw, old.threshold, rows)

    everything = {**metrics_for(old.task), metric.name: metric}
    scores = {
        "champion": _scores(metric, everything, y, old_raw, old.threshold),
        "challenger": _scores(metric, everything, y, new_raw, new.threshold),
    }
    interval = bootstrap_interval(gain, len(y), classes=classes)
    return {"scores": scores, "gain": gain(np.arange(len(y))), "interval": interval}


def _scores(
    metric: Metric, everything: dict[str, Metric], y: np.ndarray, raw: np.ndarray, threshold: float | None
) -> dict[str, Any]:
    """One model's ``metric`` on the holdout with its bootstrap interval, and ``everything`` else."""
    return {
        "value": metric(y, raw, threshold),
        "interval": bootstrap_interval(lambda rows: metric(y[rows], raw[rows], threshold), len(y),
                                       classes=raw.shape[1] if raw.ndim > 1 else 1),
        "metrics": {name: m(y, raw, threshold) for name, m in everything.items()},
    }  # fmt: skip


def _search(budget: float | None, starts: list[tuple[str, dict[str, Any]]], old: Bundle, new: Bundle) -> dict[str, Any]:
    return {
        "budget_seconds": budget,
        "trials": new.manifest["search"]["trials"],
        "timed_out": new.manifest["search"]["timed_out"],
        "warm_starts": [{"family": family, "params": params} for family, params in starts],
        "champion_model": old.manifest["model"]["family"],
        "challenger_model": new.manifest["model"]["family"],
        "train_seconds": new.manifest["timings"]["train_seconds"],
    }


def _notes(old: Bundle, new: Bundle) -> tuple[str, ...]:
    """What a reader should know beyond the verdict: inputs that changed (no hot swap)."""
    before, after = [c.name for c in old.plan.inputs], [c.name for c in new.plan.inputs]
    if old.plan.inputs == new.plan.inputs:
        return ()
    gone, added = [n for n in before if n not in after], [n for n in after if n not in before]
    changes = "; ".join(
        part for part in (f"no longer reads {', '.join(gone)}" if gone else "",
                          f"also reads {', '.join(added)}" if added else "") if part
    ) or "reads its inputs in other kinds or another order"  # fmt: skip
    return (
        f"The challenger takes other inputs than the champion ({changes}): a running `lathe serve` keeps the "
        "champion until it is restarted.",
    )


def _register(
    result: Retraining, champion: OpenedModel, challenger: Bundle, registry: str | Path | None,
    store: str | Path | None,
) -> Retraining:  # fmt: skip
    """``challenger``, its lineage in its manifest, registered as the next version of the champion's
    name in the result's stage; the result with its number."""
    lineage = {
        "parent": {"name": champion.name, "version": champion.version, "manifest_sha256": champion.manifest_sha256},
        "data": result.data, "holdout": result.holdout, "search": result.search,
        "comparison": {key: getattr(result, key) for key in
                       ("metric", "greater_is_better", "min_gain", "promoted", "scores", "gain", "interval")},
    }  # fmt: skip
    manifest = {**challenger.manifest, "data": {**challenger.manifest["data"], "source": result.data["source"]},
                "retrain": lineage}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="lathe-retrain-") as folder:
        dataclasses.replace(challenger, manifest=manifest).save(Path(folder) / "bundle")
        version = Registry(registry, store).add(Path(folder) / "bundle", champion.name, result.stage, champion.version)
    _display.status(f"registered the challenger as {version.label}, in {version.stage}")
    return dataclasses.replace(result, challenger=version.number)


def _written(result: Retraining, out: str | Path | None) -> None:
    if out is None:
        return
    data = result.to_dict()
    write_text(Path(out).with_suffix(".json"), json.dumps(data, indent=1, default=str))
    write_text(Path(out), render_retrain(data, f"Retraining {result.name}: champion against challenger"))


def _interval(interval: dict[str, Any] | None) -> str:
    if interval is None:
        return "no interval: too few held-out rows, or the metric undefined on most resamples"
    return f"{interval['level']:.0%} interval {interval['low']:+.4g} to {interval['high']:+.4g}"


__all__ = ["BUDGET_SHARE", "MIN_BUDGET", "WARM_STARTS", "Retraining", "retrain", "warm_starts"]
