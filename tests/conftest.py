"""Shared fixtures: small tables written as files of each format."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

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


def _service(variable: str, default: str, start: str) -> str:
    """The URI of a database service the tests use; skipped where it does not answer, a failure in CI."""
    uri = os.environ.get(variable, default)
    parts = urlsplit(uri)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2).close()
    except OSError:
        message = f"no database at {parts.hostname}:{parts.port} ({variable}); start it with: {start}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return uri


@pytest.fixture(scope="session")
def postgres_uri() -> str:
    """PostgreSQL from ``LATHE_POSTGRES_URI``, by default the local server's ``test`` database."""
    return _service(
        "LATHE_POSTGRES_URI",
        "postgresql://postgres@127.0.0.1:5432/test",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    )


@pytest.fixture(scope="session")
def mariadb_uri() -> str:
    """MariaDB from ``LATHE_MARIADB_URI``, by default the local server's ``test`` database as root."""
    return _service(
        "LATHE_MARIADB_URI",
        "mysql://root@127.0.0.1:3306/test",
        "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    )


@pytest.fixture(scope="session")
def redis_uri() -> str:
    """Redis from ``LATHE_REDIS_URI``, by default the local server's database 0."""
    return _service("LATHE_REDIS_URI", "redis://127.0.0.1:6379/0", "redis-server --daemonize yes")


@pytest.fixture(scope="session")
def nats_uri() -> str:
    """NATS with JetStream from ``LATHE_NATS_URI``, by default the local server."""
    return _service("LATHE_NATS_URI", "nats://127.0.0.1:4222", "nats-server -js -sd /tmp/nats &")
