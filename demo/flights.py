"""Prepare the demo data: NYC's 2013 flights, January to November to train on, December to score.

Usage: python demo/flights.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from lathe.datasets import flights


def main(out: Path) -> None:
    """Write ``flights.parquet`` (training) and ``new_flights.csv`` (December, no answer) to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    frame = flights()
    december = frame["month"] == 12
    frame[~december].to_parquet(out / "flights.parquet", index=False)
    frame[december].drop(columns=["late"]).to_csv(out / "new_flights.csv", index=False)
    print(f"demo data in {out}: {int((~december).sum()):,} flights to train on, {int(december.sum()):,} to score")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo"))
