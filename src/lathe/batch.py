"""Batch scoring, ``lathe batch``: a model's predictions for files or a table, in parallel chunks.

Each source is read as a stream of chunks of exactly ``chunk_rows`` rows (the last smaller),
so that chunk k of source i is always the same rows. A chunk is scored by one of ``workers``
processes and written whole to ``OUT/part-IIIII-KKKKKK.parquet`` (i the source, k the chunk)
under a temporary name, then renamed; its Parquet metadata records the model, the source, the
chunk's first row and a digest of the chunk's rows. ``OUT/_batch.json`` records what the run
is, and its totals once it has finished. A rerun into the same folder checks that it is the
same run, skips the parts already written (after checking that their rows are still the rows
of the source) and scores the rest.

>>> score("late", ["data/2014/01.parquet", "data/2014/02.parquet"], "scored")  # doctest: +SKIP
BatchResult(rows=1200000, parts=12, skipped=0, model='late version 3', out=PosixPath('scored'))
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from lathe import _display, _outputs, backends, errors, search, workflows
from lathe import bundle as bundles
from lathe import log as logs
from lathe import registry as registries

if TYPE_CHECKING:
    from lathe.registry import OpenedModel

__all__ = ["BATCH_FILE", "CHUNK_ROWS", "BatchResult", "score"]

CHUNK_ROWS = 100_000
BATCH_FILE = "_batch.json"
SCHEMA_VERSION = 1
IN_FLIGHT = 2  # chunks sent ahead per worker: enough to keep each busy, few enough to bound memory
_MANIFEST = "manifest.json"
_ROWS_KEY = "lathe.rows_sha256"
_COMPARED = (
    ("manifest_sha256", "the model"),
    ("sources", "the sources"),
    ("table", "--table"),
    ("query", "--query"),
    ("chunk_rows", "the chunk size (--chunk-rows)"),
)


@dataclass(frozen=True)
class BatchResult:
    """What a run did: rows scored and parts written by it, parts found done already, the model, the folder."""

    rows: int
    parts: int
    skipped: int
    model: str
    out: Path


def _model_metadata(model: OpenedModel) -> dict[str, str]:
    """The model's keys in every part's Parquet metadata."""
    named = (
        {} if model.registered is None else {"lathe.model_name": model.name, "lathe.model_version": str(model.version)}
    )
    return {
        "lathe.model": model.label, **named, "lathe.bundle": str(model.folder),
        "lathe.manifest_sha256": model.manifest_sha256,
    }  # fmt: skip


@dataclass(frozen=True)
class _Part:
    """One chunk to score and write: its source's index, the part's path, the rows as an Arrow IPC stream,
    the part's metadata."""

    source: int
    path: Path
    rows: bytes
    metadata: dict[str, str]
    where: str  # the rows, in words, for an error message
    logged: bool = False  # whether the scored rows come back, for the prediction log


def score(
    model: str | Path,
    sources: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    table: str | None = None,
    query: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
    registry: str | Path | None = None,
    store: str | Path | None = None,
    log: str | None = None,
    log_table: str = logs.TABLE,
) -> BatchResult:
    """Score every row of ``sources`` with ``model``; write the predictions to the folder ``out`` as Parquet parts.

    ``model`` is a bundle folder, ``NAME`` (its production version in the registry at
    ``registry``) or ``NAME:N`` (see ``lathe.registry.open_model``). ``sources`` are files (or
    globs) or database URIs, with ``table`` or ``query`` for a database. Each part holds
    ``Bundle.predict``'s columns for ``chunk_rows`` rows, in the source's order; ``workers``
    processes score (default: one per core). Run again after a failure or a crash, the same
    call scores only the chunks not yet written.

    ``log``: a prediction log (``duckdb:///FILE`` or ``postgresql://...``; see ``lathe.log``) that
    the rows scored are appended to, in its table ``log_table``, as each part is written (the
    parts a rerun finds done are not logged again).
    """
    listed = [sources] if isinstance(sources, str | Path) else list(sources)
    _check_arguments(listed, chunk_rows, workers)
    _outputs.check_output_folder(out, inside=True)
    destination = logs.Log(log, log_table) if log is not None else None
    scorer = registries.open_model(model, registry, store)
    logger = _log_writer(destination, scorer) if destination is not None else None
    record = _record(scorer, [_label(s) for s in listed], table, query, chunk_rows)
    try:
        _claim(Path(out), record)
        with _Writer(scorer, workers or os.cpu_count() or 1, logger) as writer, _Bar(len(listed)) as bar:
            run = _Run(Path(out), record, scorer, writer, bar)
            for index, source in enumerate(listed):
                run.score_source(index, source)
            run.count(writer.finish())
    finally:
        if logger is not None:
            logger.close()
    return run.finish()


