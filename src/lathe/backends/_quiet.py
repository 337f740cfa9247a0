"""Warnings the database libraries raise about themselves, which a user can do nothing about."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def library_noise() -> Iterator[None]:
    """Silence the known, harmless warnings of the drivers and of Ibis while the block runs."""
    with warnings.catch_warnings():
        # MariaDB without time zone tables cannot set the session to UTC; timestamps still read.
        warnings.filterwarnings("ignore", message="Unable to set session timezone", category=UserWarning)
        # Ibis 12 converts some results through pandas with an option pandas 3 deprecates.
        warnings.filterwarnings("ignore", message="The 'future.infer_string' option is deprecated")
        # Ibis 12 lists DuckDB tables with a method DuckDB 1.5 deprecates.
        warnings.filterwarnings("ignore", message=r"fetch_arrow_table\(\) is deprecated")
        # ... and streams DuckDB results with another.
        warnings.filterwarnings("ignore", message=r"fetch_record_batch\(\) is deprecated")
        # pyspark 4.0 warns at each pandas import that it does not yet support pandas 3 ...
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        # ... and, converting Arrow to pandas, passes a keyword that pandas 3 deprecates.
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
        # ... and leaves the socket it read the batches from for the collector to close.
        warnings.filterwarnings("ignore", message="unclosed <socket.socket", category=ResourceWarning)
        yield
