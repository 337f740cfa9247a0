"""The prediction log as a destination: where rows go, and the log read back for monitoring."""

from __future__ import annotations

import ibis

from lathe import _display
from lathe.backends import LogTable
from lathe.bundle import Bundle
from lathe.log._layout import KEY_VARIABLE, Layout
from lathe.log._writer import BATCH_ROWS, CAPACITY, EVERY, Writer

TABLE = "lathe_predictions"


class Log:
    """A prediction log: the table ``table`` of a DuckDB file (``duckdb:///path/log.duckdb``, or
    a path ending ``.duckdb``) or of a PostgreSQL database (``postgresql://host/db``).

    An unknown kind of URI is refused here; the table is checked (or created) by ``writer``.

    >>> with Log("logs/late.duckdb").writer(bundle, "late", 3) as writer:  # doctest: +SKIP
    ...     writer.append(bundle.predict(frame), frame)
    """

    def __init__(self, uri: str, table: str = TABLE) -> None:
        self.uri, self.table = uri, table
        self._table = LogTable(uri, table)

    def __repr__(self) -> str:
        return f"Log({self._table.where})"

    def __str__(self) -> str:
        return self._table.where

    def writer(
        self, bundle: Bundle, model: str, version: int | None, *, batch_rows: int = BATCH_ROWS,
        every: float = EVERY, capacity: int = CAPACITY, wait: bool = False,
    ) -> Writer:  # fmt: skip
        """A writer of ``bundle``'s scored rows, logged as ``model`` (the registered name, or the
        bundle folder's name) version ``version`` (None for a folder).

        The table is created if absent; one holding other columns is refused
        (``SchemaMismatchError``), as is a log that cannot be written, before any row is.
        Rows are written every ``batch_rows`` rows or ``every`` seconds (see ``Writer``).
        """
        layout = Layout.of(bundle, model, version)
        self._table.prepare(layout.columns)
        if layout.left_out:
            reason = (
                f"no {KEY_VARIABLE} is set to hash ids with"
                if any(name.split(" ")[0] in bundle.ids for name in layout.left_out)
                else "personal data"
            )
            _display.status(f"prediction log: not written ({reason}): {', '.join(layout.left_out)}")
        return Writer(self._table, layout, batch_rows=batch_rows, every=every, capacity=capacity, wait=wait)


def read(uri: str, table: str = TABLE) -> ibis.Table:
    """The log at ``uri`` as an Ibis table on its engine, so that aggregates over it run where it
    lives. A DuckDB file is opened read-only."""
    return LogTable(uri, table).read()