def _log_writer(log: logs.Log, model: OpenedModel) -> logs.Writer:
    name = model.name if model.registered is not None else Path(model.folder).name
    return log.writer(model.bundle, name, model.version, wait=True)


class _Run:
    """One run into a folder: which parts it found done, which it expects, and what it has written."""

    def __init__(self, folder: Path, record: dict[str, Any], model: OpenedModel, writer: _Writer, bar: _Bar) -> None:
        self.folder, self.record, self.model, self.writer, self.bar = folder, record, model, writer, bar
        self.done = {p.name for p in folder.glob("part-*.parquet")}
        self.expected: set[str] = set()
        self.rows = self.parts = self.skipped = self.skipped_rows = 0

    def score_source(self, index: int, source: str | Path) -> None:
        """Score the chunks of source ``index`` not yet written; skip those that are."""
        size = self.record["chunk_rows"]
        description, rows = backends.open_table(source, self.record["table"], self.record["query"])
        try:
            self.bar.start(index, description, rows)
            for first, chunk in backends.chunks(rows, size, description):
                name = f"part-{index:05d}-{first // size:06d}.parquet"
                self.expected.add(name)
                where = f"{description}, rows {first:,} to {first + chunk.num_rows - 1:,}"
                if name in self.done and _already_scored(self.folder / name, chunk, where, self.folder):
                    self.skipped, self.skipped_rows = self.skipped + 1, self.skipped_rows + chunk.num_rows
                    self.bar.advance(index, chunk.num_rows)
                    continue
                metadata = {**_model_metadata(self.model), **_source_metadata(self.record, index, first)}
                part = _Part(index, self.folder / name, _to_ipc(chunk), metadata, where, self.writer.log is not None)
                self.count(self.writer.put(part))
        finally:
            backends.close(rows)

    def count(self, finished: list[tuple[int, int]]) -> None:
        """Count parts written: (source index, rows) of each."""
        for index, rows in finished:
            self.rows, self.parts = self.rows + rows, self.parts + 1
            self.bar.advance(index, rows)

    def finish(self) -> BatchResult:
        """Check that no part is left from longer sources, record the totals, and say what was done."""
        _check_nothing_stale(self.folder, self.done - self.expected)
        totals = {"rows": self.rows + self.skipped_rows, "parts": self.parts + self.skipped}
        _write_json(self.folder / BATCH_FILE, {**self.record, "finished": _now(), **totals})
        already = f"; {self.skipped} part(s) were done already" if self.skipped else ""
        _display.status(
            f"scored {self.rows:,} rows with {self.model.label} into {self.folder} ({self.parts} part(s){already})"
        )
        return BatchResult(self.rows, self.parts, self.skipped, self.model.label, self.folder)


