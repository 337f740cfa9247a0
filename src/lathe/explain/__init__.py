"""Explain: every prediction and the model as a whole, in the user's own raw columns."""

from lathe.explain._global import mean_contribution, partial_dependence, permutation_importance
from lathe.explain._local import Explainer, Explanation, effects
from lathe.explain._reasons import DEFAULT_TOP, format_value, reason_codes

__all__ = [
    "DEFAULT_TOP",
    "Explainer",
    "Explanation",
    "effects",
    "format_value",
    "mean_contribution",
    "partial_dependence",
    "permutation_importance",
    "reason_codes",
]
