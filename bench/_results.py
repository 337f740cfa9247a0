"""Shared by the benchmarks: each writes its own section of bench/RESULTS.md, and may run a
rival tool in an environment of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
DEMO = Path("build/demo")
DEMO_BUNDLE = DEMO / "models/late"


def demo_bundle() -> Path:
    """The demo's bundle folder, made as `make demo` makes it when missing."""
    if not (DEMO_BUNDLE / "manifest.json").is_file():
        subprocess.run([sys.executable, "demo/flights.py", str(DEMO)], check=True)
        lathe = str(Path(sys.executable).with_name("lathe"))
        train = [lathe, "train", str(DEMO / "train.toml"), "--budget", "90", "--out", str(DEMO_BUNDLE)]
        subprocess.run(train, check=True)
    return DEMO_BUNDLE


def record(section: str) -> None:
    """Put ``section`` (starting with its ``## heading``) in RESULTS.md, replacing its last version."""
    heading = section.splitlines()[0].split(":")[0]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + text[end + 1 :] if end >= 0 else text[:start]
    RESULTS.write_text(text.rstrip() + "\n\n" + section)


def own_environment(name: str, packages: list[str]) -> Path:
    """The python of build/bench-envs/NAME, made with uv (beside this python) on first use."""
    folder = Path("build/bench-envs") / name
    python = folder / "bin" / "python"
    if not python.exists():
        uv = str(Path(sys.executable).with_name("uv"))
        subprocess.run([uv, "venv", "-q", str(folder), "-p", sys.executable], check=True)
        try:
            subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *packages], check=True)
        except subprocess.CalledProcessError:
            shutil.rmtree(folder)  # so that the next call tries again rather than use a half-made one
            raise
    return python


# Runs a command and prints its wall seconds and peak resident KiB: a fresh process per
# measurement, so that the peak is that command's alone.
_MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measured(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident GiB of ``command``."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *command], check=True, capture_output=True, text=True)
    wall, peak = out.stdout.split()
    return float(wall), int(peak) / 2**20
