"""The log's writer: appends queued by the scoring path, written in batches by a thread of its own.

``append`` only puts the rows on a bounded queue; the thread turns them into the log's columns
and writes a batch when it holds ``batch_rows`` rows or its oldest row has waited ``every``
seconds. Each batch is one transaction, so a crash loses at most the rows not yet written.
A batch the log refuses (a server down, a file held) is kept and tried again; ``close`` writes
what is left and says what could not be written.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from lathe import _display
from lathe.backends import LogTable
from lathe.errors import LatheError, SourceAccessError
from lathe.log._layout import Layout, Rows

BATCH_ROWS = 1000
EVERY = 1.0  # seconds the oldest unwritten row waits at most
CAPACITY = 100_000  # rows queued at most; beyond, appends are dropped (serving) or wait (batch)
_STOP = object()


@dataclass
class _Pending:
    """Rows taken from the queue, not yet written: whole frames as Arrow, rows given as dicts kept
    as they came until the batch is written (turned into columns once per batch, not per append)."""

    tables: list[pa.Table] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    scored: list[Any] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)
    rows: int = 0
    since: float = 0.0


class Writer:
    """Appends a model's scored rows to a log, off the caller's thread (see the module).

    ``append`` takes a lock only to count the rows and adds them to a queue; the writer thread is
    woken by a full batch or its clock, not by every append. ``wait``: when ``capacity`` rows are
    already queued, ``append`` waits for room (batch scoring) rather than dropping the rows and
    counting them in ``dropped`` (serving, where a request must not wait for the log).
    """

    def __init__(
        self, table: LogTable, layout: Layout, *, batch_rows: int = BATCH_ROWS, every: float = EVERY,
        capacity: int = CAPACITY, wait: bool = False,
    ) -> None:  # fmt: skip
        self.table, self.layout = table, layout
        self.batch_rows, self.every, self.capacity, self.wait = batch_rows, every, capacity, wait
        self.written = 0
        self.dropped = 0
        self.failure = ""
        self._failing = False  # the last write failed: the next waits ``every``, however full
        self._items: deque[Any] = deque()
        self._room = threading.Condition()
        self._wake = threading.Event()
        self._queued = 0  # rows appended and not yet written
        self._fresh = 0  # rows appended since the writer last took the queue
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lathe-log-writer", daemon=True)
        self._thread.start()

    def append(self, scored: pd.DataFrame | Rows, inputs: pd.DataFrame | Rows) -> None:
        """Queue ``scored`` (the predictions, as ``predict`` or ``predict_rows`` give them) of
        ``inputs`` (the rows scored) to be logged; returns at once."""
        if self._closed:
            raise LatheError("the prediction log's writer is closed; open another with Log.writer")
        n = len(inputs)
        with self._room:
            if self._queued + n > self.capacity and self._over_capacity(n):
                return
            self._queued += n
            self._fresh += n
            self._items.append((datetime.now(UTC).replace(tzinfo=None), scored, inputs, n))
            full = self._fresh >= self.batch_rows
        if full:
            self._wake.set()

    def _over_capacity(self, n: int) -> bool:
        """Over capacity: wait for room (``wait``), or drop the rows; True if they were dropped."""
        if self.wait:
            self._wake.set()
            self._room.wait_for(lambda: self._queued + n <= self.capacity or self._queued == 0)
            return False
        if not self.dropped:
            _display.warning(f"the prediction log falls behind: rows are dropped ({self.table.where})")
        self.dropped += n
        return True

    def flush(self) -> None:
        """Wait until every row appended so far is written (or its write has failed)."""
        done = threading.Event()
        self._items.append(done)
        self._wake.set()
        done.wait()

    def close(self) -> None:
        """Write every row still queued and stop the thread; raises if some could not be written."""
        if self._closed:
            return
        self._closed = True
        self._items.append(_STOP)
        self._wake.set()
        self._thread.join()
        if self.failure:
            raise SourceAccessError(f"{self.table.where}: {self.failure}")
        if self.dropped:
            _display.warning(f"the prediction log dropped {self.dropped:,} rows it could not keep up with")

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        pending = _Pending()
        while True:
            timeout = self.every if not pending.rows else max(0.0, pending.since + self.every - time.monotonic())
            self._wake.wait(timeout)
            self._wake.clear()
            with self._room:
                items = list(self._items)
                self._items.clear()
                self._fresh = 0
            flushes = [item for item in items if isinstance(item, threading.Event)]
            for item in items:
                if isinstance(item, tuple):
                    self._add(pending, item)
            if any(item is _STOP for item in items):
                self._write(pending)
                if pending.rows:
                    self.failure = f"{pending.rows:,} row(s) were not written: {self.failure}"
                for done in flushes:
                    done.set()
                return
            due = pending.rows and time.monotonic() >= pending.since + self.every
            if flushes or due or (pending.rows >= self.batch_rows and not self._failing):
                self._write(pending)
            for done in flushes:
                done.set()

    def _add(self, pending: _Pending, item: tuple[datetime, Any, Any, int]) -> None:
        logged_at, scored, inputs, n = item
        if not pending.rows:
            pending.since = time.monotonic()
        if isinstance(inputs, pd.DataFrame):
            self._columns(pending)  # what came before it, first: the log keeps the order of appends
            self._converted(pending, [item])
        else:
            pending.times += [logged_at] * n
            pending.scored += scored
            pending.inputs += inputs
        pending.rows += n

    def _columns(self, pending: _Pending) -> None:
        """The rows given as dicts, turned into the log's columns in one go (one by one where
        that fails, to keep the rows that can be logged)."""
        if not pending.inputs:
            return
        items = [(pending.times, pending.scored, pending.inputs, len(pending.inputs))]
        if not self._converted(pending, items):
            singles = zip(pending.times, pending.scored, pending.inputs, strict=True)
            self._converted(pending, [(t, [s], [i], 1) for t, s, i in singles])
        pending.times, pending.scored, pending.inputs = [], [], []

    def _converted(self, pending: _Pending, items: list[tuple[Any, Any, Any, int]]) -> bool:
        """Turn each of ``items`` into a table of the log; False where one could not be."""
        whole = True
        for logged_at, scored, inputs, n in items:
            try:
                pending.tables.append(self.layout.to_arrow(logged_at, scored, inputs))
            except (LatheError, ValueError, TypeError) as exc:  # rows the model scored but the log cannot hold
                if len(items) == 1 and n > 1 and not isinstance(inputs, pd.DataFrame):
                    return False  # the caller tries them one by one
                pending.rows -= n
                self._release(n)
                self.failure = f"{n} row(s) could not be logged: {exc}"
                _display.warning(f"prediction log: {self.failure}")
                whole = False
        return whole

    def _write(self, pending: _Pending) -> None:
        self._columns(pending)
        if not pending.rows or not pending.tables:
            return
        batch = pa.concat_tables(pending.tables) if len(pending.tables) > 1 else pending.tables[0]
        try:
            self.table.append(batch)
        except LatheError as exc:
            if self.failure != str(exc):
                _display.warning(f"prediction log: cannot write {pending.rows:,} row(s) now, will retry: {exc}")
            self.failure, self._failing = str(exc), True
            pending.since = time.monotonic()  # try again after ``every``
            return
        self.written += batch.num_rows
        self.failure, self._failing = "", False
        self._release(batch.num_rows)
        pending.tables, pending.rows = [], 0

    def _release(self, n: int) -> None:
        with self._room:
            self._queued -= n
            self._room.notify_all()
