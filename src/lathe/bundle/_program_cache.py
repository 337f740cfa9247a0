"""The compiled scorer's program, made once per bundle and cached beside it.

The cache is a folder inside the bundle, ``.compiled/<key>/``, holding the program's arrays as
``.npy`` files (read without pickle) and ``program.json``; ``key`` is the manifest's checksum (it
lists every file's) and the program's format, so a changed bundle or lathe misses the cache and
makes it anew. The folder is safe to delete; where the bundle cannot be written to (a read-only
mount), the program is made in memory each time. The kernels themselves are compiled once per
machine, into numba's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from lathe._display import status
from lathe.bundle._compiled import CompiledScorer, Program
from lathe.bundle._files import sha256
from lathe.errors import ExportError
from lathe.features import FeaturePlan
from lathe.profile import Task
from lathe.search import Model

CACHE = ".compiled"
META = "program.json"
SLOW = 1.0  # seconds after which making the program says so


def cached_program(folder: Path | None, make: Callable[[], Program]) -> tuple[Program, bool]:
    """The program cached in bundle ``folder``, else ``make()``'s (cached where it can be); and
    whether it came from the cache."""
    where = None if folder is None else folder / CACHE / _key(folder)
    if where is not None:
        found = _read(where)
        if found is not None:
            return found, True
    place = f"; cached in {folder / CACHE}" if folder is not None else ""
    with _said_when_slow(f"compiling the scorer (once per bundle{place})"):
        program = make()
    if where is not None:
        _write(where, program)
    return program, False


def compiled_scorer(
    plan: FeaturePlan, model: Model, task: Task, classes: int, folder: Path | None
) -> CompiledScorer | None:
    """The compiled scorer of a bundle's ``plan`` and ``model`` (its program read from the cache in
    ``folder`` where there is one), its kernels ready; ``None``, said in a status line, where the
    model cannot be compiled (the reference path scores it)."""

    def make() -> Program:
        program = Program.of(plan, model, task, classes)
        CompiledScorer(plan, program).warm()
        return program

    try:
        program, _ = cached_program(folder, make)
    except ExportError as exc:
        status(f"scoring without the compiled scorer: {exc}")
        return None
    return CompiledScorer(plan, program)


def _key(folder: Path) -> str:
    return f"{sha256(folder / 'manifest.json')[:20]}-v{Program.FORMAT}"


def _read(where: Path) -> Program | None:
    try:
        meta = json.loads((where / META).read_text())
        arrays = {name: np.load(where / f"{name}.npy", allow_pickle=False) for name in meta["arrays"]}
        return Program(arrays, Task(meta["task"]), int(meta["margins"]))
    except (OSError, ValueError, KeyError):
        return None


def _write(where: Path, program: Program) -> None:
    """Write ``program`` to ``where`` whole or not at all, and remove stale keys beside it; nothing
    where the bundle's folder cannot be written to."""
    try:
        where.parent.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".", dir=where.parent))
    except OSError:
        return
    try:
        for name, array in program.arrays.items():
            np.save(staging / f"{name}.npy", array, allow_pickle=False)
        meta = {"task": program.task.value, "margins": program.margins, "arrays": sorted(program.arrays)}
        (staging / META).write_text(json.dumps(meta))
        shutil.rmtree(where, ignore_errors=True)  # a damaged copy
        os.replace(staging, where)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        return
    for stale in where.parent.iterdir():
        if stale != where and not stale.name.startswith("."):
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _said_when_slow(message: str) -> Iterator[None]:
    """A status line if the block runs past ``SLOW`` seconds."""
    timer = threading.Timer(SLOW, status, [message])
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
