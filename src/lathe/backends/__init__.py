"""The seam to the engines that hold the data; the only place that imports a driver."""

from lathe.backends._catalog import Catalog
from lathe.backends._databases import describe, is_database, read_database
from lathe.backends._duckdb import close, fetch, read_frame, read_source, to_frame
from lathe.backends._open import open_table

__all__ = [
    "Catalog",
    "close",
    "describe",
    "fetch",
    "is_database",
    "open_table",
    "read_database",
    "read_frame",
    "read_source",
    "to_frame",
]
