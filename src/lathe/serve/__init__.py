"""Serving a bundle over REST: ``lathe serve``.

``create_app`` builds the ASGI app (FastAPI behind a small guard: API key, body limit,
Prometheus metrics) for a ``Holder`` of the model served; ``serve`` loads a model, follows the
registry's production version if it names one, and runs the app on uvicorn.

>>> serve("late", port=8080)  # the production version of "late"  # doctest: +SKIP
"""

from __future__ import annotations

from lathe import errors

try:
    import fastapi  # noqa: F401
    import prometheus_client  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError:
    raise errors.MissingDependencyError("lathe serve needs its extra: pip install 'lathe[serve]'") from None

from lathe.serve._app import create_app
from lathe.serve._guard import MAX_BODY
from lathe.serve._model import Holder, served
from lathe.serve._run import serve
from lathe.serve._schema import MAX_ROWS

__all__ = ["MAX_BODY", "MAX_ROWS", "Holder", "create_app", "serve", "served"]
