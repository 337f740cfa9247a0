"""Semantic types: what a column means, from its storage type and its statistics."""

from __future__ import annotations

import re
from enum import StrEnum


class SemanticType(StrEnum):
    """What a column holds, as far as modelling is concerned."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IDENTIFIER = "identifier"
    CONSTANT = "constant"


_ID_NAME = re.compile(r"(^|[_\W])(id|key|uuid|guid)$|^id[_\W]|[a-z]Id$", re.IGNORECASE)
TEXT_MIN_WORDS = 3.0
ID_MIN_ROWS = 20


def infer_semantic_type(name: str, storage: str, present: int, distinct: int, mean_words: float | None) -> SemanticType:
    """Decide a column's semantic type from its storage kind and aggregates.

    ``storage`` is one of number, integer, string, boolean, datetime, other.
    """
    if distinct <= 1:
        return SemanticType.CONSTANT
    if storage == "boolean":
        return SemanticType.BOOLEAN
    if storage == "datetime":
        return SemanticType.DATETIME
    unique = present >= ID_MIN_ROWS and distinct == present
    if storage == "integer" and unique and _ID_NAME.search(name):
        return SemanticType.IDENTIFIER
    if storage in ("number", "integer"):
        return SemanticType.NUMERIC
    if (mean_words or 0.0) >= TEXT_MIN_WORDS and distinct > present // 2:
        return SemanticType.TEXT
    if present >= ID_MIN_ROWS and distinct >= 0.95 * present:
        return SemanticType.IDENTIFIER
    return SemanticType.CATEGORICAL
