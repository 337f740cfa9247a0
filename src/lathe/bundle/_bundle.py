"""The bundle: a folder holding everything needed to score, explain and audit a model."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lathe._tables import html_block
from lathe.bundle._compiled import CompiledScorer
from lathe.bundle._files import sha256, write_folder
from lathe.bundle._program_cache import compiled_scorer
from lathe.errors import BundleError, BundleIntegrityError, BundleNotFoundError
from lathe.explain import DEFAULT_TOP, Explainer, effects, reason_codes
from lathe.features import FeaturePlan
from lathe.profile import Task
from lathe.search import Leaderboard, Model, decided, load_model

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
PLAN = "plan.json"
LEADERBOARD = "leaderboard.csv"
REPORT = "report.html"
SAMPLE = "sample.parquet"
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class Bundle:
    """A trained model with its plan, manifest, leaderboard and report.

    ``manifest`` is plain JSON data: task, target, classes, inputs, metrics, lineage.
    ``sample`` holds up to ``SAMPLE_ROWS`` holdout rows of the inputs, coerced to their kinds:
    the rows every export is checked on when it is written.
    """

    manifest: dict[str, Any]
    plan: FeaturePlan
    model: Model
    leaderboard: Leaderboard
    report_html: str = ""
    sample: pd.DataFrame | None = None
    folder: Path | None = None  # where it was loaded from: the compiled scorer's cache is kept there

    @property
    def threshold(self) -> float | None:
        """For binary: the probability of the positive class at which it is predicted (tuned
        for the metric); None: the more probable class."""
        value = self.manifest.get("threshold")
        return None if value is None else float(value)

    @property
    def task(self) -> Task:
        """What the model predicts."""
        return Task(self.manifest["task"])

    @property
    def classes(self) -> list[Any]:
        """Class labels in probability-column order (empty for regression)."""
        return list(self.manifest.get("classes") or [])

    @property
    def ids(self) -> list[str]:
        """Columns copied from the input to identify scored rows."""
        return list(self.manifest.get("ids") or [])

    @cached_property
    def scorer(self) -> CompiledScorer | None:
        """The compiled scorer every ``predict`` goes through (see ``lathe.bundle._compiled``),
        made on first use or read from the cache in the bundle's folder; ``None`` where the model
        cannot be compiled."""
        return compiled_scorer(self.plan, self.model, self.task, len(self.classes), self.folder)

    @cached_property
    def explainer(self) -> Explainer:
        """Exact contributions of the raw columns to the model's margin (see ``lathe.explain``)."""
        return Explainer(self.plan, self.model)

    def _summary(self) -> tuple[str, list[str]]:
        m = self.manifest
        kind = "regression" if self.task is Task.REGRESSION else f"{self.task.value} classification"
        classes = f" (classes: {', '.join(map(str, self.classes))})" if self.classes else ""
        names = [c["name"] for c in m.get("inputs", [])]
        shown = ", ".join(names[:12]) + (f", ... {len(names) - 12} more" if len(names) > 12 else "")
        metrics = m.get("metrics", {})
        scores = [f"{where} " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.get(where, {}).items())
                  for where in ("cv", "holdout") if metrics.get(where)]  # fmt: skip
        data = m.get("data", {})
        lines = [
            f"inputs: {len(names)} ({shown})",
            f"model: {m.get('model', {}).get('family', '?')}" + (f"; {'; '.join(scores)}" if scores else ""),
            f"trained on {data.get('train_rows', 0):,} rows of {data.get('source', '?')}, {m.get('created', '?')}",
        ]
        return f"Bundle: {kind} of {m.get('target')!r}{classes}", lines

    def __repr__(self) -> str:
        title, lines = self._summary()
        return "\n".join([title, *(f"  {line}" for line in lines)])

    def _repr_html_(self) -> str:
        title, lines = self._summary()
        return html_block(title, lines, self.leaderboard._repr_html_())

    def predict(self, frame: pd.DataFrame, compiled: bool = True) -> pd.DataFrame:
        """Score ``frame`` row for row: id columns, ``prediction``, and ``probability_<class>``.

        ``compiled``: through the compiled scorer (``scorer``); else through the reference path,
        the plan's pandas transforms and the model's own ``predict``, which it equals.
        """
        scorer = self.scorer if compiled else None
        raw = scorer.predict(frame) if scorer else self.model.predict(self.plan.transform(frame))
        return self._predictions(frame, raw)

    def predict_rows(self, rows: Sequence[Mapping[str, Any]], compiled: bool = False) -> list[dict[str, Any]]:
        """``predict`` for rows given as mappings (parsed JSON), as one JSON-ready dict per row.

        The fast path for a few rows at a time (serving): no DataFrame is built. For thousands
        of rows, ``predict`` on a DataFrame is faster. The plan's own row path is the default:
        for one row it measured faster than the compiled scorer (bench/score.py: 53 against
        86 µs), whose per-value checks in Python cost more than its loop saves; ``compiled``
        scores through the compiled scorer.
        """
        scorer = self.scorer if compiled else None
        raw = scorer.predict_rows(rows) if scorer else self.model.predict(self.plan.transform_rows(rows))
        return self._records(rows, raw)

    def _records(self, rows: Sequence[Mapping[str, Any]], predicted: np.ndarray) -> list[dict[str, Any]]:
        """``predict_rows``' dicts for ``rows`` and their ``predicted`` probabilities or numbers."""
        raw = predicted.tolist()
        ids = [[(name, row[name]) for name in self.ids if name in row] for row in rows]
        if self.task is Task.REGRESSION:
            return [{**dict(named), "prediction": value} for named, value in zip(ids, raw, strict=True)]
        keys, classes, threshold = self._probability_keys, self.classes, self.threshold
        out = []
        for named, probabilities in zip(ids, raw, strict=True):
            if threshold is None:
                best = max(range(len(probabilities)), key=probabilities.__getitem__)
            else:
                best = int(probabilities[1] >= threshold)
            out.append({**dict(named), "prediction": classes[best], **dict(zip(keys, probabilities, strict=True))})
        return out

    @cached_property
    def _probability_keys(self) -> list[str]:
        return [f"probability_{label}" for label in self.classes]

    def explain(self, frame: pd.DataFrame, top: int = DEFAULT_TOP) -> pd.DataFrame:
        """``predict``'s columns, plus why: ``base_value``, ``contribution_<column>`` and ``reasons``.

        Contributions are in the units of the prediction: the probability of the explained
        class (the positive class for binary, the predicted one for multiclass; named in
        ``explained``) or the predicted number. ``base_value`` plus the contributions equals
        that probability or number; ``reasons`` names the ``top`` strongest pushes.
        """
        scorer = self.scorer
        X = scorer.features(frame) if scorer else self.plan.transform(frame)
        raw = scorer.predict_features(X) if scorer else self.model.predict(X)
        out = self._predictions(frame, raw)
        output = np.argmax(raw, axis=1) if self.task is Task.MULTICLASS else np.zeros(len(X), dtype=int)
        base, push = effects(self.explainer.explain_features(X), self.task, output)
        subjects = self._subjects(output)
        if self.task is not Task.REGRESSION:
            out["explained"] = np.asarray(self._explained_labels(), dtype=object)[output]
        out["base_value"] = base
        for j, column in enumerate(self.explainer.columns):
            out[f"contribution_{column}"] = push[:, j]
        out["reasons"] = reason_codes(push, self.explainer.columns, frame, subjects, top)
        return out

    def explain_rows(self, rows: Sequence[Mapping[str, Any]], top: int = DEFAULT_TOP) -> list[dict[str, Any]]:
        """``explain`` for rows given as mappings (parsed JSON), as one JSON-ready dict per row:
        ``predict_rows``' fields, ``base_value``, ``contributions`` by column, ``reasons``."""
        scorer = self.scorer
        if scorer is None:
            return _explained_records(self.explain(pd.DataFrame(list(rows)), top))
        X = scorer.features_of_batch(scorer.batch_of_rows(rows))
        raw = scorer.predict_features(X)
        output = np.argmax(raw, axis=1) if self.task is Task.MULTICLASS else np.zeros(len(X), dtype=int)
        base, push = effects(self.explainer.explain_features(X), self.task, output)
        columns = self.explainer.columns
        values = {name: [row[name] for row in rows] for name in columns}
        reasons = reason_codes(push, columns, values, self._subjects(output), top)
        labels = self._explained_labels()
        out = []
        for i, record in enumerate(self._records(rows, raw)):
            record = {k: _missing_as_none(v) for k, v in record.items()}
            if self.task is not Task.REGRESSION:
                record["explained"] = labels[output[i]]
            shares = dict(zip(columns, push[i].tolist(), strict=True))
            out.append(record | {"base_value": float(base[i]), "reasons": reasons[i], "contributions": shares})
        return out

    def _explained_labels(self) -> list[Any]:
        return self.classes[1:] if self.task is Task.BINARY else self.classes

    def _subjects(self, output: np.ndarray) -> list[str]:
        target = self.manifest["target"]
        if self.task is Task.REGRESSION:
            return [f"the predicted {target}"] * len(output)
        labels = [f"the probability of {target} = {label}" for label in self._explained_labels()]
        return [labels[k] for k in output]

    def _predictions(self, frame: pd.DataFrame, raw: np.ndarray) -> pd.DataFrame:
        out = pd.DataFrame({name: frame[name].to_numpy() for name in self.ids if name in frame.columns})
        if self.task is Task.REGRESSION:
            out["prediction"] = raw
            return out
        labels = np.asarray(self.classes, dtype=object)
        out["prediction"] = labels[decided(raw, self.threshold)]
        for i, label in enumerate(self.classes):
            out[f"probability_{label}"] = raw[:, i]
        return out

    def save(self, path: str | Path) -> Path:
        """Write the bundle to the folder ``path`` whole, replacing what is there; return it."""
        target = check_bundle_folder(path)
        write_folder(target, self._write)
        return target

    def _write(self, folder: Path) -> None:
        (folder / PLAN).write_text(json.dumps(self.plan.to_dict(), indent=1))
        model_file = self.model.save(folder)
        _write_leaderboard(folder / LEADERBOARD, self.leaderboard)
        if self.report_html:
            (folder / REPORT).write_text(self.report_html, encoding="utf-8")
        if self.sample is not None:
            self.sample.to_parquet(folder / SAMPLE, index=False)
        files = {p.name: sha256(p) for p in sorted(folder.iterdir())}
        manifest = {**self.manifest, "schema_version": SCHEMA_VERSION, "files": files}
        manifest["model"] = {**manifest.get("model", {}), "file": model_file}
        manifest["leaderboard"] = self.leaderboard.to_dict()
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str))


