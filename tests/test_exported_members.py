"""Every package's ``__all__`` is sorted (isort style) and names exactly its public members."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "lathe",
    "lathe.backends",
    "lathe.batch",
    "lathe.bundle",
    "lathe.errors",
    "lathe.explain",
    "lathe.features",
    "lathe.log",
    "lathe.profile",
    "lathe.registry",
    "lathe.mlflow",
    "lathe.monitor",
    "lathe.report",
    "lathe.search",
    "lathe.serve",
    "lathe.stream",
    "lathe.sklearn",
    "lathe.testing",
]


def _isort_key(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key)
    defined = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", "").startswith("lathe")
    }
    assert defined <= set(exported), f"public but not in __all__: {defined - set(exported)}"
    assert all(hasattr(module, member) for member in exported)


def test_errors_subclass_the_matching_builtins() -> None:
    from lathe import errors

    assert issubclass(errors.ColumnNotFoundError, KeyError)
    assert issubclass(errors.SourceNotFoundError, FileNotFoundError)
    assert issubclass(errors.SchemaMismatchError, ValueError)
    assert str(errors.ColumnNotFoundError("plain words")) == "plain words"
