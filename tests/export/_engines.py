"""A pipeline's predictions as each independent engine computes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lathe.export import _onnx, _pmml, _sql
from lathe.export._pipeline import Pipeline

ENGINES = ["onnxruntime", "JPMML", "duckdb", "sqlite", "postgres", "mysql"]


def engine_predictions(
    engine: str, rows: pd.DataFrame, pipeline: Pipeline, request: pytest.FixtureRequest
) -> np.ndarray:
    """``pipeline``'s prediction of ``rows`` by ``engine`` (one of ``ENGINES``; the servers' URIs
    come from the test's fixtures)."""
    if engine == "onnxruntime":
        scored = _onnx.score(_onnx.build(pipeline), rows, pipeline)
    elif engine == "JPMML":
        scored = _pmml.score(_pmml.build(pipeline), rows, pipeline)
    else:
        uri = {"postgres": "postgres_uri", "mysql": "mariadb_uri"}.get(engine)
        where = request.getfixturevalue(uri) if uri else None
        scored = _sql.score(_sql.build(pipeline, engine), rows, pipeline, engine, where)
    return scored["prediction"].to_numpy(dtype=np.float64)