def _check_arguments(sources: list[str | Path], chunk_rows: int, workers: int | None) -> None:
    if not sources:
        raise errors.InvalidParameterError("give at least one source to score: a file, a glob or a database URI")
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise errors.InvalidParameterError(f"chunk_rows must be a whole number of rows, at least 1; got {chunk_rows!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise errors.InvalidParameterError(f"workers must be a whole number of processes, at least 1; got {workers!r}")
    for source in map(str, sources):
        if not backends.is_database(source) and not any(ch in source for ch in "*?[") and not os.path.exists(source):
            raise errors.SourceNotFoundError(f"{source}: no such file; check the path (current folder: {os.getcwd()})")


def _label(source: str | Path) -> str:
    """``source`` as the run records it: a database URI without its password, a file's absolute path."""
    text = str(source)
    return backends.describe(text) if backends.is_database(text) else os.path.abspath(text)


def _record(
    model: OpenedModel, sources: list[str], table: str | None, query: str | None, chunk_rows: int
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION, "model": model.label,
        "model_name": model.name if model.registered is not None else None,
        "model_version": model.version, "bundle": str(model.folder), "manifest_sha256": model.manifest_sha256,
        "sources": sources, "table": table, "query": query, "chunk_rows": chunk_rows, "started": _now(),
        "finished": None, "rows": None, "parts": None,
    }  # fmt: skip


def _source_metadata(record: dict[str, Any], index: int, first: int) -> dict[str, str]:
    rows = {key: record[key] for key in ("table", "query") if record[key] is not None}
    return {
        "lathe.source": record["sources"][index], **{f"lathe.{key}": value for key, value in rows.items()},
        "lathe.source_index": str(index), "lathe.first_row": str(first),
    }  # fmt: skip


# ---- the output folder ----------------------------------------------------------------


def _claim(folder: Path, record: dict[str, Any]) -> None:
    """Make ``folder`` this run's: new, empty, or holding the parts of the same run; record the run in it."""
    if folder.exists() and not folder.is_dir():
        raise errors.InvalidParameterError(f"{folder}: is a file; --out names a folder for the parts")
    earlier = _read_record(folder / BATCH_FILE)
    if earlier is None and folder.exists() and any(not _is_partial(p.name) for p in folder.iterdir()):
        raise errors.InvalidParameterError(
            f"{folder}: exists and holds files that are not a lathe batch run; choose another --out (new or empty)"
        )
    if earlier is not None:
        _check_same_run(folder, earlier, record)
    folder.mkdir(parents=True, exist_ok=True)
    for partial in folder.glob(".part-*.tmp"):  # left by a crash
        partial.unlink()
    _write_json(folder / BATCH_FILE, record)


def _is_partial(name: str) -> bool:
    return name.endswith(".tmp") and name.startswith((".part-", f".{BATCH_FILE}"))


def _read_record(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise errors.InvalidParameterError(
            f"{path}: cannot be read ({exc}); choose another --out, or remove the folder to start over"
        ) from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise errors.InvalidParameterError(f"{path}: is not a lathe batch record; choose another --out")
    return data


def _check_same_run(folder: Path, earlier: dict[str, Any], record: dict[str, Any]) -> None:
    differ = [(key, what) for key, what in _COMPARED if earlier.get(key) != record[key]]
    if not differ:
        return
    said = "; ".join(f"{what}: {_shown(earlier, key)} then, {_shown(record, key)} now" for key, what in differ)
    raise errors.InvalidParameterError(
        f"{folder} holds the parts of another batch run ({said}). "
        "Choose another --out, or remove the folder to start over"
    )


def _shown(record: dict[str, Any], key: str) -> str:
    if key == "manifest_sha256":
        return f"{record.get('model')} (manifest {str(record.get(key))[:12]})"
    value = record.get(key)
    if isinstance(value, list):
        return "[" + ", ".join(value[:3]) + (f", ... {len(value) - 3} more" if len(value) > 3 else "") + "]"
    return repr(value)


def _already_scored(path: Path, chunk: pa.Table, where: str, folder: Path) -> bool:
    """Whether the part at ``path`` holds this chunk's predictions (a part that cannot be read is scored again)."""
    try:
        recorded = (pq.read_schema(path).metadata or {}).get(_ROWS_KEY.encode())
    except (OSError, pa.ArrowException):
        return False
    if recorded is None:
        return False
    if recorded.decode() != workflows.fingerprint(chunk.to_pandas()):
        raise errors.InvalidParameterError(
            f"{where}: these rows are not the rows that {path.name} was scored from (the source changed since, "
            f"or its engine returns the rows in another order). Remove {folder} to score it all again"
        )
    return True


def _check_nothing_stale(folder: Path, stale: set[str]) -> None:
    if stale:
        listed = ", ".join(sorted(stale)[:3]) + (", ..." if len(stale) > 3 else "")
        raise errors.InvalidParameterError(
            f"{folder}: holds parts that the sources no longer have rows for ({listed}); they have fewer rows "
            "than when the parts were written. Remove the folder to score them all again"
        )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
    partial.replace(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---- sending chunks to the workers ----------------------------------------------------


def _to_ipc(chunk: pa.Table) -> bytes:
    """``chunk`` as an Arrow IPC stream: only its own rows (pickling a slice would send its whole parent)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, chunk.schema) as writer:
        writer.write_table(chunk)
    data: bytes = sink.getvalue().to_pybytes()
    return data


# ---- scoring and writing --------------------------------------------------------------


class _Writer:
    """Scores and writes parts: here for one worker, else in a pool of processes, each loading the bundle once.

    At most ``IN_FLIGHT`` chunks per worker are handed out at a time, so memory stays bounded
    however large the sources. The pool is started at the first chunk to score.
    """

    def __init__(self, model: OpenedModel, workers: int, log: logs.Writer | None = None) -> None:
        self.model, self.workers, self.log = model, workers, log
        self.pool: ProcessPoolExecutor | None = None
        self.pending: dict[Future[tuple[int, bytes | None]], _Part] = {}  # each chunk being scored

    def __enter__(self) -> _Writer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.pool is not None:  # on a failure, chunks being scored are finished and written, the rest dropped
            self.pool.shutdown(wait=True, cancel_futures=True)

    def put(self, part: _Part) -> list[tuple[int, int]]:
        """Score and write ``part`` (now, or soon in a worker); (source index, rows) of the parts finished meanwhile."""
        if self.workers == 1:
            return [self._written(part, _write_part(self.model.bundle, part))]
        finished = self._collect(until=IN_FLIGHT * self.workers - 1)
        self.pending[self._pool().submit(_score_in_worker, part)] = part
        return finished

    def finish(self) -> list[tuple[int, int]]:
        """Wait for every part handed out; (source index, rows) of each."""
        return self._collect(until=0)

    def _collect(self, until: int) -> list[tuple[int, int]]:
        done = {future for future in self.pending if future.done()}
        while len(self.pending) - len(done) > until:
            done |= wait(set(self.pending) - done, return_when=FIRST_COMPLETED).done
        return [self._written(self.pending.pop(future), future.result()) for future in done]

    def _written(self, part: _Part, result: tuple[int, bytes | None]) -> tuple[int, int]:
        """(source index, rows) of a part written; its rows queued for the log, if there is one."""
        rows, scored = result
        if self.log is not None and scored is not None:
            inputs = pa.ipc.open_stream(part.rows).read_all().to_pandas()
            self.log.append(pa.ipc.open_stream(scored).read_all().to_pandas(), inputs)
        return part.source, rows

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            # Not fork: the reading engine's threads run here (a fork would copy the locks they hold), and
            # OpenMP, which LightGBM uses, is not fork-safe. The forkserver has lathe imported once for all.
            if "forkserver" in multiprocessing.get_all_start_methods():
                context: Any = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
            else:
                context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_start_worker,
                initargs=(str(self.model.folder), self.model.manifest_sha256),
            )  # fmt: skip
        return self.pool


# In a worker process: its bundle, or why it could not load it.
_worker: dict[str, bundles.Bundle | errors.LatheError] = {}


def _start_worker(folder: str, manifest_sha256: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # on Ctrl-C the run stops handing out chunks; these finish theirs
    search.use_threads(1)  # the processes share the cores: LightGBM in each taking them all would overbook them
    try:
        _worker["bundle"] = _load(Path(folder), manifest_sha256)
    except errors.LatheError as exc:  # raised with the first chunk, where the run reports it
        _worker["bundle"] = exc


def _score_in_worker(part: _Part) -> tuple[int, bytes | None]:
    loaded = _worker["bundle"]
    if isinstance(loaded, errors.LatheError):
        raise loaded
    return _write_part(loaded, part)


def _load(folder: Path, manifest_sha256: str) -> bundles.Bundle:
    manifest = folder / _MANIFEST
    if not manifest.is_file() or bundles.sha256(manifest) != manifest_sha256:
        raise errors.BundleIntegrityError(
            f"{folder}: the bundle was changed or removed while the batch ran; run it again to score with one model"
        )
    return bundles.load_bundle(folder)


def _write_part(bundle: bundles.Bundle, part: _Part) -> tuple[int, bytes | None]:
    """Score the chunk of ``part`` and write its part file whole; the number of rows, and the
    predictions (an Arrow IPC stream) where the part is ``logged``."""
    chunk = pa.ipc.open_stream(part.rows).read_all()
    frame = chunk.to_pandas()
    try:
        scored = bundle.predict(frame)
    except errors.LatheError as exc:
        raise type(exc)(f"{part.where}, numbered from 0 below: {exc}") from None
    metadata = {**part.metadata, _ROWS_KEY: workflows.fingerprint(frame)}
    _write_parquet(_scored_table(bundle, chunk, scored).replace_schema_metadata(metadata), part.path)
    logged = _to_ipc(pa.Table.from_pandas(scored, preserve_index=False)) if part.logged else None
    return int(chunk.num_rows), logged


def _scored_table(bundle: bundles.Bundle, chunk: pa.Table, scored: pd.DataFrame) -> pa.Table:
    """``scored`` as Arrow, its id columns taken from ``chunk``: their type is the source's in every part."""
    ids = [name for name in bundle.ids if name in chunk.column_names]
    rest = pa.Table.from_pandas(scored.drop(columns=ids), preserve_index=False)
    return pa.table(
        {**{name: chunk.column(name) for name in ids}, **dict(zip(rest.column_names, rest.columns, strict=True))}
    )


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` whole or not at all: to a hidden name, flushed to disk, then renamed."""
    partial = path.with_name(f".{path.name}.tmp")
    with partial.open("wb") as handle:
        pq.write_table(table, handle)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


# ---- what a person sees ---------------------------------------------------------------


class _Bar:
    """A bar of the rows scored per source, on standard error when it is a terminal; a finished source's
    bar makes way for the next."""

    def __init__(self, sources: int) -> None:
        self.sources = sources
        self.progress: Progress | None = None
        self.tasks: dict[int, TaskID] = {}

    def __enter__(self) -> _Bar:
        if _display.console.is_terminal:
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                TimeRemainingColumn(), console=_display.console,
            )  # fmt: skip
            self.progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.progress is not None:
            self.progress.__exit__(kind, error, trace)

    def start(self, index: int, description: str, rows: Any) -> None:
        """Show the source ``index`` now read, and count its rows for the bar."""
        if self.progress is None:
            return
        total = backends.count_rows(rows)
        which = f" ({index + 1}/{self.sources})" if self.sources > 1 else ""
        self.tasks[index] = self.progress.add_task(f"{description}{which}", total=total)

    def advance(self, index: int, rows: int) -> None:
        """Count ``rows`` more scored of source ``index``."""
        if self.progress is None:
            return
        task = self.tasks[index]
        self.progress.advance(task, rows)
        if index < self.sources - 1 and next(t for t in self.progress.tasks if t.id == task).finished:
            self.progress.update(task, visible=False)
