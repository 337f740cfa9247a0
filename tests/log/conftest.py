"""Small saved bundles for the prediction log's tests, and the log read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lathe.backends import to_frame
from lathe.log import read
from lathe.testing import PERSONAL_VALUES, mixed_table, small_bundle

EMAILS = [f"someone.{i}@example.org" for i in range(300)]  # a personal id: unique per row
PHONES = PERSONAL_VALUES["phone"]  # a personal input, kept as a feature with --keep-pii


@pytest.fixture(scope="package")
def bundle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small saved binary classifier; ``customer_id`` is its id column."""
    return small_bundle("binary", rounds=10).save(tmp_path_factory.mktemp("log") / "late")


def personal_table(rows: int = 300) -> pd.DataFrame:
    """``mixed_table`` with a personal id (an email) and a personal input (a phone number)."""
    table = mixed_table(rows, "binary").drop(columns=["customer_id"])
    table.insert(0, "email", EMAILS[:rows])
    table["phone"] = np.resize(PHONES, rows)
    return table


@pytest.fixture(scope="package")
def personal_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained as with --keep-pii: ``email`` its (personal) id, ``phone`` a personal input."""
    return small_bundle(table=personal_table(), keep_pii=True, rounds=10).save(tmp_path_factory.mktemp("log") / "pii")


def logged(uri: str, table: str = "lathe_predictions") -> pd.DataFrame:
    """The rows of the log at ``uri``."""
    return to_frame(read(uri, table))
