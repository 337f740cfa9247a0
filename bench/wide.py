"""Wide tables: `lathe train` on 60 rows of 300, 3,000 and 10,000 number columns, under a budget.

Each run is a fresh `lathe train --budget B` process (its imports count against the budget, as
they do for a user): its wall time and peak memory, and how many columns it profiled within the
budget (the manifest's `left_out`). Prints the table and writes it to bench/RESULTS.md (section
"wide").

Usage: python bench/wide.py [--columns 300 3000 10000] [--budgets 5 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _results import measured, record

ROWS = 60


def wide_table(path: Path, columns: int) -> None:
    """60 rows of ``columns`` standard normal numbers, and a binary ``y`` learnable from the first."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, columns))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(columns)])
    frame["y"] = (X[:, 0] + rng.normal(scale=0.5, size=ROWS) > 0).astype(int)
    frame.to_parquet(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[300, 3000, 10000])
    parser.add_argument("--budgets", type=float, nargs="+", default=[5.0, 30.0])
    args = parser.parse_args()
    lathe = str(Path(sys.executable).with_name("lathe"))
    lines = [
        "## wide: `lathe train` on 60 rows of many columns, under a budget",
        "",
        "Each run a fresh process, imports included; `python bench/wide.py`.",
        "",
        "| columns | budget s | wall s | over budget | peak MiB | columns profiled |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for columns in args.columns:
            data = Path(scratch) / f"wide{columns}.parquet"
            wide_table(data, columns)
            for budget in args.budgets:
                out = Path(scratch) / f"m{columns}-{budget:g}"
                seconds, peak = measured([lathe, "train", str(data), "--target", "y", "--budget", f"{budget:g}",
                                          "--out", str(out)])  # fmt: skip
                manifest = json.loads((out / "manifest.json").read_text())
                skipped = sum(item["reason"].startswith("not profiled") for item in manifest["left_out"])
                row = (f"| {columns:,} | {budget:g} | {seconds:.1f} | {seconds / budget - 1:+.0%} | {peak * 1024:.0f} "
                       f"| {columns + 1 - skipped:,} of {columns + 1:,} |")  # fmt: skip
                print(row, flush=True)
                lines.append(row)
    record("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
