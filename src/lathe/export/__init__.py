"""Exports of a bundle's whole pipeline (inputs, features, model): ONNX, PMML 4.4 and SQL in five
dialects, each checked by an independent engine before it is written; and scoring inside a
database with the SQL export."""

from lathe.backends import BATCH_ROWS
from lathe.export._export import FORMATS, dialect_of, export, onnx_feed, score_in_database
from lathe.export._pipeline import Affine, Pipeline, Tree, Trees, pipeline_of
from lathe.export._sql import DIALECTS

__all__ = [
    "BATCH_ROWS",
    "DIALECTS",
    "FORMATS",
    "Affine",
    "Pipeline",
    "Tree",
    "Trees",
    "dialect_of",
    "export",
    "onnx_feed",
    "pipeline_of",
    "score_in_database",
]
