"""Shared by the benchmarks: each writes its own section of bench/RESULTS.md."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def record(section: str) -> None:
    """Put ``section`` (starting with its ``## heading``) in RESULTS.md, replacing its last version."""
    heading = section.splitlines()[0].split(":")[0]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + text[end + 1 :] if end >= 0 else text[:start]
    RESULTS.write_text(text.rstrip() + "\n\n" + section)
