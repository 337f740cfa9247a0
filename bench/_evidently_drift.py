"""Evidently's data-drift report for bench/monitor.py, inside Evidently's own environment: the
reference is DATA's ``train`` table (less its target), the current data the first ROWS rows of
TABLE, both read into pandas (Evidently works on data frames). Saves the report's HTML as OUT and
writes OUT with the suffix .json: the columns Evidently flags and the seconds spent reading.

Usage: python bench/_evidently_drift.py DATA TABLE ROWS OUT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main(data: str, table: str, rows: int, out: Path) -> None:
    started = time.perf_counter()
    con = duckdb.connect(data, read_only=True)
    reference = con.execute("SELECT * EXCLUDE (target) FROM train").df()
    current = con.execute(f"SELECT * FROM {table} LIMIT {rows}").df()
    read = time.perf_counter() - started
    numbers = [c for c in reference.columns if c.startswith("n")]
    categories = [c for c in reference.columns if c.startswith("c")]
    definition = DataDefinition(numerical_columns=numbers, categorical_columns=categories)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    snapshot.save_html(str(out))
    flagged = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            # Distances drift at or above the threshold, p-values below it.
            p_value = "p_value" in config["method"]
            value, threshold = metric["value"], config["threshold"]
            if (value < threshold) if p_value else (value >= threshold):
                flagged.append(config["column"])
    out.with_suffix(".json").write_text(json.dumps({"drifted": flagged, "read_s": read}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
