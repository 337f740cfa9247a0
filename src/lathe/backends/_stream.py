"""Reading a table as a stream of fixed-size chunks, in whatever engine holds it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from lathe.backends._quiet import library_noise
from lathe.errors import SourceReadError, first_line


def count_rows(rows: Any) -> int:
    """How many rows the Ibis table ``rows`` holds, counted in its engine."""
    with library_noise():
        return int(rows.count().to_pyarrow().as_py())


def chunks(rows: Any, size: int, where: str) -> Iterator[tuple[int, pa.Table]]:
    """The rows of the Ibis table ``rows`` in order, as (first row number, ``size`` rows), the last smaller.

    The engine's batches are cut and joined so that the chunks line up whatever their sizes:
    chunk k is always rows k * size onwards, which is what lets a chunked run resume. An engine
    that fails part way (a lost connection) raises ``SourceReadError`` naming ``where``.
    """
    held: list[pa.RecordBatch] = []
    count = first = 0
    for batch in _batches(rows, size, where):
        while batch.num_rows:
            taken = min(size - count, batch.num_rows)
            held.append(batch.slice(0, taken))
            batch, count = batch.slice(taken), count + taken
            if count == size:
                yield first, pa.Table.from_batches(held)
                held, count, first = [], 0, first + size
    if count:
        yield first, pa.Table.from_batches(held)


def _batches(rows: Any, size: int, where: str) -> Iterator[pa.RecordBatch]:
    with library_noise():
        reader = iter(rows.to_pyarrow_batches(chunk_size=size))
    while True:
        try:
            with library_noise():
                batch = next(reader, None)
        except Exception as exc:  # every engine raises its own kinds
            raise SourceReadError(f"{where}: reading stopped part way ({first_line(exc)}); run it again") from None
        if batch is None:
            return
        yield batch
