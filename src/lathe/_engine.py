"""Which engine reads a source: ``duckdb`` (the embedded engine, or the database itself), ``spark``
(a SparkSession at ``--master``), or ``auto``, which keeps DuckDB and says when Spark would serve
the source better (see ``lathe.backends.spark_advice``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lathe import _display
from lathe.backends import ENGINES, open_table, spark_advice
from lathe.errors import InvalidParameterError

CHOICES = ("auto", *ENGINES)


def check_engine(engine: str, master: str | None) -> None:
    """Refuse an unknown engine, and a master for an engine other than Spark."""
    if engine not in CHOICES:
        raise InvalidParameterError(f"engine must be one of {', '.join(CHOICES)}; got {engine!r}")
    if master is not None and engine != "spark":
        raise InvalidParameterError(f"--master {master} applies to --engine spark; add it, or leave out --master")


def open_on(
    engine: str, master: str | None, source: str | Path | pd.DataFrame, table: str | None, query: str | None
) -> tuple[str, Any]:
    """``open_table`` on ``engine``; with ``auto``, DuckDB, and one status line when the source is large."""
    check_engine(engine, master)
    if engine == "auto":
        advise(source)
        engine = "duckdb"
    return open_table(source, table, query, engine=engine, master=master)


def advise(source: str | Path | pd.DataFrame) -> None:
    """One status line naming ``--engine spark`` when ``source`` is large for this machine."""
    advice = None if isinstance(source, pd.DataFrame) else spark_advice(source)
    if advice is not None:
        _display.status(advice)
