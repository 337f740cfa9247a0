"""One SparkSession for the whole test run, in local mode on two cores: a JVM is slow to start."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from lathe.backends import JDBC_JAR, spark_session
from lathe.errors import MissingDependencyError

MASTER = "local[2]"
# Whichever test starts the SparkSession (tests/export's fixture may, first), its Python workers must
# run this interpreter, which has lathe's dependencies, not the `python3` on the PATH. Set at collection.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def spark() -> Any:
    """The tests' SparkSession; skipped without pyspark or Java, a failure in CI."""
    try:
        return spark_session(MASTER)
    except MissingDependencyError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Spark tests: {exc}")
        pytest.skip(f"Spark tests skipped: {exc}")


@pytest.fixture(scope="session")
def jdbc_jar() -> str:
    """PostgreSQL's JDBC driver; skipped where missing, a failure in CI."""
    if not JDBC_JAR.is_file():
        message = f"no JDBC driver at {JDBC_JAR}: apt-get install -y libpostgresql-jdbc-java"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(JDBC_JAR)