def check_bundle_folder(path: str | Path) -> Path:
    """``path`` as a folder a bundle may be saved to, whole, replacing what is there: new, empty,
    or a bundle; checked before a training as well as when saving."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise BundleError(f"{target}: is a file; choose a folder for the bundle")
    if target.exists() and not (target / MANIFEST).is_file() and any(target.iterdir()):
        raise BundleError(f"{target}: exists and is not a lathe bundle; choose an empty or new folder")
    return target


def _explained_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``explain``'s frame as ``explain_rows``' dicts."""
    shares = [c for c in frame.columns if c.startswith("contribution_")]
    out = []
    for record in frame.to_dict("records"):
        contributions = {c.removeprefix("contribution_"): record.pop(c) for c in shares}
        out.append({k: _missing_as_none(v) for k, v in record.items()} | {"contributions": contributions})
    return out


def _missing_as_none(value: Any) -> Any:
    return None if isinstance(value, float) and np.isnan(value) else value


def load_bundle(path: str | Path) -> Bundle:
    """Load the bundle saved in folder ``path``, checking every file against its checksum."""
    folder = Path(path)
    if not (folder / MANIFEST).is_file():
        raise BundleNotFoundError(f"{folder}: no bundle here (no {MANIFEST}); train one with `lathe train`")
    manifest = _read_json(folder / MANIFEST)
    _verify(folder, manifest)
    task = Task(manifest["task"])
    model_info = manifest["model"]
    model = load_model(folder, model_info["family"], model_info["file"], task)
    plan = FeaturePlan.from_dict(_read_json(folder / PLAN))
    report = (folder / REPORT).read_text(encoding="utf-8") if (folder / REPORT).exists() else ""
    leaderboard = Leaderboard.from_dict(manifest["leaderboard"])
    sample = pd.read_parquet(folder / SAMPLE) if (folder / SAMPLE).exists() else None
    return Bundle(manifest, plan, model, leaderboard, report_html=report, sample=sample, folder=folder)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleIntegrityError(f"{path}: cannot be read as JSON ({exc}); the bundle is damaged") from None
    if not isinstance(data, dict):
        raise BundleIntegrityError(f"{path}: expected a JSON object; the bundle is damaged")
    return data


def _verify(folder: Path, manifest: dict[str, Any]) -> None:
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleIntegrityError(
            f"{folder}: bundle format {manifest.get('schema_version')!r} is not {SCHEMA_VERSION}; "
            "retrain it with this version of lathe"
        )
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise BundleIntegrityError(f"{folder}: file {name} listed in the manifest is missing")
        if sha256(path) != expected:
            raise BundleIntegrityError(f"{folder}: file {name} does not match its checksum; it was changed or damaged")


def _write_leaderboard(path: Path, leaderboard: Leaderboard) -> None:
    rows = leaderboard.rows()
    fields = [
        "rank", "number", "family", "cv_score", "cv_std", "fit_seconds", "predict_seconds_per_1k", "elapsed_seconds",
        "rounds", "latency_ms", "size_mb", "within_limits", "params",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "params": json.dumps(row["params"], sort_keys=True)})
