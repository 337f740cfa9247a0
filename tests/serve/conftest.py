"""A real `lathe serve` process on loopback, for the serving tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import lathe
from lathe.testing import mixed_table

LATHE = str(Path(sys.executable).with_name("lathe"))


@pytest.fixture(scope="package")
def bundle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small saved binary classifier."""
    folder = tmp_path_factory.mktemp("serve") / "late"
    lathe.train(mixed_table(300), target="target", trials=1, verbose=False).save(folder)
    return folder


@contextmanager
def running(*arguments: str, cwd: Path | None = None) -> Iterator[str]:
    """`lathe serve ARGUMENTS` on a free port; yields its base URL once /ready answers."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [LATHE, "serve", *arguments, "--port", str(port)]
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as server:
        try:
            _wait_ready(url, server)
            yield url
        finally:
            server.terminate()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read().decode() if server.stdout else ""
            raise AssertionError(f"lathe serve exited with {server.returncode}: {output}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"lathe serve at {url} was not ready within 60 s")
