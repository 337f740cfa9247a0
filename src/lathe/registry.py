"""The model registry: named, numbered, immutable versions of bundles, each in a stage.

A registry is a catalog database (a SQLite file by default, or PostgreSQL) and a store folder
holding a read-only copy of every version's bundle. Adding a version copies the bundle into the
store first and records it after, in one transaction that also takes the next version number,
so concurrent writers get distinct numbers and a crash leaves no half entry (at most an
unrecorded folder in the store).

Stages: ``none``, ``staging``, ``production``, ``archived``. A name has at most one production
version: promoting another archives it, and ``rollback`` brings the one before back.

>>> registry = Registry()  # ./lathe-registry, or $LATHE_REGISTRY  # doctest: +SKIP
>>> registry.add("models/late", name="late").number  # doctest: +SKIP
1
>>> registry.promote("late", 1, "production")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lathe import backends, errors
from lathe import bundle as bundles

__all__ = ["DEFAULT_LOCATION", "STAGES", "OpenedModel", "Registry", "Version", "open_model"]

STAGES = ("none", "staging", "production", "archived")
DEFAULT_LOCATION = "lathe-registry"
_MANIFEST = "manifest.json"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS lathe_versions (
        name TEXT NOT NULL, version INTEGER NOT NULL, stage TEXT NOT NULL, folder TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL, created TEXT NOT NULL, parent INTEGER, task TEXT NOT NULL,
        target TEXT NOT NULL, family TEXT NOT NULL, fingerprint TEXT, source TEXT, metrics TEXT NOT NULL,
        PRIMARY KEY (name, version))""",
    """CREATE TABLE IF NOT EXISTS lathe_transitions (
        name TEXT NOT NULL, step INTEGER NOT NULL, version INTEGER NOT NULL, from_stage TEXT,
        to_stage TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (name, step))""",
)
_COLUMNS = (
    "name, version, stage, folder, manifest_sha256, created, parent, task, target, family, fingerprint, source, metrics"
)


@dataclass(frozen=True)
class Version:
    """One registered version: where its bundle is, its stage and its lineage."""

    name: str
    number: int
    stage: str
    folder: Path
    manifest_sha256: str
    created: str
    parent: int | None
    task: str
    target: str
    family: str
    fingerprint: str | None
    source: str | None
    metrics: dict[str, dict[str, float]]

    @property
    def label(self) -> str:
        """``NAME version N``."""
        return f"{self.name} version {self.number}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**self.__dict__, "folder": str(self.folder)}


@dataclass(frozen=True)
class OpenedModel:
    """A model as a command names it, loaded and verified: a registry version, or a bundle folder
    (``name`` is then the folder as given)."""

    bundle: bundles.Bundle
    folder: Path
    manifest_sha256: str
    name: str
    registered: Version | None = None

    @property
    def version(self) -> int | None:
        """The registry version number; ``None`` for a folder."""
        return self.registered.number if self.registered is not None else None

    @property
    def label(self) -> str:
        """``NAME version N``, or the folder."""
        return self.registered.label if self.registered is not None else self.name


