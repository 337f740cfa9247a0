"""Shared fixtures: small tables written as files of each format."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lathe.testing import mixed_table


@pytest.fixture
def table() -> pd.DataFrame:
    """A small binary-classification table of every column type."""
    return mixed_table(400, "binary")


@pytest.fixture
def csv_file(tmp_path: Path, table: pd.DataFrame) -> Path:
    """``table`` written as CSV."""
    path = tmp_path / "data.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture
def parquet_file(tmp_path: Path, table: pd.DataFrame) -> Path:
    """``table`` written as Parquet."""
    path = tmp_path / "data.parquet"
    table.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (``$LATHE_CHROMIUM`` first); skipped where missing, a failure in CI."""
    candidates = [os.environ.get("LATHE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    found = [path for path in candidates if path and Path(path).is_file()]
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium not found: CI must install it (apt-get install chromium)")
        pytest.skip("chromium not installed: apt-get install chromium to run browser tests")
    return found[0]
