"""The seam to the engines that hold the data; the only place that imports a driver."""

from lathe.backends._duckdb import read_frame, read_source, to_frame

__all__ = ["read_frame", "read_source", "to_frame"]
