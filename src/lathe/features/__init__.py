"""Features: the fitted, portable plan from raw columns to model inputs."""

from lathe.features._inputs import (
    MISSING_TOKENS,
    InputColumn,
    check_columns,
    coerce_column,
    coerce_frame,
    coerce_rows,
)
from lathe.features._leakage import Leak, find_leaks
from lathe.features._plan import FeaturePlan, encoding_targets, plan_features, usable_inputs
from lathe.features._transforms import (
    CYCLES,
    DateParts,
    Encode,
    Impute,
    OneHot,
    TextStats,
    TextVector,
    Transform,
    terms_of,
    transform_from_dict,
)
from lathe.features._waves import Waves, waves

__all__ = [
    "CYCLES",
    "MISSING_TOKENS",
    "DateParts",
    "Encode",
    "FeaturePlan",
    "Impute",
    "InputColumn",
    "Leak",
    "OneHot",
    "TextStats",
    "TextVector",
    "Transform",
    "Waves",
    "check_columns",
    "coerce_column",
    "coerce_frame",
    "coerce_rows",
    "encoding_targets",
    "find_leaks",
    "plan_features",
    "terms_of",
    "transform_from_dict",
    "usable_inputs",
    "waves",
]