class Registry:
    """A registry at ``location``: a folder (SQLite catalog and store inside), ``sqlite:///file.db``
    (store beside it) or a PostgreSQL URI (``store`` required). Default: ``$LATHE_REGISTRY``, else
    ``./lathe-registry``; ``store`` defaults to ``$LATHE_REGISTRY_STORE``."""

    def __init__(self, location: str | Path | None = None, store: str | Path | None = None) -> None:
        where = _location(location)
        store = store or os.environ.get("LATHE_REGISTRY_STORE")
        if where.startswith(("postgresql://", "postgres://")):
            if not store:
                raise errors.InvalidParameterError(
                    "a PostgreSQL registry keeps bundles in a folder: give --store DIR or set LATHE_REGISTRY_STORE"
                )
            uri = where
        elif where.startswith("sqlite:///"):
            uri, store = where, store or Path(where.removeprefix("sqlite:///")).parent / "store"
        elif "://" in where:
            raise errors.InvalidParameterError(f"{where}: a registry is a folder, sqlite:///FILE or postgresql://...")
        else:
            uri, store = f"sqlite:///{Path(where) / 'registry.db'}", store or Path(where) / "store"
        self.store = Path(store)
        self.catalog = backends.Catalog(uri)
        with self.catalog.transaction() as tx:
            for statement in _SCHEMA:
                tx.execute(statement)

    def add(self, bundle: str | Path, name: str, stage: str = "staging", parent: int | None = None) -> Version:
        """Register the bundle saved in folder ``bundle`` as the next version of ``name``.

        The bundle is verified (every checksum) and copied into the store, read-only. ``parent``
        (lineage) defaults to the production version of ``name``, else its latest version.
        """
        _check_name(name)
        _check_stage(stage)
        loaded = bundles.load_bundle(bundle)
        folder = self._copy(Path(bundle), name)
        try:
            with self.catalog.transaction(lock="lathe_versions") as tx:
                rows = tx.execute("SELECT version, stage FROM lathe_versions WHERE name = ?", (name,))
                number = max((v for v, _ in rows), default=0) + 1
                if parent is not None and parent not in {v for v, _ in rows}:
                    raise errors.RegistryError(f"{name} has no version {parent} to be the parent")
                production = [v for v, s in rows if s == "production"]
                parent = parent if parent is not None else max(production or [v for v, _ in rows], default=None)
                if stage == "production":
                    self._demote_production(tx, name, rows)
                record = _record(name, number, stage, folder.relative_to(self.store), loaded, folder, parent)
                tx.execute(
                    f"INSERT INTO lathe_versions ({_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                    record,
                )
                self._transition(tx, name, number, None, stage)
        except BaseException:
            _remove(folder)
            raise
        return self.version(name, number)

    def versions(self, name: str | None = None) -> list[Version]:
        """Every version of ``name`` (of every name if none), oldest first."""
        where, params = ("WHERE name = ?", (name,)) if name else ("", ())
        with self.catalog.transaction() as tx:
            rows = tx.execute(f"SELECT {_COLUMNS} FROM lathe_versions {where} ORDER BY name, version", params)
        if name and not rows:
            raise errors.RegistryError(f"no model named {name!r} in the registry; add one with `lathe registry add`")
        return [self._version(row) for row in rows]

    def version(self, name: str, number: int | None = None) -> Version:
        """Version ``number`` of ``name``; without a number, its production version, else its latest."""
        versions = self.versions(name)
        if number is None:
            production = [v for v in versions if v.stage == "production"]
            return (production or versions)[-1]
        found = [v for v in versions if v.number == number]
        if not found:
            raise errors.RegistryError(
                f"{name} has no version {number}; it has {', '.join(str(v.number) for v in versions)}"
            )
        return found[0]

    def production(self, name: str) -> Version:
        """The production version of ``name``."""
        found = [v for v in self.versions(name) if v.stage == "production"]
        if not found:
            raise errors.RegistryError(
                f"{name} has no production version; promote one with `lathe registry promote {name} N "
                f"--to production`, or name a version as {name}:N"
            )
        return found[0]

    def open(self, version: Version) -> OpenedModel:
        """``version``'s bundle, loaded and verified (see ``load``)."""
        bundle = self.load(version.name, version.number)
        return OpenedModel(bundle, version.folder, version.manifest_sha256, version.name, version)

    def load(self, name: str, number: int | None = None) -> bundles.Bundle:
        """The bundle of ``version(name, number)``, verified against its checksums and its record."""
        version = self.version(name, number)
        if (
            not (version.folder / _MANIFEST).is_file()
            or bundles.sha256(version.folder / _MANIFEST) != version.manifest_sha256
        ):
            raise errors.BundleIntegrityError(f"{version.label}: its stored bundle was changed or removed")
        return bundles.load_bundle(version.folder)

    def promote(self, name: str, number: int, stage: str) -> Version:
        """Move version ``number`` of ``name`` to ``stage``; promoting to production archives the current one."""
        _check_stage(stage)
        with self.catalog.transaction(lock="lathe_versions") as tx:
            rows = tx.execute("SELECT version, stage FROM lathe_versions WHERE name = ?", (name,))
            current: dict[int, str] = dict(rows)
            if number not in current:
                raise errors.RegistryError(f"{name} has no version {number}")
            if stage == "production":
                self._demote_production(tx, name, [r for r in rows if r[0] != number])
            self._set_stage(tx, name, number, current[number], stage)
        return self.version(name, number)

    def rollback(self, name: str) -> Version:
        """Put back in production the version that was there before the current one; archive the current one."""
        with self.catalog.transaction(lock="lathe_versions") as tx:
            current = [v for (v,) in tx.execute(
                "SELECT version FROM lathe_versions WHERE name = ? AND stage = 'production'", (name,)
            )]  # fmt: skip
            if not current:
                raise errors.RegistryError(f"{name} has no production version to roll back")
            history = tx.execute(
                "SELECT version FROM lathe_transitions WHERE name = ? AND to_stage = 'production' ORDER BY step DESC",
                (name,),
            )
            earlier = [v for (v,) in history if v != current[0]]
            if not earlier:
                raise errors.RegistryError(
                    f"{name}: version {current[0]} is the first production version; nothing to roll back to"
                )
            stage: dict[int, str] = dict(
                tx.execute("SELECT version, stage FROM lathe_versions WHERE name = ?", (name,))
            )
            self._set_stage(tx, name, current[0], "production", "archived")
            self._set_stage(tx, name, earlier[0], stage[earlier[0]], "production")
        return self.version(name, earlier[0])

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every stage change of ``name``'s versions, oldest first."""
        with self.catalog.transaction() as tx:
            rows = tx.execute(
                "SELECT step, version, from_stage, to_stage, at FROM lathe_transitions WHERE name = ? ORDER BY step",
                (name,),
            )
        return [dict(zip(("step", "version", "from", "to", "at"), row, strict=True)) for row in rows]

    def _copy(self, bundle: Path, name: str) -> Path:
        """A read-only copy of ``bundle`` in the store, written under a temporary name and renamed."""
        final = self.store / name / uuid.uuid4().hex
        staging = final.with_name(f".{final.name}.tmp")
        staging.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copytree(bundle, staging, ignore=shutil.ignore_patterns(".compiled"))  # the scorer's cache
            for path in staging.iterdir():
                path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            staging.rename(final)
        except BaseException:
            _remove(staging)
            raise
        return final

    def _demote_production(self, tx: Any, name: str, rows: list[tuple[Any, ...]]) -> None:
        for number, stage in rows:
            if stage == "production":
                self._set_stage(tx, name, number, stage, "archived")

    def _set_stage(self, tx: Any, name: str, number: int, old: str, new: str) -> None:
        tx.execute("UPDATE lathe_versions SET stage = ? WHERE name = ? AND version = ?", (new, name, number))
        self._transition(tx, name, number, old, new)

    def _transition(self, tx: Any, name: str, number: int, old: str | None, new: str) -> None:
        step = tx.execute("SELECT COALESCE(MAX(step), 0) + 1 FROM lathe_transitions WHERE name = ?", (name,))[0][0]
        tx.execute(
            "INSERT INTO lathe_transitions (name, step, version, from_stage, to_stage, at) VALUES (?, ?, ?, ?, ?, ?)",
            (name, step, number, old, new, _now()),
        )

    def _version(self, row: tuple[Any, ...]) -> Version:
        values = dict(zip(_COLUMNS.split(", "), row, strict=True))
        values["number"] = values.pop("version")
        values["folder"] = self.store / values["folder"]
        values["metrics"] = json.loads(values["metrics"])
        return Version(**values)


