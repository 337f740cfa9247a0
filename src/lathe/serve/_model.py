"""The model a server answers with, and the watcher that swaps it when the registry says so.

A request reads ``Holder.current`` once and scores with that model to the end, so a swap (one
attribute assignment, atomic in Python) never splits a request between two versions. The new
version is loaded, verified and warmed in the background before it is swapped in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from lathe import _display
from lathe.bundle import Bundle, sha256
from lathe.errors import LatheError
from lathe.registry import Registry, Version, open_model


@dataclass(frozen=True)
class Served:
    """A loaded bundle and what it is: a registry version (``name``, ``version``) or a folder."""

    bundle: Bundle
    name: str
    version: int | None
    manifest_sha256: str

    @property
    def label(self) -> str:
        return f"{self.name} version {self.version}" if self.version is not None else self.name

    def warm(self) -> Served:
        """Score one row of missing values, so that the first request pays for no lazy set-up."""
        self.bundle.predict_rows([{c.name: None for c in self.bundle.plan.inputs}])
        return self


def served(model: str | Path, registry: str | Path | None = None, store: str | Path | None = None) -> Served:
    """The model ``model`` names (see ``lathe.registry.open_model``), loaded, verified and warmed."""
    bundle, version = open_model(model, registry, store)
    return _served(bundle, version, str(model)).warm()


def _served(bundle: Bundle, version: Version | None, model: str) -> Served:
    if version is None:
        return Served(bundle, model, None, sha256(Path(model) / "manifest.json"))
    return Served(bundle, version.name, version.number, version.manifest_sha256)


class Holder:
    """The model being served; ``follows`` names the registry model whose production version it tracks."""

    def __init__(self, current: Served, follows: str | None = None) -> None:
        self.current = current
        self.follows = follows
        self.swaps = 0
        self.waiting = ""  # why a newer production version is not served, if one is not


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
        new = _served(self.registry.load(version.name, version.number), version, version.name)
        if new.bundle.plan.inputs != holder.current.bundle.plan.inputs:
            holder.waiting = (
                f"{new.label} takes other inputs than {holder.current.label}; restart `lathe serve` to serve it"
            )
            return
        holder.current, holder.waiting = new.warm(), ""
        holder.swaps += 1
        _display.status(f"now serving {new.label}")
