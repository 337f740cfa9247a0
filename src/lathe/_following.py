"""The model a server or a stream scores with, and the watcher that swaps it when the registry says so.

A request (or a stream's micro-batch) reads ``Holder.current`` once and scores with that model to
the end, so a swap (one attribute assignment, atomic in Python) never splits one between two
versions. The new version is loaded, verified and warmed in the background before it is swapped in.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lathe import _display
from lathe.errors import LatheError
from lathe.log import Log, Writer
from lathe.registry import OpenedModel, Registry, open_model


def served(model: str | Path, registry: str | Path | None = None, store: str | Path | None = None) -> OpenedModel:
    """The model ``model`` names (see ``lathe.registry.open_model``), loaded, verified and warmed."""
    return warm(open_model(model, registry, store))


def warm(model: OpenedModel) -> OpenedModel:
    """``model``, having scored and explained one row of missing values, so that the first request
    pays for no lazy set-up (the compiled scorer's kernels load in about a second)."""
    row = [{c.name: None for c in model.bundle.plan.inputs}]
    model.bundle.predict_rows(row)
    model.bundle.explain_rows(row)
    return model


def followed(
    model: str | Path, registry: str | Path | None = None, store: str | Path | None = None, poll: float = 2.0,
    log: Log | None = None,
) -> Holder:  # fmt: skip
    """A ``Holder`` of the model ``model`` names; for a registry NAME (not NAME:N), a ``Watcher``
    polls the registry every ``poll`` seconds and swaps in each new production version. With a
    ``log``, the rows scored go to it (``Holder.logged``); close the holder at the end."""
    current = served(model, registry, store)
    follows = current.name if current.version is not None and ":" not in str(model) else None
    holder = Holder(current, follows, log)
    if follows is not None:
        Watcher(holder, Registry(registry, store), follows, poll).start()
    return holder


class Holder:
    """The model being served; ``follows`` names the registry model whose production version it tracks."""

    def __init__(self, current: OpenedModel, follows: str | None = None, log: Log | None = None) -> None:
        self.current = current
        self.follows = follows
        self.swaps = 0
        self.waiting = ""  # why a newer production version is not served, if one is not
        self.log = log
        self.writers: dict[str, Writer] = {}  # per model served, by its manifest's checksum
        self.open_log(current)

    def open_log(self, model: OpenedModel) -> None:
        """Ready the log for ``model``'s rows (before it is swapped in): its table checked or created."""
        if self.log is not None and model.manifest_sha256 not in self.writers:
            name = model.name if model.registered is not None else Path(model.folder).name
            self.writers[model.manifest_sha256] = self.log.writer(model.bundle, name, model.version)

    def logged(
        self, model: OpenedModel, scored: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Queue the rows ``model`` scored for the log, if there is one; returns at once."""
        if self.writers:
            self.writers[model.manifest_sha256].append(scored, rows)

    def close(self) -> None:
        """Write what the log still holds; every writer stops."""
        failures = []
        for writer in self.writers.values():
            try:
                writer.close()
            except LatheError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]


class Watcher(threading.Thread):
    """Polls the registry every ``every`` seconds; swaps in a new production version once loaded."""

    def __init__(self, holder: Holder, registry: Registry, name: str, every: float) -> None:
        super().__init__(name="lathe-registry-watcher", daemon=True)
        self.holder, self.registry, self.name, self.every = holder, registry, name, every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.check()
            except LatheError as exc:  # the registry is down or the version is broken: keep serving
                self.holder.waiting = str(exc)

    def check(self) -> None:
        """Swap in the production version if it is not the one served and its inputs are the same."""
        holder = self.holder
        version = self.registry.production(self.name)
        if version.number == holder.current.version:
            holder.waiting = ""
            return
        new = self.registry.open(version)
        if new.bundle.plan.inputs != holder.current.bundle.plan.inputs:
            holder.waiting = (
                f"{new.label} takes other inputs than {holder.current.label}; restart lathe to score with it"
            )
            return
        holder.open_log(new)
        holder.current, holder.waiting = warm(new), ""
        holder.swaps += 1
        _display.status(f"now scoring with {new.label}")