def open_model(model: str | Path, location: str | Path | None = None, store: str | Path | None = None) -> OpenedModel:
    """The model that ``model`` names, loaded and verified.

    ``model`` is a bundle folder, ``NAME`` (the production version of NAME in the registry at
    ``location``) or ``NAME:N`` (its version N).
    """
    if Path(model).is_dir():
        folder = Path(model).resolve()
        return OpenedModel(bundles.load_bundle(folder), folder, bundles.sha256(folder / _MANIFEST), str(model))
    name, _, number = str(model).partition(":")
    where = _location(location)
    if "://" not in str(where) and not Path(where).is_dir():
        raise errors.BundleNotFoundError(
            f"{model}: no bundle folder of that name, and no registry at {where} to look the name up in "
            "(give --registry or set LATHE_REGISTRY)"
        )
    if number and not number.isdigit():
        raise errors.InvalidParameterError(f"{model}: name a version as NAME:N, N a whole number")
    registry = Registry(location, store)
    return registry.open(registry.version(name, int(number)) if number else registry.production(name))


def _location(location: str | Path | None) -> str:
    """Where the registry is: ``location``, else ``$LATHE_REGISTRY``, else ``./lathe-registry``."""
    return str(location or os.environ.get("LATHE_REGISTRY") or DEFAULT_LOCATION)


def _record(
    name: str, number: int, stage: str, relative: Path, bundle: bundles.Bundle, folder: Path, parent: int | None
) -> tuple[Any, ...]:
    m = bundle.manifest
    data = m.get("data", {})
    return (
        name, number, stage, relative.as_posix(), bundles.sha256(folder / _MANIFEST), _now(), parent, m["task"],
        m["target"], m["model"]["family"], data.get("fingerprint"), data.get("source"), json.dumps(m["metrics"]),
    )  # fmt: skip


def _check_name(name: str) -> None:
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name) or name.startswith("."):
        raise errors.InvalidParameterError(
            f"{name!r}: a model name is letters, digits, '-', '_' and '.', not starting with '.'"
        )


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise errors.InvalidParameterError(f"{stage!r} is not a stage; choose one of {', '.join(STAGES)}")


def _remove(folder: Path) -> None:
    if folder.exists():
        for path in folder.iterdir():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(folder, ignore_errors=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
