"""A user's mypy sees lathe's signatures: the package ships ``py.typed`` and its public API is typed."""

from __future__ import annotations

from pathlib import Path

from mypy import api

USER_CODE = """
import pandas as pd

import lathe
from lathe import LatheClassifier

bundle: lathe.Bundle = lathe.train("flights.parquet", target="late", budget=60)
scored: pd.DataFrame = bundle.predict(pd.DataFrame())
clf: LatheClassifier = LatheClassifier(trials=2).fit(pd.DataFrame(), [0, 1])
wrong: int = lathe.load("models/late").explain(pd.DataFrame())
"""


def test_a_users_strict_mypy_checks_calls_into_lathe(tmp_path: Path) -> None:
    (tmp_path / "user.py").write_text(USER_CODE)

    out, _, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), str(tmp_path / "user.py")])

    assert status == 1, out
    assert out.splitlines()[:-1] == [
        f"{tmp_path / 'user.py'}:10: error: Incompatible types in assignment "
        '(expression has type "DataFrame", variable has type "int")  [assignment]'
    ]
