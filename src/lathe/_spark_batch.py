"""``lathe batch --engine spark``: a model's predictions for a source, scored in Spark's executors.

The source is read into the SparkSession at ``master`` (see ``lathe.backends.read_spark``); its
rows go to the executors' Python workers as Arrow batches (``mapInArrow``), each worker loads the
bundle once (checked against the manifest's digest, as ``lathe batch`` does) and scores with
``Bundle.predict``, and Spark writes the predictions to the folder ``out`` as Parquet, whole or
not at all. On a cluster the executors need lathe installed and the bundle folder and ``out`` on a
shared file system. Spark retries a failed task itself: there is no resuming a half-written folder.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lathe import _display, _outputs, backends, errors
from lathe import bundle as bundles
from lathe import registry as registries
from lathe._engine import open_on
from lathe.batch import _load, _scored_table

_bundles: dict[str, bundles.Bundle] = {}  # in an executor's Python worker: the bundles it has loaded


@dataclass(frozen=True)
class SparkBatchResult:
    """What a run on Spark did: rows scored, part files written, the model, the folder."""

    rows: int
    parts: int
    model: str
    out: Path


def score_on_spark(
    model: str | Path,
    source: str | Path,
    out: str | Path,
    *,
    table: str | None = None,
    query: str | None = None,
    master: str | None = None,
    batch_rows: int = 100_000,
    registry: str | Path | None = None,
    store: str | Path | None = None,
) -> SparkBatchResult:
    """Score every row of ``source`` with ``model`` in Spark; write the predictions to the folder ``out``.

    ``model`` as for ``lathe.batch.score``; ``batch_rows`` bounds the rows of one Arrow batch.
    """
    if batch_rows < 1:
        raise errors.InvalidParameterError(f"--chunk-rows must be 1 or more; got {batch_rows}")
    folder = Path(out)
    if folder.exists():
        raise errors.InvalidParameterError(f"{folder}: exists; Spark writes a new folder whole, so name another")
    _outputs.check_output_folder(folder)
    scorer = registries.open_model(model, registry, store)
    where, rows = open_on("spark", master, source, table, query)
    score = functools.partial(_score, str(scorer.folder), scorer.manifest_sha256)
    first = backends.fetch(rows.limit(10)).to_batches()
    schema = _spark_schema(score(first[0] if first else pa.RecordBatch.from_pylist([], rows.schema().to_pyarrow())))
    _display.status(f"scoring {where} with {scorer.name} in Spark (Arrow batches through the bundle)")
    backends.write_scored(rows, score, schema, folder, batch_rows)
    parts = sorted(folder.glob("*.parquet"))
    total = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
    _display.status(f"scored {total:,} rows into {folder} ({len(parts)} part files)")
    return SparkBatchResult(total, len(parts), scorer.name, folder)


def _score(folder: str, manifest_sha256: str, batch: pa.RecordBatch) -> pa.Table:
    """One batch's predictions as ``lathe batch`` writes them; the bundle loaded once per worker."""
    if folder not in _bundles:
        _bundles[folder] = _load(Path(folder), manifest_sha256)
    chunk = pa.Table.from_batches([batch])
    return _scored_table(_bundles[folder], chunk, _bundles[folder].predict(chunk.to_pandas()))


def _spark_schema(scored: pa.Table) -> pa.Schema:
    """The schema of ``scored`` in types Spark takes from Arrow (text as ``string``, not ``large_string``)."""
    fields = [
        field.with_type(pa.string()) if pa.types.is_large_string(field.type) else field for field in scored.schema
    ]
    return pa.schema(fields)
