"""A table read as a stream of chunks: a database connection lost part way is named, not a traceback."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import ibis
import pyarrow as pa
import pytest

from lathe.backends import chunks, close, open_table
from lathe.errors import SourceReadError

TABLE = "lathe_stream_probe"


@pytest.fixture
def postgres(postgres_uri: str) -> Iterator[str]:
    """PostgreSQL holding a table of 20,000 rows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to set session timezone")
        connection = ibis.connect(postgres_uri)
    connection.create_table(TABLE, pa.table({"n": list(range(20_000))}), overwrite=True)
    yield postgres_uri
    connection.drop_table(TABLE, force=True)
    connection.disconnect()


def test_a_connection_lost_part_way_is_named(postgres: str) -> None:
    where, rows = open_table(postgres, table=TABLE)
    stream = chunks(rows, 1_000, where)
    first, chunk = next(stream)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to set session timezone")
        killer = ibis.connect(postgres)
    # End the server process that streams the rows (its last statement fetched from Ibis's named
    # cursor), as a restart or a network cut would.
    killer.raw_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE '%postgres_cursor%' AND pid <> pg_backend_pid()"
    ).close()
    killer.disconnect()

    with pytest.raises(SourceReadError, match=rf"table {TABLE}\): reading stopped part way \(.*\); run it again"):
        list(stream)
    assert (first, chunk.num_rows) == (0, 1_000)
    close(rows)
