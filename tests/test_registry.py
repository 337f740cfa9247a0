"""The registry on a SQLite file and on the real PostgreSQL: versions, stages, lineage, concurrent writers."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import lathe
from lathe import registry as registry_module
from lathe.cli import main
from lathe.errors import BundleIntegrityError, InvalidParameterError, RegistryError, SourceUnreachableError
from lathe.registry import Registry
from lathe.testing import mixed_table


@pytest.fixture(scope="module")
def bundle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small saved bundle."""
    folder = tmp_path_factory.mktemp("bundle") / "late"
    lathe.train(mixed_table(200), target="target", trials=1, verbose=False).save(folder)
    return folder


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A fresh registry: a folder (SQLite inside) or the local PostgreSQL with a store folder."""
    if request.param == "sqlite":
        yield str(tmp_path / "registry"), tmp_path / "registry" / "store"
        return
    uri = request.getfixturevalue("postgres_uri")
    import psycopg

    with psycopg.connect(uri, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS lathe_versions, lathe_transitions")
    yield uri, tmp_path / "store"


def _open(location: tuple[str, Path]) -> Registry:
    return Registry(location[0], store=location[1] if "://" in location[0] else None)


def test_versions_are_numbered_copied_read_only_and_start_in_staging(
    location: tuple[str, Path], bundle_folder: Path
) -> None:
    registry = _open(location)

    first = registry.add(bundle_folder, "late")
    second = registry.add(bundle_folder, "late")

    assert (first.number, first.stage, first.parent) == (1, "staging", None)
    assert (second.number, second.parent) == (2, 1)
    assert first.folder.parent == location[1] / "late"
    assert not os.access(first.folder / "manifest.json", os.W_OK) or os.geteuid() == 0
    assert all(not (p.stat().st_mode & 0o222) for p in first.folder.iterdir())
    assert first.metrics == lathe.load(bundle_folder).manifest["metrics"]
    assert first.fingerprint == lathe.load(bundle_folder).manifest["data"]["fingerprint"]
    rows = mixed_table(30, seed=3)
    pd.testing.assert_frame_equal(registry.load("late", 2).predict(rows), lathe.load(bundle_folder).predict(rows))


def test_promotion_keeps_one_production_version_and_rollback_restores_the_previous(
    location: tuple[str, Path], bundle_folder: Path
) -> None:
    registry = _open(location)
    for _ in range(3):
        registry.add(bundle_folder, "late")

    registry.promote("late", 1, "production")
    registry.promote("late", 2, "production")
    assert [v.stage for v in registry.versions("late")] == ["archived", "production", "staging"]
    assert registry.version("late").number == 2
    assert registry.add(bundle_folder, "late").parent == 2

    assert registry.rollback("late").number == 1
    assert [v.stage for v in registry.versions("late")][:2] == ["production", "archived"]
    assert [(h["version"], h["from"], h["to"]) for h in registry.history("late")][-2:] == [
        (2, "production", "archived"),
        (1, "archived", "production"),
    ]


def test_mistakes_are_named(location: tuple[str, Path], bundle_folder: Path) -> None:
    registry = _open(location)
    registry.add(bundle_folder, "late")

    with pytest.raises(RegistryError, match="no model named 'early'"):
        registry.version("early")
    with pytest.raises(RegistryError, match="has no version 7; it has 1"):
        registry.version("late", 7)
    with pytest.raises(InvalidParameterError, match="'live' is not a stage"):
        registry.promote("late", 1, "live")
    with pytest.raises(InvalidParameterError, match="a model name is letters"):
        registry.add(bundle_folder, "../late")
    with pytest.raises(RegistryError, match="no production version to roll back"):
        registry.rollback("late")
    registry.promote("late", 1, "production")
    with pytest.raises(RegistryError, match="first production version"):
        registry.rollback("late")


def _add_three(location: tuple[str, Path], bundle_folder: Path) -> list[int]:
    registry = _open(location)
    return [registry.add(bundle_folder, "late").number for _ in range(3)]


def test_concurrent_writers_get_distinct_versions(location: tuple[str, Path], bundle_folder: Path) -> None:
    _open(location)  # the tables exist before the writers race

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        numbers = pool.starmap(_add_three, [(location, bundle_folder)] * 4)

    assert sorted(n for batch in numbers for n in batch) == list(range(1, 13))
    versions = _open(location).versions("late")
    assert len({v.folder for v in versions}) == 12
    assert all((v.folder / "manifest.json").is_file() for v in versions)


def test_a_failure_mid_write_leaves_no_entry_and_no_folder(
    tmp_path: Path, bundle_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(tmp_path / "registry")
    registry.add(bundle_folder, "late")

    copy = shutil.copytree

    def copy_then_fail(source: Path, target: Path, **options: Any) -> None:
        copy(source, target, **options)
        raise OSError("disk full")

    monkeypatch.setattr(registry_module.shutil, "copytree", copy_then_fail)
    with pytest.raises(OSError, match="disk full"):
        registry.add(bundle_folder, "late")
    monkeypatch.undo()

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(registry_module, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        registry.add(bundle_folder, "late")

    assert [v.number for v in registry.versions("late")] == [1]
    assert len(list((tmp_path / "registry" / "store" / "late").iterdir())) == 1


def test_a_changed_stored_bundle_is_refused(tmp_path: Path, bundle_folder: Path) -> None:
    registry = Registry(tmp_path / "registry")
    version = registry.add(bundle_folder, "late")
    manifest = version.folder / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace('"binary"', '"regression"', 1))

    with pytest.raises(BundleIntegrityError, match="late version 1: its stored bundle was changed"):
        registry.load("late", 1)


def test_a_registry_that_cannot_be_opened_or_written_is_named(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(SourceUnreachableError, match="cannot open the registry at"):
        Registry(tmp_path / "taken")

    registry = Registry(tmp_path / "registry")
    with pytest.raises(RegistryError, match="refused the change: no such table"), registry.catalog.transaction() as tx:
        tx.execute("SELECT * FROM nowhere")


def test_a_postgresql_registry_needs_a_store_folder() -> None:
    with pytest.raises(InvalidParameterError, match="--store DIR"):
        Registry("postgresql://localhost/test")


def test_the_command_line(tmp_path: Path, bundle_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--registry", str(tmp_path / "registry")]

    assert main(["registry", "add", str(bundle_folder), "--name", "late", *where]) == 0
    assert main(["registry", "add", str(bundle_folder), "--name", "late", *where]) == 0
    assert main(["registry", "promote", "late", "1", "--to", "production", *where]) == 0
    assert main(["registry", "promote", "late", "2", "--to", "production", *where]) == 0
    assert main(["registry", "rollback", "late", *where]) == 0
    capsys.readouterr()
    assert main(["registry", "list", *where]) == 0
    listed = capsys.readouterr().out
    assert main(["registry", "show", "late", *where]) == 0
    shown = capsys.readouterr().out
    assert main(["registry", "show", "late", "9", *where]) == 2

    assert "production" in listed
    assert "archived" in listed
    assert "late version 1: production" in shown
    assert "stage history" in shown
    assert "late has no version 9" in capsys.readouterr().err
