"""The prediction log: every scored row, appended to a DuckDB file or a PostgreSQL table.

``Log(uri, table)`` is the destination; ``Log.writer(bundle, model, version)`` appends a model's
scored rows in batches, off the scoring path; ``read(uri, table)`` gives the log back as an Ibis
table for monitoring. The columns, in order: ``logged_at`` (UTC), ``model``, ``version``,
``model_checksum`` (see ``checksum``), the bundle's id columns, its inputs, ``prediction`` and
``probability_<class>``. Personal data flagged at training is never written raw.
"""

from lathe.log._layout import KEY_VARIABLE, Layout, checksum, personal_columns
from lathe.log._log import TABLE, Log, read
from lathe.log._writer import Writer

__all__ = ["KEY_VARIABLE", "TABLE", "Layout", "Log", "Writer", "checksum", "personal_columns", "read"]
