"""The REST app of a served bundle: predict, explain, model, health, ready, metrics.

No ``from __future__ import annotations`` here: FastAPI reads the handlers' annotations at run
time, and the request body's type is made from the bundle's inputs inside ``create_app``.
"""

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from lathe.errors import LatheError
from lathe.registry import OpenedModel
from lathe.serve._guard import MAX_BODY, Guard
from lathe.serve._metrics import Metrics
from lathe.serve._model import Holder
from lathe.serve._schema import MAX_ROWS, ExplainResponse, PredictResponse, Problem, request_body

INLINE_ROWS = 64  # up to this many rows are scored on the event loop; more in a worker thread
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not UTF-8 text."},
    401: {"model": Problem, "description": "No API key, or a wrong one."},
    413: {"model": Problem, "description": "The body is over the size limit."},
    415: {"model": Problem, "description": "The body is not JSON."},
    422: {"model": Problem, "description": "A field is missing or of the wrong type; `loc` names it."},
}


def create_app(holder: Holder, api_key: str | None = None, max_rows: int = MAX_ROWS, max_body: int = MAX_BODY) -> Guard:
    """The ASGI app serving ``holder``'s model, behind the API key and body limit (see ``Guard``)."""
    first = holder.current
    Body = request_body(first.bundle, "Rows", max_rows)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        del app
        yield
        await run_in_threadpool(holder.close)  # at shutdown, before the process ends: the log's last rows

    app = FastAPI(
        lifespan=lifespan,
        title=f"lathe: {first.bundle.manifest['target']} ({first.bundle.manifest['task']})",
        version=first.bundle.manifest.get("lathe_version", "1"),
        description=f"Predictions of {first.bundle.manifest['target']!r} from one row or up to {max_rows:,}, "
        "and why. Every input column is a required field (null for a missing value).",
    )
    metrics = Metrics(holder)

    @app.post("/predict", response_model=PredictResponse, responses=_PROBLEMS)
    async def predict(body: Body) -> Response:  # type: ignore[valid-type]
        """Predict each row."""
        served, rows = holder.current, body.rows  # type: ignore[attr-defined]
        if len(rows) <= INLINE_ROWS:
            predictions = served.bundle.predict_rows(rows)
        else:
            predictions = await run_in_threadpool(served.bundle.predict_rows, rows)
        holder.logged(served, predictions, rows)
        metrics.rows.inc(len(rows))
        return _json({"model": _ref(served), "predictions": predictions})

    @app.post("/explain", response_model=ExplainResponse, responses=_PROBLEMS)
    async def explain(
        body: Body,  # type: ignore[valid-type]
        top: int = Query(3, ge=1, le=100, description="how many reasons to give per row"),
    ) -> Response:
        """Predict each row, with each input column's contribution and the strongest reasons."""
        served, rows = holder.current, body.rows  # type: ignore[attr-defined]
        explanations = await run_in_threadpool(served.bundle.explain_rows, rows, top)
        holder.logged(served, explanations, rows)
        metrics.rows.inc(len(rows))
        return _json({"model": _ref(served), "explanations": explanations})

    @app.get("/model", responses={401: _PROBLEMS[401]})
    async def model() -> dict[str, Any]:
        """What is served: the registry version or folder, task, inputs, metrics and lineage."""
        return _summary(holder)

    @app.get("/health")
    async def health() -> dict[str, str]:
        """The process answers."""
        return {"status": "alive"}

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        """A model is loaded and scoring (the server listens only once it is)."""
        return {"status": "ready", "model": holder.current.label}

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}, 401: _PROBLEMS[401]})
    async def prometheus() -> Response:
        """Requests, latency, errors, rows scored and the model version, in Prometheus's text format."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    _answer_problems(app)
    return Guard(app, metrics, api_key, max_body)


def _answer_problems(app: FastAPI) -> None:
    """Every refusal as ``{"detail": ...}`` JSON: a lathe error, an unreadable body, a failed validation."""

    @app.exception_handler(LatheError)
    async def refused(request: Any, exc: LatheError) -> Response:
        del request
        return _json({"detail": str(exc)}, status=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Any, exc: StarletteHTTPException) -> Response:
        del request
        detail = "the body is not UTF-8 JSON text" if exc.status_code == 400 else exc.detail
        return _json({"detail": detail}, status=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Any, exc: RequestValidationError) -> Response:
        # What was wrong and where, without echoing the input (which may be NaN, huge or personal).
        del request
        problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return _json({"detail": problems}, status=422)


def _ref(served: OpenedModel) -> dict[str, Any]:
    return {"name": served.name, "version": served.version}


def _json(payload: dict[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(payload, default=_plain, allow_nan=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, headers=headers, media_type="application/json")


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar as plain Python, for JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def _summary(holder: Holder) -> dict[str, Any]:
    served = holder.current
    m = served.bundle.manifest
    return {
        "model": _ref(served), "label": served.label, "manifest_sha256": served.manifest_sha256,
        "follows": holder.follows, "swaps": holder.swaps, "waiting": holder.waiting or None,
        "task": m["task"], "target": m["target"], "classes": m.get("classes") or [],
        "family": m["model"]["family"], "inputs": m.get("inputs", []), "ids": m.get("ids") or [],
        "metrics": m.get("metrics", {}), "created": m.get("created"), "data": m.get("data", {}),
    }  # fmt: skip
