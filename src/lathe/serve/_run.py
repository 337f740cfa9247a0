"""``serve``: load a model, follow the registry, and run the app on uvicorn."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from lathe import _display
from lathe.errors import InvalidParameterError
from lathe.log import TABLE, Log
from lathe.serve._app import create_app
from lathe.serve._guard import MAX_BODY
from lathe.serve._model import followed
from lathe.serve._schema import MAX_ROWS


def serve(
    model: str | Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    api_key: str | None = None,
    registry: str | Path | None = None,
    store: str | Path | None = None,
    poll: float = 2.0,
    max_rows: int = MAX_ROWS,
    max_body: int = MAX_BODY,
    log: str | None = None,
    log_table: str = TABLE,
) -> None:
    """Serve ``model`` (a bundle folder, NAME or NAME:N; see ``lathe.registry.open_model``) until stopped.

    For a NAME, the registry is polled every ``poll`` seconds and a new production version is
    swapped in without dropping a request. One uvicorn worker: on two cores a second worker
    process made every request slower, not faster (DESIGN.md).

    ``log``: a prediction log (``duckdb:///FILE`` or ``postgresql://...``; see ``lathe.log``)
    that every row scored is appended to, in its table ``log_table``, off the request path.
    """
    if max_rows < 1 or max_body < 1 or poll <= 0:
        raise InvalidParameterError("--max-rows, the body limit and --poll must be positive")
    destination = Log(log, log_table) if log is not None else None
    holder = followed(model, registry, store, poll, destination)
    try:
        app = create_app(holder, api_key, max_rows, max_body)
        logged = f"; logging to {destination}" if destination is not None else ""
        _display.status(f"serving {holder.current.label} at http://{host}:{port} (API: /docs){logged}")
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        holder.close()
